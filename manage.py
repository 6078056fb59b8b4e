#!/usr/bin/env python
"""Django's command-line utility for Relay (installed, the same is the ``relay`` command)."""

from config.cli import main

if __name__ == "__main__":
    main()
