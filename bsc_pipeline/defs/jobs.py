"""Jobs and the nightly schedule."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from bsc_pipeline.defs.resources import BscResource
from bsc_pipeline.periods import Month
from bsc_pipeline.settings import Settings

NIGHTLY_JOB = "nightly_scorecard"
NIGHTLY_SCHEDULE = "nightly_scorecard_schedule"


def nightly_cron(at: str) -> str:
    """Cron for a local `HH:MM`, refusing the 01:00–03:00 window where DST skips or repeats."""
    hour_text, _, minute_text = at.partition(":")
    hour, minute = int(hour_text), int(minute_text or 0)
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"BSC_NIGHTLY_AT must be HH:MM, got {at!r}")
    if 1 <= hour < 3:
        raise ValueError(
            f"BSC_NIGHTLY_AT={at} falls in 01:00–03:00, when DST changes skip or repeat local "
            "times; choose 03:00 or later"
        )
    return f"{minute} {hour} * * *"


def months_to_run(today: Month, closed: set[str]) -> list[str]:
    """The open month, and the previous one until finance closes it."""
    previous = today.shift(-1)
    return [str(m) for m in (previous, today) if str(m) not in closed]


def build_jobs(
    partitions: dg.PartitionsDefinition, settings: Settings
) -> tuple[list[dg.UnresolvedAssetJobDefinition], list[dg.ScheduleDefinition]]:
    nightly = dg.define_asset_job(
        NIGHTLY_JOB,
        selection=dg.AssetSelection.all(),
        partitions_def=partitions,
        description="Every asset of one month: extract, gate, measure, score, publish, alert.",
    )

    @dg.schedule(
        name=NIGHTLY_SCHEDULE,
        job=nightly,
        cron_schedule=nightly_cron(settings.nightly_at),
        execution_timezone=settings.timezone,
        description="Nightly: the open month, and the previous month until it is closed.",
    )
    def nightly_schedule(
        context: dg.ScheduleEvaluationContext, bsc: BscResource
    ) -> Iterator[dg.RunRequest]:
        when = context.scheduled_execution_time
        closed = bsc.pipeline().closed_months()
        for month in months_to_run(Month(when.year, when.month), closed):
            yield dg.RunRequest(run_key=f"{month}@{when:%Y-%m-%d}", partition_key=month)

    return [nightly], [nightly_schedule]
