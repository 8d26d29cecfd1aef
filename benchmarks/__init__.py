"""Benchmark scripts: `python -m benchmarks.NAME` or `python benchmarks/NAME.py` (benchmarks/README.md lists them)."""
