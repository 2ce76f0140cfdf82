"""Plan a month's alerts against what the warehouse already published.

Call `plan_month` before `publish_month` replaces the month's rows: the published rows are the
"previous" statuses (for a restatement, including the old version of the restated month), and
the newest published month tells a backfill's history from its present.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.alerts.outbox import last_red_alerts
from bsc_pipeline.alerts.recency import Present, is_historical
from bsc_pipeline.alerts.transitions import (
    HISTORY_LENGTH,
    AlertEvent,
    plan_events,
    state_events,
)
from bsc_pipeline.periods import Month
from bsc_pipeline.spec.models import Spec
from bsc_pipeline.warehouse.schema import fact_measure_period

HISTORY_COLUMNS = (
    "measure_id",
    "period_type",
    "period",
    "as_of_month",
    "is_partial",
    "is_official",
    "status",
    "value",
    "target",
    "data_note",
)


def published_history(
    engine: Engine, month: str, *, months: int = HISTORY_LENGTH * 3
) -> pd.DataFrame:
    """Published month and quarter rows of runs up to `month` (included), far enough back for
    a quarter-close comparison and a trend line."""
    last = Month.parse(month)
    first = last.shift(-months)
    table = fact_measure_period
    query = (
        sa.select(*(table.c[name] for name in HISTORY_COLUMNS))
        .where(
            table.c.as_of_month >= str(first),
            table.c.as_of_month <= str(last),
            table.c.period_type.in_(["month", "quarter"]),
        )
        .order_by(table.c.measure_id, table.c.period, table.c.as_of_month)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=list(HISTORY_COLUMNS))


def newest_published_month(engine: Engine) -> str | None:
    """The latest month the warehouse holds a published run of, None when it holds none."""
    query = sa.select(sa.func.max(fact_measure_period.c.as_of_month))
    with engine.connect() as connection:
        newest = connection.execute(query).scalar()
    return None if newest is None else str(newest)


def plan_month(
    engine: Engine,
    spec: Spec,
    scored: pd.DataFrame,
    *,
    month: str,
    run_id: str,
    is_restatement: bool = False,
    data_owner_for: Mapping[str, str] | None = None,
    present: Present | None = None,
) -> list[AlertEvent]:
    """The events publishing `scored` for `month` creates, given the warehouse's history.

    `present` says what "now" is (today's date, the age limit, the backfill this run belongs
    to); when the month is history by its rules (`alerts.recency`) every event is marked
    historical: recorded, never sent. The newest month of a backfill also tells each measure
    owner where all their measures stand (`state` events), the one message a backfill sends.
    Without `present`, today's date and the default age apply.
    """
    present = present or Present()
    previous = published_history(engine, month)
    events = plan_events(
        spec,
        scored,
        previous,
        run_id=run_id,
        is_restatement=is_restatement,
        data_owner_for=data_owner_for,
        last_red_alert=last_red_alerts(engine),
    )
    historical = is_historical(
        month,
        present,
        newest_published=newest_published_month(engine),
        is_restatement=is_restatement,
    )
    if historical:
        return [replace(event, historical=True) for event in events]
    if present.backfill_through is not None and not is_restatement:
        events += state_events(spec, scored, previous, month=month, run_id=run_id)
    return events
