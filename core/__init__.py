"""The bottom layer: Redis, the database pool, metrics, NATS names and publishing.

It imports Django, settings and third-party libraries, never an app, so every app may import it
(import-linter contracts in pyproject.toml, run by ``make lint``).
"""
