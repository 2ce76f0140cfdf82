"""Jobs and schedules: the nightly month run and the monthly close.

Both schedules start stopped (Dagster's default, kept on purpose): turning automation on is a
deliberate act in the UI or with `dagster schedule start`, see docs/runbook.md.
"""

# No `from __future__ import annotations`: Dagster reads the op's config annotation at runtime.
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.defs.assets import publish_pool
from bsc_pipeline.defs.resources import BscResource
from bsc_pipeline.periods import Month
from bsc_pipeline.settings import Settings

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

NIGHTLY_JOB = "nightly_scorecard"
NIGHTLY_SCHEDULE = "nightly_scorecard_schedule"
CLOSE_JOB = "monthly_close"
CLOSE_SCHEDULE = "monthly_close_schedule"
CLOSE_DAY = 5
"""Day of the month the close schedule closes the previous month (after the nightly run)."""
CLOSE_DELAY_HOURS = 2
"""The close runs this long after the nightly time, so that night's publication is in."""


def nightly_cron(at: str) -> str:
    """Cron for a local `HH:MM`, refusing the 01:00–03:00 window where DST skips or repeats."""
    hour, minute = _local_time(at)
    return f"{minute} {hour} * * *"


def close_cron(at: str, day: int = CLOSE_DAY) -> str:
    """Cron for the close: `day` of each month, `CLOSE_DELAY_HOURS` after the nightly run."""
    if not 1 <= day <= 28:
        raise ValueError(f"the close day must be 1–28 so that every month has it, got {day}")
    hour, minute = _local_time(at)
    hour = (hour + CLOSE_DELAY_HOURS) % 24
    if 1 <= hour < 3:
        hour = 3
    return f"{minute} {hour} {day} * *"


def _local_time(at: str) -> tuple[int, int]:
    hour_text, _, minute_text = at.partition(":")
    try:
        hour, minute = int(hour_text), int(minute_text or 0)
    except ValueError:
        raise ValueError(f"BSC_NIGHTLY_AT must be HH:MM, got {at!r}") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"BSC_NIGHTLY_AT must be HH:MM, got {at!r}")
    if 1 <= hour < 3:
        raise ValueError(
            f"BSC_NIGHTLY_AT={at} falls in 01:00–03:00, when DST changes skip or repeat local "
            "times; choose 03:00 or later"
        )
    return hour, minute


def months_to_run(today: Month, closed: set[str]) -> list[str]:
    """The open month, and the previous one until finance closes it."""
    previous = today.shift(-1)
    return [str(m) for m in (previous, today) if str(m) not in closed]


def warehouse_engine(settings: Settings) -> Engine:
    """An engine on the warehouse, without migrating it (schedules and sensors only read)."""
    from bsc_pipeline.warehouse.engine import make_engine

    return make_engine(settings.warehouse_url)


def closed_months(engine: Engine) -> set[str]:
    """Months finance has closed (none on a warehouse never migrated)."""
    from bsc_pipeline.warehouse.period_close import closed_months as read_closed

    return read_closed(engine)


def published_months(engine: Engine) -> set[str]:
    """Months that have at least one published measure row."""
    if not sa.inspect(engine).has_table("fact_measure_period"):
        return set()
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT DISTINCT as_of_month FROM fact_measure_period"))
        return {str(month) for (month,) in rows}


def held_measures(engine: Engine, month: str) -> list[str]:
    """Measures of the month published as `held` (an input failed its quality gate)."""
    query = sa.text(
        "SELECT DISTINCT measure_id FROM fact_measure_period "
        "WHERE as_of_month = :month AND period_type = 'month' AND data_state = 'held' "
        "ORDER BY measure_id"
    )
    with engine.connect() as connection:
        return [str(m) for (m,) in connection.execute(query, {"month": month})]


class CloseConfig(dg.Config):
    """Which month to close (the schedule passes the month before its tick)."""

    month: str


CLOSE_DESCRIPTION = (
    "Close a published month in the warehouse, refusing one that was never published or "
    "has held measures; closing twice is harmless."
)


def close_month(
    context: dg.OpExecutionContext, config: CloseConfig, bsc: BscResource
) -> dg.Output[str]:
    from bsc_pipeline.warehouse.period_close import close_period

    month = str(Month.parse(config.month))
    engine = warehouse_engine(bsc.settings())
    try:
        if month in closed_months(engine):
            context.log.info(f"{month} is already closed; nothing to do")
            return dg.Output(month, metadata={"closed": True, "already_closed": True})
        if month not in published_months(engine):
            raise dg.Failure(
                f"{month} was never published, so it cannot be closed; run "
                f"`bsc run --period {month}` (or the nightly job for {month}) first"
            )
        held = held_measures(engine, month)
        if held:
            raise dg.Failure(
                f"{month} has held measures ({', '.join(held)}): a source failed its quality "
                f"gate. Fix the extract, re-run the month, then close it, or close it as it is "
                f"with `bsc period close --period {month}`",
                metadata={"held_measures": dg.MetadataValue.json(held)},
            )
        close_period(engine, month)
    finally:
        engine.dispose()
    context.log.info(f"closed {month}")
    return dg.Output(month, metadata={"closed": True, "already_closed": False})


def build_jobs(
    partitions: dg.PartitionsDefinition, settings: Settings, close_day: int = CLOSE_DAY
) -> "tuple[list[UnresolvedAssetJobDefinition | dg.JobDefinition], list[dg.ScheduleDefinition]]":
    """The nightly asset job (first: the landing sensor's target), the close job, schedules."""
    close_op = dg.op(
        name="close_month", pool=publish_pool(settings.warehouse_url), description=CLOSE_DESCRIPTION
    )(close_month)
    nightly = dg.define_asset_job(
        NIGHTLY_JOB,
        selection=dg.AssetSelection.all(),
        partitions_def=partitions,
        description="Every asset of one month: extract, gate, measure, score, publish, alert.",
    )

    @dg.job(
        name=CLOSE_JOB,
        description="Close last month once it is published with no held measure.",
        tags={"bsc/kind": "close"},
    )
    def monthly_close() -> None:
        close_op()

    @dg.schedule(
        name=NIGHTLY_SCHEDULE,
        job=nightly,
        cron_schedule=nightly_cron(settings.nightly_at),
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Nightly: the open month, and the previous month until it is closed.",
    )
    def nightly_schedule(
        context: dg.ScheduleEvaluationContext, bsc: BscResource
    ) -> Iterator[dg.RunRequest]:
        when = context.scheduled_execution_time
        engine = warehouse_engine(bsc.settings())
        try:
            closed = closed_months(engine)
        finally:
            engine.dispose()
        for month in months_to_run(Month(when.year, when.month), closed):
            yield dg.RunRequest(
                run_key=f"{month}@{when:%Y-%m-%d}",
                partition_key=month,
                tags={"bsc/trigger": "nightly"},
            )

    @dg.schedule(
        name=CLOSE_SCHEDULE,
        job=monthly_close,
        cron_schedule=close_cron(settings.nightly_at, close_day),
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"Day {close_day} of each month: close the previous month if it is published with "
            "no held measure (otherwise the run fails and the engineers are told)."
        ),
    )
    def close_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return close_request(context.scheduled_execution_time)

    return [nightly, monthly_close], [nightly_schedule, close_schedule]


def close_request(when: datetime) -> dg.RunRequest:
    """The close run for the month before `when`; its run key makes one close per month."""
    month = str(Month(when.year, when.month).shift(-1))
    return dg.RunRequest(
        run_key=f"close-{month}",
        run_config={"ops": {"close_month": {"config": {"month": month}}}},
        tags={"bsc/trigger": "close", "bsc/month": month},
    )
