"""Dagster code location: `dagster dev -f definitions.py` (or `make ui`)."""

from bsc_pipeline.defs import build_definitions

defs = build_definitions()
