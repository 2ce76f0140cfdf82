"""The monthly partitions every asset shares: defined once, imported everywhere."""

from __future__ import annotations

import dagster as dg

from bsc_pipeline.settings import Settings

MONTH_FORMAT = "%Y-%m"


def monthly_partitions(settings: Settings) -> dg.MonthlyPartitionsDefinition:
    """Months from `BSC_PARTITIONS_START` through the current (still open) month."""
    return dg.MonthlyPartitionsDefinition(
        start_date=settings.partitions_start,
        fmt=MONTH_FORMAT,
        timezone=settings.timezone,
        end_offset=1,
    )
