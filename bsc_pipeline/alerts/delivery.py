"""Deliver the outbox: one digest per owner and channel, retried with backoff, at least once.

A failed round never loses an event: it stays pending with a `next_attempt_at` that backs off
across runs, and turns dead only after the retry policy's time (24 h) or round budget. One
process delivers per warehouse at a time (`alerts.lease`).

An event counts as delivered on a channel only once a send succeeded and was recorded. A crash
between the two leaves it pending, so the next run sends it again with the same dedup keys:
at most one duplicate, recognisable by the receiver.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bsc_pipeline.alerts import lease, outbox
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
    rescheduled: int = 0
    still_pending: int = 0
    unconfigured: bool = False
    busy: str | None = None
    """The holder of the delivery lease when another process was already delivering."""


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed event is tried again, and when delivery gives up on it.

    Within one round a route is retried quickly (`spec.alerts.max_attempts`, for a blip); a round
    that still fails leaves the event pending until `next_attempt_at`, doubling from `base` up to
    `cap`, so an outage of hours costs nothing. It turns dead once `give_up_after` has passed since
    it was queued, or after `max_rounds` failed rounds when that is set.
    """

    give_up_after: timedelta = timedelta(hours=24)
    max_rounds: int | None = None
    base: timedelta = timedelta(seconds=60)
    cap: timedelta = timedelta(hours=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetryPolicy:
        """`BSC_ALERT_GIVE_UP_HOURS` (24), `BSC_ALERT_MAX_ROUNDS` (unset: time only),
        `BSC_ALERT_RETRY_SECONDS` (60, the first wait between rounds)."""
        env = os.environ if env is None else env
        rounds = env.get("BSC_ALERT_MAX_ROUNDS")
        return cls(
            give_up_after=timedelta(hours=float(env.get("BSC_ALERT_GIVE_UP_HOURS", "24"))),
            max_rounds=int(rounds) if rounds else None,
            base=timedelta(seconds=float(env.get("BSC_ALERT_RETRY_SECONDS", "60"))),
        )

    def next_attempt(self, rounds_failed: int, now: datetime) -> datetime:
        return now + min(self.base * 2 ** max(rounds_failed - 1, 0), self.cap)

    def gives_up(self, stored: StoredEvent, now: datetime) -> bool:
        """True once this failed round is the last one allowed."""
        queued = stored.queued_at or stored.created_at
        if now - queued >= self.give_up_after:
            return True
        return self.max_rounds is not None and stored.attempts + 1 >= self.max_rounds


@dataclass(frozen=True)
class Route:
    """One channel to one receiver for an owner's digest."""

    channel: Channel
    target: str
    receiver: Owner

    @property
    def shown(self) -> str:
        return self.channel.redact(self.target)

    @property
    def server(self) -> str:
        """What an outage takes down: the SMTP server for email, the host of a webhook."""
        return self.channel.name if self.channel.name == "email" else self.shown


@dataclass
class _Round:
    """One delivery round: what it sends with, and what it learnt on the way."""

    engine: Engine
    spec: Spec
    channels: Sequence[Channel]
    now: Clock
    backoff: tuple[float, float]
    policy: RetryPolicy
    summary: DeliverySummary
    holder: str
    down: dict[str, str] = field(default_factory=dict)
    """Server → error, once a route to it failed every retry: other owners wait for next round."""


def deliver_pending(
    engine: Engine,
    spec: Spec,
    *,
    channels: Sequence[Channel] | None = None,
    now: Clock = outbox.utcnow,
    backoff_base: float = 1.0,
    backoff_cap: float = 60.0,
    event_ids: Collection[str] | None = None,
    policy: RetryPolicy | None = None,
) -> DeliverySummary:
    """Send every pending event that is due (or only `event_ids`), then the dead letters this run
    created. Only one process delivers per warehouse at a time (the delivery lease); another
    finds it busy and leaves the events to the holder."""
    used = list(default_channels() if channels is None else channels)
    summary = DeliverySummary()
    pending = outbox.list_events(engine, pending_only=True, event_ids=event_ids, due_at=now())
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
    holder = lease.holder_id()
    if pending:
        busy = lease.acquire(engine, holder, now())
        if busy is not None:
            log.warning(
                "another delivery (%s) holds the lease until %s; it sends the pending alerts",
                busy.holder,
                f"{busy.expires_at:%Y-%m-%d %H:%M:%S} UTC",
            )
            summary.busy = busy.holder
            summary.still_pending = len(pending)
            return summary
        # Listed again under the lease: the previous holder may have sent some meanwhile.
        pending = outbox.list_events(engine, pending_only=True, event_ids=event_ids, due_at=now())
    run = _Round(
        engine,
        spec,
        used,
        now,
        (backoff_base, backoff_cap),
        policy or RetryPolicy.from_env(),
        summary,
        holder,
    )
    try:
        letters = _deliver(run, pending)
        if letters:
            _deliver(run, outbox.list_events(engine, pending_only=True, event_ids=letters))
    finally:
        if pending:
            lease.release(engine, holder)
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


def _deliver(run: _Round, pending: Sequence[StoredEvent]) -> list[str]:
    """Deliver owner by owner; returns the ids of dead letters written on the way.

    One owner's failure (a bad URL, a bug) is recorded on their events and never stops the
    others; the lease is renewed after each owner, and a round that lost it stops there.
    """
    by_owner: dict[str, list[StoredEvent]] = {}
    for stored in pending:
        by_owner.setdefault(stored.event.recipient, []).append(stored)
    letters: list[str] = []
    for owner_id, unordered in by_owner.items():
        events = sorted(unordered, key=_reading_order(run.spec))
        try:
            letters += _deliver_owner(run, owner_id, events)
        except Exception as exc:  # recorded, then the next owner goes on
            log.exception("delivering to %s failed", owner_id)
            detail = scrub(f"{type(exc).__name__}: {exc}", secret_values(run.spec))
            letters += _after_round(run, events, [], set(), {e.event_id: detail for e in events})
        if lease.acquire(run.engine, run.holder, run.now()) is not None:
            log.warning("the delivery lease was taken over; the rest waits for its holder")
            break
    return letters


def _deliver_owner(run: _Round, owner_id: str, events: list[StoredEvent]) -> list[str]:
    routes = routes_for(run.spec, owner_id, run.channels)
    if not routes:
        return _unroutable(run, owner_id, events)
    owner = next((o for o in run.spec.owners if o.id == owner_id), None)
    addressee = owner or Owner(id=owner_id, name=owner_id)
    gave_up: set[tuple[str, str]] = set()
    failed: dict[str, str] = {}
    letters: list[str] = []
    for route in routes:
        letters += _send_route(run, addressee, events, route, gave_up, failed)
    return letters + _after_round(run, events, routes, gave_up, failed)


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
    run: _Round,
    owner: Owner,
    events: Sequence[StoredEvent],
    route: Route,
    gave_up: set[tuple[str, str]],
    failed: dict[str, str],
) -> list[str]:
    """Send one digest over one route with quick retries; dead-letter what it refused.

    A route whose server stays unreachable marks the server down for the rest of the round and
    its events in `failed`, to be tried again in a later round.
    """
    records = outbox.channel_records(run.engine, [s.event_id for s in events])
    name = route.channel.name
    due = [s for s in events if not _finished_on(records, s, name)]
    if not due:
        return []
    if route.server in run.down:
        failed.update((s.event_id, run.down[route.server]) for s in due)
        return []
    message = _digest(run.spec, owner, route, [s.event for s in due])
    secrets = [route.target, *secret_values(run.spec)]

    def record(error: DeliveryError | None) -> None:
        detail = None if error is None else scrub(error.detail, secrets)
        outcome = "ok" if error is None else "error" if error.retryable else outbox.REFUSED
        _record(run.engine, due, route, outcome, detail, run.now())
        run.summary.attempts += 1
        if error is None:
            run.summary.digests_sent += 1
        else:
            run.summary.failed_attempts += 1

    limit = run.spec.alerts.max_attempts
    error = _send_with_retries(route, message, limit, run.backoff, record)
    if error is None:
        return []
    reason = scrub(error.detail, secrets)
    if error.retryable:
        run.down[route.server] = reason
        failed.update((s.event_id, f"{name} {route.shown}: {reason}") for s in due)
        return []
    # An error that retrying cannot fix: give up on this route now and tell the engineers.
    gave_up.update((s.event_id, name) for s in due)
    return _give_up(run, due, route, reason, limit)


def _finished_on(
    records: dict[tuple[str, str], outbox.ChannelRecord], stored: StoredEvent, channel: str
) -> bool:
    """Delivered on the channel, or refused by it since the event was last queued."""
    record = records.get((stored.event_id, channel), outbox.ChannelRecord())
    queued = stored.queued_at or stored.created_at
    return record.delivered or (record.refused_at is not None and record.refused_at >= queued)


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
    with outbox.writing(engine) as connection:
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
    run: _Round, events: Sequence[StoredEvent], route: Route, reason: str, failures: int
) -> list[str]:
    letters = []
    with outbox.writing(run.engine) as connection:
        for stored in events:
            letter = outbox.dead_letter(
                connection,
                run.spec,
                stored,
                channel=route.channel.name,
                target=route.shown,
                last_error=reason,
                failures=failures,
                now=run.now(),
            )
            if letter is not None:
                letters.append(letter.event_id)
    run.summary.dead_letters += len(letters)
    return letters


def _after_round(
    run: _Round,
    events: Sequence[StoredEvent],
    routes: Sequence[Route],
    gave_up: set[tuple[str, str]],
    failed: dict[str, str],
) -> list[str]:
    """Settle each event after its round: delivered once every route succeeded or refused and
    one succeeded; dead when all refused, or when a route still failing is past the retry
    policy (then the engineers are told once); otherwise pending until its next attempt."""
    records = outbox.channel_records(run.engine, [s.event_id for s in events])
    shown = {r.channel.name: r.shown for r in routes}
    at = run.now()
    delivered: list[str] = []
    dead: list[str] = []
    letters: list[str] = []
    with outbox.writing(run.engine) as connection:
        for stored in events:
            names = [r.channel.name for r in routes]
            done = [
                _finished_on(records, stored, n) or (stored.event_id, n) in gave_up for n in names
            ]
            sent = any(
                records.get((stored.event_id, n), outbox.ChannelRecord()).delivered for n in names
            )
            if routes and all(done):
                (delivered if sent else dead).append(stored.event_id)
                continue
            error = failed.get(stored.event_id, "not delivered this round")
            if not run.policy.gives_up(stored, at):
                next_at = run.policy.next_attempt(stored.attempts + 1, at)
                outbox.reschedule(connection, stored, next_attempt_at=next_at, error=error)
                run.summary.rescheduled += 1
                continue
            for name, finished in zip(names or ["none"], done or [False], strict=True):
                if finished:
                    continue
                letter = outbox.dead_letter(
                    connection,
                    run.spec,
                    stored,
                    channel=name,
                    target=shown.get(name, ""),
                    last_error=f"still failing after {stored.attempts + 1} round(s): {error}",
                    failures=stored.attempts + 1,
                    now=at,
                )
                if letter is not None:
                    letters.append(letter.event_id)
            (delivered if sent else dead).append(stored.event_id)
        outbox.set_state(connection, delivered, DELIVERED)
        outbox.set_state(connection, dead, DEAD, at=at)
    run.summary.delivered += len(delivered)
    run.summary.dead += len(dead)
    run.summary.dead_letters += len(letters)
    return letters


def _unroutable(run: _Round, owner_id: str, events: Sequence[StoredEvent]) -> list[str]:
    """No channel reaches the owner, the fallback or the engineers: record it and give up."""
    detail = f"no channel reaches owner {owner_id!r}, the fallback receiver or the engineers"
    log.error("%s; %d alert(s) cannot be sent", detail, len(events))
    at = run.now()
    letters = []
    with outbox.writing(run.engine) as connection:
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
                run.spec,
                stored,
                channel="none",
                target="",
                last_error=detail,
                failures=1,
                now=at,
            )
            if letter is not None:
                letters.append(letter.event_id)
        outbox.set_state(connection, [s.event_id for s in events], DEAD, at=at)
    run.summary.dead += len(events)
    run.summary.dead_letters += len(letters)
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
