"""Dagster code location: `dagster dev -f definitions.py` (or `make ui`, `dg dev`)."""

from bsc_pipeline.definitions import defs

__all__ = ["defs"]
