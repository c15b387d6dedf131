"""Helpers for the benchmarks (not run by `make bench`, which runs bench/*.py only)."""
