"""Deliver the outbox: one digest per owner and channel, retried with backoff, at least once.

An event counts as delivered on a channel only once a send succeeded and was recorded. A crash
between the two leaves it pending, so the next run sends it again with the same dedup keys:
at most one duplicate, recognisable by the receiver.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bsc_pipeline.alerts import outbox
from bsc_pipeline.alerts.channels import (
    Channel,
    DeliveryError,
    default_channels,
    scrub,
    secret_values,
)
from bsc_pipeline.alerts.messages import HEADLINES, Message, render_digest
from bsc_pipeline.alerts.outbox import DEAD, DELIVERED, StoredEvent
from bsc_pipeline.alerts.transitions import AlertEvent
from bsc_pipeline.spec.models import Owner, Spec

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass
class DeliverySummary:
    """What one delivery run did."""

    digests_sent: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    delivered: int = 0
    dead: int = 0
    dead_letters: int = 0
    still_pending: int = 0
    unconfigured: bool = False


@dataclass(frozen=True)
class Route:
    """One channel to one receiver for an owner's digest."""

    channel: Channel
    target: str
    receiver: Owner

    @property
    def shown(self) -> str:
        return self.channel.redact(self.target)


def deliver_pending(
    engine: Engine,
    spec: Spec,
    *,
    channels: Sequence[Channel] | None = None,
    now: Clock = outbox.utcnow,
    backoff_base: float = 1.0,
    backoff_cap: float = 60.0,
    event_ids: Collection[str] | None = None,
) -> DeliverySummary:
    """Send every pending event (or only `event_ids`), then the dead letters this run created."""
    used = list(default_channels() if channels is None else channels)
    summary = DeliverySummary()
    pending = outbox.list_events(engine, pending_only=True, event_ids=event_ids)
    if pending and not _reaches_anyone(spec, used):
        # Nothing is configured yet (a demo, a new install): keep the events for later
        # rather than dead-lettering every one of them.
        log.info(
            "no alert channel reaches any owner (set BSC_SMTP_HOST or an owner's webhook "
            "variable); %d event(s) stay pending",
            len(pending),
        )
        summary.unconfigured = True
        summary.still_pending = len(pending)
        return summary
    letters = _deliver(engine, spec, pending, used, now, backoff_base, backoff_cap, summary)
    if letters:
        again = outbox.list_events(engine, pending_only=True, event_ids=letters)
        _deliver(engine, spec, again, used, now, backoff_base, backoff_cap, summary)
    summary.still_pending = len(outbox.list_events(engine, pending_only=True, event_ids=event_ids))
    return summary


def _reaches_anyone(spec: Spec, channels: Sequence[Channel]) -> bool:
    return any(channel.target_for(owner) for owner in spec.owners for channel in channels)


def routes_for(spec: Spec, owner_id: str, channels: Sequence[Channel]) -> list[Route]:
    """The owner's own channels; if none reaches them, the fallback receiver's, then engineers'."""
    owners = {owner.id: owner for owner in spec.owners}
    for candidate in (owner_id, spec.alerts.fallback_owner, spec.alerts.engineers):
        receiver = owners.get(candidate) if candidate else None
        if receiver is None:
            continue
        found = []
        for channel in channels:
            target = channel.target_for(receiver)
            if target:
                found.append(Route(channel, target, receiver))
        if found:
            return found
    return []


def _deliver(
    engine: Engine,
    spec: Spec,
    pending: Sequence[StoredEvent],
    channels: Sequence[Channel],
    now: Clock,
    backoff_base: float,
    backoff_cap: float,
    summary: DeliverySummary,
) -> list[str]:
    """Deliver owner by owner; returns the ids of dead letters written on the way."""
    by_owner: dict[str, list[StoredEvent]] = {}
    for stored in pending:
        by_owner.setdefault(stored.event.recipient, []).append(stored)
    letters: list[str] = []
    for owner_id, unordered in by_owner.items():
        events = sorted(unordered, key=_reading_order(spec))
        routes = routes_for(spec, owner_id, channels)
        if not routes:
            letters += _unroutable(engine, spec, owner_id, events, now, summary)
            continue
        owner = next((o for o in spec.owners if o.id == owner_id), None)
        addressee = owner or Owner(id=owner_id, name=owner_id)
        gave_up: set[tuple[str, str]] = set()
        for route in routes:
            letters += _send_route(
                engine,
                spec,
                addressee,
                events,
                route,
                now,
                (backoff_base, backoff_cap),
                summary,
                gave_up,
            )
        _settle(engine, events, routes, gave_up, spec.alerts.max_attempts, summary)
    return letters


def _reading_order(spec: Spec) -> Callable[[StoredEvent], tuple[int, int, str]]:
    """Most urgent kind first, then measures in spec order, so a digest reads like the card."""
    kinds = list(HEADLINES)
    measures = {m.id: i for i, m in enumerate(spec.measures)}

    def key(stored: StoredEvent) -> tuple[int, int, str]:
        event = stored.event
        return (
            kinds.index(event.kind),
            measures.get(event.measure_id or "", -1),
            event.period or "",
        )

    return key


def _send_route(
    engine: Engine,
    spec: Spec,
    owner: Owner,
    events: Sequence[StoredEvent],
    route: Route,
    now: Clock,
    backoff: tuple[float, float],
    summary: DeliverySummary,
    gave_up: set[tuple[str, str]],
) -> list[str]:
    """Send one digest over one route with retries; dead-letter what this route gave up on."""
    records = outbox.channel_records(engine, [s.event_id for s in events])
    name = route.channel.name

    def so_far(stored: StoredEvent) -> outbox.ChannelRecord:
        return records.get((stored.event_id, name), outbox.ChannelRecord())

    limit = spec.alerts.max_attempts
    due = [s for s in events if not so_far(s).delivered and so_far(s).failures < limit]
    if not due:
        return []
    failures = max(so_far(s).failures for s in due)
    message = _digest(spec, owner, route, [s.event for s in due])
    secrets = [route.target, *secret_values(spec)]

    def record(error: DeliveryError | None) -> None:
        nonlocal failures
        detail = None if error is None else scrub(error.detail, secrets)
        _record(engine, due, route, "ok" if error is None else "error", detail, now())
        summary.attempts += 1
        if error is None:
            summary.digests_sent += 1
        else:
            summary.failed_attempts += 1
            failures += 1

    error = _send_with_retries(route, message, limit - failures, backoff, record)
    if error is None:
        return []
    # Out of attempts, or an error that retrying cannot fix.
    gave_up.update((s.event_id, name) for s in due)
    reason = scrub(error.detail, secrets)
    return _give_up(engine, spec, due, route, reason, failures, now(), summary)


def _send_with_retries(
    route: Route,
    message: Message,
    attempts: int,
    backoff: tuple[float, float],
    on_attempt: Callable[[DeliveryError | None], None],
) -> DeliveryError | None:
    """Up to `attempts` sends, waiting between them; None once one succeeded, else the last
    error. `on_attempt` hears every outcome, so each attempt is recorded as it happens."""
    error: DeliveryError | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(_backoff(attempt, error, *backoff))
        try:
            route.channel.send(route.target, message)
        except DeliveryError as exc:
            error = exc
            on_attempt(exc)
            if not exc.retryable:
                return exc
            continue
        on_attempt(None)
        return None
    return error or DeliveryError("no attempt left", retryable=False)


def _digest(spec: Spec, owner: Owner, route: Route, events: Sequence[AlertEvent]) -> Message:
    run_ids = sorted({e.run_id for e in events if e.run_id})
    forwarded = route.receiver.id != owner.id
    message = render_digest(
        owner,
        events,
        scorecard=spec.scorecard.name,
        run_id=", ".join(run_ids) or None,
        forwarded_to=route.receiver if forwarded else None,
    )
    return message


def _backoff(attempt: int, error: DeliveryError | None, base: float, cap: float) -> float:
    """Exponential from `base`; a server's Retry-After is honoured up to `cap`."""
    wait = base * 2 ** (attempt - 1)
    if error is not None and error.retry_after is not None:
        wait = max(wait, error.retry_after)
    return min(wait, cap)


def _record(
    engine: Engine,
    events: Sequence[StoredEvent],
    route: Route,
    outcome: str,
    detail: str | None,
    at: datetime,
) -> None:
    with engine.begin() as connection:
        for stored in events:
            outbox.record_attempt(
                connection,
                event_id=stored.event_id,
                channel=route.channel.name,
                target=route.shown,
                outcome=outcome,
                detail=detail,
                attempted_at=at,
            )


def _give_up(
    engine: Engine,
    spec: Spec,
    events: Sequence[StoredEvent],
    route: Route,
    reason: str,
    failures: int,
    at: datetime,
    summary: DeliverySummary,
) -> list[str]:
    letters = []
    with engine.begin() as connection:
        for stored in events:
            letter = outbox.dead_letter(
                connection,
                spec,
                stored,
                channel=route.channel.name,
                target=route.shown,
                last_error=reason,
                failures=failures,
                now=at,
            )
            if letter is not None:
                letters.append(letter.event_id)
    summary.dead_letters += len(letters)
    return letters


def _settle(
    engine: Engine,
    events: Sequence[StoredEvent],
    routes: Sequence[Route],
    gave_up: set[tuple[str, str]],
    max_attempts: int,
    summary: DeliverySummary,
) -> None:
    """Delivered once every route succeeded; dead once every route either succeeded or gave up
    and none succeeded. An event with a route still worth retrying stays pending."""
    records = outbox.channel_records(engine, [s.event_id for s in events])
    delivered: list[str] = []
    dead: list[str] = []
    for stored in events:
        keys = [(stored.event_id, r.channel.name) for r in routes]
        states = [records.get(key, outbox.ChannelRecord()) for key in keys]
        finished = [
            s.delivered or s.failures >= max_attempts or key in gave_up
            for key, s in zip(keys, states, strict=True)
        ]
        if not all(finished):
            continue
        (delivered if any(s.delivered for s in states) else dead).append(stored.event_id)
    with engine.begin() as connection:
        outbox.set_state(connection, delivered, DELIVERED)
        outbox.set_state(connection, dead, DEAD)
    summary.delivered += len(delivered)
    summary.dead += len(dead)


def _unroutable(
    engine: Engine,
    spec: Spec,
    owner_id: str,
    events: Sequence[StoredEvent],
    now: Clock,
    summary: DeliverySummary,
) -> list[str]:
    """No channel reaches the owner, the fallback or the engineers: record it and give up."""
    detail = f"no channel reaches owner {owner_id!r}, the fallback receiver or the engineers"
    log.error("%s; %d alert(s) cannot be sent", detail, len(events))
    at = now()
    letters = []
    with engine.begin() as connection:
        for stored in events:
            outbox.record_attempt(
                connection,
                event_id=stored.event_id,
                channel="none",
                target="",
                outcome="error",
                detail=detail,
                attempted_at=at,
            )
            letter = outbox.dead_letter(
                connection,
                spec,
                stored,
                channel="none",
                target="",
                last_error=detail,
                failures=1,
                now=at,
            )
            if letter is not None:
                letters.append(letter.event_id)
        outbox.set_state(connection, [s.event_id for s in events], DEAD)
    summary.dead += len(events)
    summary.dead_letters += len(letters)
    return letters


ERROR_TEXT_LIMIT = 2000
"""Longest error text an engineers' message quotes; the full text is in the Dagster run."""


def notify_pipeline_failure(
    engine: Engine,
    spec: Spec,
    *,
    run_id: str,
    job_name: str,
    error: str,
    channels: Sequence[Channel] | None = None,
    now: Clock = outbox.utcnow,
    backoff_base: float = 1.0,
) -> None:
    """Tell the data engineers that a run failed (called by the run-failure sensor).

    One event per run id, so a sensor that fires twice for the same run sends once.
    """
    engineers = spec.alerts.engineers or spec.alerts.fallback_owner
    if engineers is None:
        log.error("pipeline run %s (%s) failed and the spec names no engineers", run_id, job_name)
        return
    used = list(default_channels() if channels is None else channels)
    secrets = [route.target for route in routes_for(spec, engineers, used)]
    text = scrub(error, [*secrets, *secret_values(spec)])
    event = AlertEvent(
        dedup_key=f"pipeline_failure/{run_id}",
        kind="pipeline_failure",
        recipient=engineers,
        run_id=run_id,
        payload={"job_name": job_name, "run_id": run_id, "error": text[:ERROR_TEXT_LIMIT]},
    )
    try:
        with engine.begin() as connection:
            outbox.write_events(connection, [event], now=now())
    except SQLAlchemyError as exc:
        # The warehouse may be what broke the run: tell the engineers anyway, unrecorded.
        log.error("cannot record the failure of run %s in the outbox: %s", run_id, exc)
        _send_unrecorded(spec, event, used, backoff_base)
        return
    deliver_pending(
        engine,
        spec,
        channels=used,
        now=now,
        backoff_base=backoff_base,
        event_ids=[event.event_id],
    )


def _send_unrecorded(
    spec: Spec, event: AlertEvent, channels: Sequence[Channel], backoff_base: float
) -> None:
    """Best effort when the outbox is unreachable: each route tried with backoff, then logged."""
    owner = next((o for o in spec.owners if o.id == event.recipient), None)
    addressee = owner or Owner(id=event.recipient, name=event.recipient)
    for route in routes_for(spec, event.recipient, channels):
        message = _digest(spec, addressee, route, [event])
        error = _send_with_retries(
            route, message, spec.alerts.max_attempts, (backoff_base, 60.0), lambda _: None
        )
        if error is not None:
            log.error("pipeline failure notice not sent on %s: %s", route.shown, error.detail)
