"""Commentary is required when red: one reminder when the owner has not commented in time.

A red measure of the newest published month whose owner has added no analysis or
recommendation within `BSC_COMMENTARY_DAYS` days of its publication gets one
`commentary_reminder` alert event. Its dedup key (measure, month) makes planning idempotent, so
it is planned at every publish and delivery and by `bsc updates remind`, and sent once by the
ordinary delivery. "Now" is always passed in, so tests choose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.alerts.outbox import write_events, writing
from bsc_pipeline.alerts.transitions import AlertEvent, EventKind
from bsc_pipeline.spec.models import Spec
from bsc_pipeline.warehouse import schema

KIND: EventKind = "commentary_reminder"


@dataclass(frozen=True)
class MissingCommentary:
    """A red measure of a month without its owner's commentary, and when it is due."""

    measure_id: str
    measure_name: str
    owner: str | None
    period: str
    published_at: datetime
    due_at: datetime
    value: float | None
    target: float | None

    def overdue(self, now: datetime) -> bool:
        return now >= self.due_at


def missing_commentary(
    engine: Engine, spec: Spec, days: int, month: str | None = None
) -> list[MissingCommentary]:
    """Red official month rows of `month` (default the newest published) nobody commented on."""
    facts, updates = schema.fact_measure_period, schema.measure_update
    with engine.connect() as connection:
        if month is None:
            month = connection.execute(sa.select(sa.func.max(facts.c.as_of_month))).scalar()
            if month is None:
                return []
        red = connection.execute(
            sa.select(
                facts.c.measure_id,
                facts.c.period,
                facts.c.value,
                facts.c.target,
                facts.c.published_at,
            ).where(
                facts.c.period_type == "month",
                facts.c.period == month,
                facts.c.as_of_month == month,
                facts.c.status == "red",
                facts.c.is_official.is_(True),
            )
        ).all()
        commented = set(
            connection.execute(
                sa.select(updates.c.measure_id).where(
                    updates.c.period == month,
                    sa.or_(updates.c.analysis.is_not(None), updates.c.recommendation.is_not(None)),
                )
            ).scalars()
        )
    measures = {m.id: m for m in spec.measures}
    order = {m.id: i for i, m in enumerate(spec.measures)}
    missing = [
        MissingCommentary(
            row.measure_id,
            measures[row.measure_id].name,
            measures[row.measure_id].owner,
            row.period,
            row.published_at,
            row.published_at + timedelta(days=days),
            row.value,
            row.target,
        )
        for row in red
        if row.measure_id in measures and row.measure_id not in commented
    ]
    return sorted(missing, key=lambda m: order[m.measure_id])


def plan_reminders(
    engine: Engine, spec: Spec, *, now: datetime, days: int, run_id: str = "reminders"
) -> list[AlertEvent]:
    """The reminders due at `now` (the outbox drops those already queued)."""
    measures = {m.id: m for m in spec.measures}
    events = []
    for item in missing_commentary(engine, spec, days):
        if not item.overdue(now) or item.owner is None:
            continue
        measure = measures[item.measure_id]
        payload: dict[str, Any] = {
            "measure_name": item.measure_name,
            "unit": measure.unit,
            "decimals": measure.decimals,
            "value": item.value,
            "target": item.target,
            "as_of_month": item.period,
            "published_at": item.published_at.isoformat(),
            "commentary_days": days,
            "template_command": (
                f"bsc updates template --period {item.period} --owner {item.owner} "
                f"--out updates_{item.period}_{item.owner}.xlsx"
            ),
        }
        events.append(
            AlertEvent(
                dedup_key=f"{KIND}/{item.measure_id}/{item.period}",
                kind=KIND,
                recipient=item.owner,
                run_id=run_id,
                measure_id=item.measure_id,
                period=item.period,
                status="red",
                payload=payload,
            )
        )
    return events


def queue_reminders(
    engine: Engine, spec: Spec, *, now: datetime, days: int, run_id: str = "reminders"
) -> list[AlertEvent]:
    """Plan and queue the reminders due at `now`; returns the ones newly queued."""
    events = plan_reminders(engine, spec, now=now, days=days, run_id=run_id)
    if not events:
        return []
    with writing(engine) as connection:
        return write_events(connection, events, now=now)
