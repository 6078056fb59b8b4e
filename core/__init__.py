"""The bottom layer: modules that import no Relay app, so every app may use them."""
