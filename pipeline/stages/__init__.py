"""The stages: async functions over a batch of JetStream messages (pipeline/runner.py runs them)."""
