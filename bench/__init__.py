"""Relay's own benchmark: ``make bench`` / ``python -m bench`` (see docs/BENCHMARKS.md).

It runs the real pipeline as separate processes, drives it over HTTP and WebSocket from this
process, measures the raw JetStream ceiling in the same run, and prints a table and one JSON line.
"""
