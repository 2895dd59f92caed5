"""Benchmarks and evaluations, run as scripts (python bench/NAME.py); not part of the service."""
