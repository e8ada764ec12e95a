"""Benchmarks: one script per figure of issue 8 (see bench/README.md)."""
