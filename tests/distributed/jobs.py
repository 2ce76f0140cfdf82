"""Job pointers the Celery tests hand to `dg.execute_job`; workers import this module by name."""

from __future__ import annotations

import dagster as dg


def nightly_job_from_env() -> dg.JobDefinition:
    """The nightly asset job as the code location builds it from `BSC_*`."""
    from bsc_pipeline.defs import build_definitions
    from bsc_pipeline.defs.jobs import NIGHTLY_JOB

    return build_definitions().resolve_job_def(NIGHTLY_JOB)
