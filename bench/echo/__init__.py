"""The benchmarks' echo service: ``handler.py`` (what runs) and ``stack.py`` (its CDK app)."""
