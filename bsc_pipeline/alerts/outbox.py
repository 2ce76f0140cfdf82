"""The alert outbox in the warehouse: events written once per dedup key, attempts recorded.

Publishing writes events in its own transaction (pass its connection to `write_events`), so a
month is never published without its alerts nor alerted without being published. Delivery reads
pending events that are due, records every attempt, and marks an event delivered only after a
successful send; a failed round reschedules it (`next_attempt_at`) rather than giving up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bsc_pipeline.alerts.transitions import HISTORICAL, AlertEvent
from bsc_pipeline.spec.models import Spec
from bsc_pipeline.warehouse.engine import WRITE_OPTION
from bsc_pipeline.warehouse.schema import alert_delivery, alert_event

log = logging.getLogger(__name__)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


@dataclass(frozen=True)
class StoredEvent:
    """An event as the outbox holds it."""

    event: AlertEvent
    state: str
    created_at: datetime
    attempts: int = 0
    """Failed delivery rounds so far."""
    queued_at: datetime | None = None
    """When the event was (re)queued; the give-up time counts from here."""

    @property
    def event_id(self) -> str:
        return self.event.event_id


@dataclass(frozen=True)
class ChannelRecord:
    """What the recorded attempts of one event on one channel add up to."""

    delivered: bool = False
    failures: int = 0
    refused_at: datetime | None = None
    """Last permanent error (HTTP 4xx, SMTP 5xx, bad URL): retrying the channel cannot help,
    until someone fixes it and requeues the event."""


REFUSED = "refused"
"""`alert_delivery.outcome` of an attempt whose error retrying cannot fix."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes SQLite's write lock at BEGIN: a read upgraded to a write later
    fails at once with "database is locked" when another process wrote in between."""
    with (
        engine.connect().execution_options(**{WRITE_OPTION: True}) as connection,
        connection.begin(),
    ):
        yield connection


def write_events(
    connection: Connection, events: Iterable[AlertEvent], *, now: datetime | None = None
) -> list[AlertEvent]:
    """Insert events whose dedup key is new; returns those inserted (the others already exist)."""
    unique = list({event.dedup_key: event for event in events}.values())
    if not unique:
        return []
    existing = set(
        connection.execute(
            sa.select(alert_event.c.dedup_key).where(
                alert_event.c.dedup_key.in_([e.dedup_key for e in unique])
            )
        ).scalars()
    )
    new = [event for event in unique if event.dedup_key not in existing]
    if new:
        created = now or utcnow()
        connection.execute(_insert_ignoring_duplicates(connection), [_row(e, created) for e in new])
    return new


def _insert_ignoring_duplicates(connection: Connection) -> Any:
    """An INSERT that skips a key a concurrent writer inserted between our SELECT and INSERT."""
    name = connection.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(alert_event).on_conflict_do_nothing(index_elements=["dedup_key"])
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(alert_event).on_conflict_do_nothing(index_elements=["dedup_key"])
    return alert_event.insert()


def outbox_rows(events: Iterable[AlertEvent]) -> list[dict[str, Any]]:
    """Events as `alert_event` rows for `warehouse.publish.publish_month(alert_events=...)`,
    which adds `created_at` and `state` inside the publishing transaction."""
    return [event.to_row() for event in events]


def _row(event: AlertEvent, created_at: datetime) -> dict[str, Any]:
    return {**event.to_row(), "created_at": created_at}


def list_events(
    engine: Engine,
    *,
    pending_only: bool = False,
    event_ids: Iterable[str] | None = None,
    historical: bool = True,
    due_at: datetime | None = None,
) -> list[StoredEvent]:
    """Events oldest first, optionally only pending ones, only those due at `due_at` (their
    retry time has come) or only the given ids; `historical` False leaves out the events
    recorded as history, which were never meant to be sent."""
    query = sa.select(alert_event).order_by(alert_event.c.created_at, alert_event.c.dedup_key)
    if pending_only:
        query = query.where(alert_event.c.state == PENDING)
    if not historical:
        query = query.where(alert_event.c.state != HISTORICAL)
    if due_at is not None:
        query = query.where(
            sa.or_(alert_event.c.next_attempt_at.is_(None), alert_event.c.next_attempt_at <= due_at)
        )
    if event_ids is not None:
        query = query.where(alert_event.c.event_id.in_(list(event_ids)))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [_stored(row) for row in rows]


def pending_events(engine: Engine) -> list[StoredEvent]:
    """Events not yet delivered nor given up, oldest first."""
    return list_events(engine, pending_only=True)


def _stored(row: Any) -> StoredEvent:
    event = AlertEvent(
        dedup_key=row["dedup_key"],
        kind=row["kind"],
        recipient=row["recipient_owner_id"],
        run_id=row["run_id"],
        measure_id=row["measure_id"],
        period=row["period"],
        status=row["status"],
        previous_status=row["previous_status"],
        is_restatement=bool(row["is_restatement"]),
        historical=row["state"] == HISTORICAL,
        payload=dict(row["payload"] or {}),
    )
    return StoredEvent(
        event=event,
        state=row["state"],
        created_at=row["created_at"],
        attempts=int(row["attempts"] or 0),
        queued_at=row["queued_at"],
    )


def record_attempt(
    connection: Connection,
    *,
    event_id: str,
    channel: str,
    target: str,
    outcome: str,
    detail: str | None,
    attempted_at: datetime,
) -> int:
    """Append one attempt (target already redacted); returns its number for the event."""
    last = connection.execute(
        sa.select(sa.func.max(alert_delivery.c.attempt)).where(
            alert_delivery.c.event_id == event_id
        )
    ).scalar()
    attempt = (last or 0) + 1
    connection.execute(
        alert_delivery.insert().values(
            event_id=event_id,
            attempt=attempt,
            channel=channel,
            target=target,
            attempted_at=attempted_at,
            outcome=outcome,
            detail=detail,
        )
    )
    return attempt


def channel_records(
    engine: Engine, event_ids: Sequence[str]
) -> dict[tuple[str, str], ChannelRecord]:
    """(event id, channel) → whether it was delivered there and how many attempts failed."""
    query = (
        sa.select(
            alert_delivery.c.event_id,
            alert_delivery.c.channel,
            sa.func.sum(sa.case((alert_delivery.c.outcome == "ok", 1), else_=0)),
            sa.func.sum(sa.case((alert_delivery.c.outcome != "ok", 1), else_=0)),
            sa.func.max(
                sa.case((alert_delivery.c.outcome == REFUSED, alert_delivery.c.attempted_at))
            ),
        )
        .where(alert_delivery.c.event_id.in_(list(event_ids)))
        .group_by(alert_delivery.c.event_id, alert_delivery.c.channel)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return {
        (e, c): ChannelRecord(bool(ok), int(failed), _aware(refused))
        for e, c, ok, failed, refused in rows
    }


def _aware(value: Any) -> datetime | None:
    """An aggregate over a UTC column comes back untyped (SQLite: text, naive)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def attempts(engine: Engine, event_id: str) -> list[dict[str, Any]]:
    """Every recorded attempt of one event, in order."""
    query = (
        sa.select(alert_delivery)
        .where(alert_delivery.c.event_id == event_id)
        .order_by(alert_delivery.c.attempt)
    )
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def set_state(
    connection: Connection, event_ids: Iterable[str], state: str, *, at: datetime | None = None
) -> None:
    ids = list(event_ids)
    if ids:
        values: dict[str, Any] = {"state": state}
        if state == DEAD:
            values["dead_at"] = at or utcnow()
        connection.execute(
            alert_event.update().where(alert_event.c.event_id.in_(ids)).values(values)
        )


def reschedule(
    connection: Connection, stored: StoredEvent, *, next_attempt_at: datetime, error: str
) -> None:
    """One more failed round: the event stays pending until `next_attempt_at`."""
    connection.execute(
        alert_event.update()
        .where(alert_event.c.event_id == stored.event_id)
        .values(
            attempts=stored.attempts + 1, next_attempt_at=next_attempt_at, last_error=error[:2000]
        )
    )


def requeue(
    engine: Engine, *, dead: bool = False, since: datetime | None = None, now: datetime
) -> int:
    """Make pending events due now and, with `dead`, put given-up events back in the queue with
    a fresh give-up time; `since` limits it to events created from then on. Returns the count."""
    states = [PENDING, DEAD] if dead else [PENDING]
    query = alert_event.update().where(alert_event.c.state.in_(states))
    if since is not None:
        query = query.where(alert_event.c.created_at >= since)
    values: dict[str, Any] = {"next_attempt_at": None}
    if dead:
        values.update(
            state=sa.case((alert_event.c.state == DEAD, PENDING), else_=alert_event.c.state),
            attempts=sa.case((alert_event.c.state == DEAD, 0), else_=alert_event.c.attempts),
            queued_at=sa.case((alert_event.c.state == DEAD, now), else_=alert_event.c.queued_at),
            dead_at=None,
        )
    with writing(engine) as connection:
        return int(connection.execute(query.values(values)).rowcount or 0)


def dead_letter(
    connection: Connection,
    spec: Spec,
    stored: StoredEvent,
    *,
    channel: str,
    target: str,
    last_error: str,
    failures: int,
    now: datetime,
) -> AlertEvent | None:
    """Give up on an event over one channel and tell the engineers; returns the engineers' event.

    A dead letter that itself cannot be delivered is only logged: telling the engineers that
    the engineers cannot be told would loop.
    """
    log.error(
        "alert %s to %s given up on %s (%s) after %d failed attempts: %s",
        stored.event.dedup_key,
        stored.event.recipient,
        channel,
        target,
        failures,
        last_error,
    )
    engineers = spec.alerts.engineers or spec.alerts.fallback_owner
    if stored.event.kind == "dead_letter" or engineers is None:
        return None
    letter = AlertEvent(
        dedup_key=f"dead_letter/{stored.event_id}/{channel}",
        kind="dead_letter",
        recipient=engineers,
        run_id=stored.event.run_id,
        measure_id=stored.event.measure_id,
        period=stored.event.period,
        status=stored.event.status,
        payload={
            "original_event_id": stored.event_id,
            "original_dedup_key": stored.event.dedup_key,
            "original_recipient": stored.event.recipient,
            "channel": channel,
            "target": target,
            "attempts": failures,
            "last_error": last_error,
        },
    )
    return letter if write_events(connection, [letter], now=now) else None


def last_red_alerts(engine: Engine) -> dict[str, str]:
    """Measure → period of its latest red or repeat alert, for `plan_events(last_red_alert=)`.

    Events kept as history were never sent, so they do not hold back a repeat: after a backfill
    the owner hears that a measure is still red even when history already had it red.
    """
    query = (
        sa.select(alert_event.c.measure_id, sa.func.max(alert_event.c.period))
        .where(
            alert_event.c.kind.in_(["red", "repeat"]),
            alert_event.c.measure_id.is_not(None),
            alert_event.c.state != HISTORICAL,
        )
        .group_by(alert_event.c.measure_id)
    )
    with engine.connect() as connection:
        return {measure: period for measure, period in connection.execute(query).all()}
