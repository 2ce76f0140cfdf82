"""Benchmarks of a nightly run: per-stage cost against the pyarrow floor and a DuckDB peer.

`python -m benchmarks --help` lists the runs; docs/benchmarks.md explains every figure.
"""
