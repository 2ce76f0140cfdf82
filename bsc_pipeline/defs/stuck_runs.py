"""Runs that died holding the publish slot, and runs that wait for it.

A run killed while publishing (SIGKILL, OOM, a closed laptop) stays STARTED in the Dagster
instance and keeps its `warehouse_publish_*` slot, so every later run would wait for it forever.
Runs started by `bsc` carry their host and process id and a heartbeat in their tags; before a
run starts, a holder whose process is gone (same host) or whose heartbeat is stale (any host) is
marked failed and its slots freed through Dagster's own APIs. Runs launched by the daemon are
watched by Dagster's run monitoring (`run_monitoring` in deploy/dagster.yaml).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from bsc_pipeline.liveness import pid_running

HOST_TAG = "bsc/host"
PID_TAG = "bsc/pid"
HEARTBEAT_TAG = "bsc/heartbeat"
HEARTBEAT_EVERY = timedelta(seconds=30)
STALE_AFTER = timedelta(minutes=5)
"""A heartbeat older than this means the run's process is gone (ten missed beats)."""
WAIT_NOTICE_AFTER = timedelta(seconds=10)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadRun:
    """A run found dead while holding (or queueing for) a pool slot."""

    run_id: str
    partition: str | None
    why: str


def holder_tags(heartbeat: bool = True) -> dict[str, str]:
    """Tags that let a later run tell whether this process is still alive; `heartbeat` only for
    a run that `watch_run` keeps beating (a stale beat means dead, on any host)."""
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    if heartbeat:
        tags[HEARTBEAT_TAG] = _stamp(datetime.now(UTC))
    return tags


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def why_dead(tags: dict[str, str], now: datetime) -> str | None:
    """Why a STARTED run with these tags cannot be running any more, or None if it may be."""
    host, pid = tags.get(HOST_TAG), tags.get(PID_TAG, "")
    if host == socket.gethostname() and pid.isdigit() and not pid_running(int(pid)):
        return f"its process {pid} on {host} is gone"
    beat = tags.get(HEARTBEAT_TAG)
    if beat:
        last = datetime.fromisoformat(beat)
        if now - last > STALE_AFTER:
            return f"no heartbeat from {host or 'its host'} since {beat}"
    return None


def free_dead_holders(instance: dg.DagsterInstance, pool: str) -> list[DeadRun]:
    """Mark failed the runs holding or awaiting `pool` that are dead, and free their slots.

    Finished runs that still hold a slot (the daemon frees those only after
    `free_slots_after_run_end_seconds`) are freed too.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    info = storage.get_concurrency_info(pool)
    run_ids = {slot.run_id for slot in info.claimed_slots}
    run_ids |= {step.run_id for step in info.pending_steps}
    now = datetime.now(UTC)
    dead = []
    for run_id in sorted(run_ids):
        record = instance.get_run_record_by_id(run_id)
        if record is None:
            storage.free_concurrency_slots_for_run(run_id)
            continue
        run = record.dagster_run
        if run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            continue
        why = why_dead(dict(run.tags), now) if run.status == dg.DagsterRunStatus.STARTED else None
        if why is None:
            continue
        instance.report_run_failed(run, message=f"Marked failed by bsc: {why}.")
        storage.free_concurrency_slots_for_run(run_id)
        dead.append(DeadRun(run_id, run.tags.get("dagster/partition"), why))
    return dead


def slot_holders(instance: dg.DagsterInstance, pool: str, run_id: str) -> list[str] | None:
    """When `run_id` waits for a slot of `pool`: the runs holding it, described; else None."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return None
    info = storage.get_concurrency_info(pool)
    waiting = any(
        step.run_id == run_id and step.assigned_timestamp is None for step in info.pending_steps
    )
    if not waiting:
        return None
    holders = []
    for other in sorted({slot.run_id for slot in info.claimed_slots} - {run_id}):
        run = instance.get_run_by_id(other)
        tags = dict(run.tags) if run is not None else {}
        where = f"pid {tags[PID_TAG]} on {tags[HOST_TAG]}" if PID_TAG in tags else "daemon"
        holders.append(f"{other[:8]} ({where})")
    return holders


@contextmanager
def watch_run(
    instance: dg.DagsterInstance,
    run_id: str,
    pool: str,
    say: Callable[[str], None],
    poll_seconds: float = 1.0,
) -> Iterator[None]:
    """While the run executes: beat its heartbeat tag, and once it has waited 10 s for the
    publish slot, say which run holds it (then again each minute it still waits)."""
    stop = threading.Event()

    state: dict[str, datetime | None] = {"waiting_since": None, "told_at": None}
    last_beat = [datetime.now(UTC)]

    def tick() -> None:
        now = datetime.now(UTC)
        if now - last_beat[0] >= HEARTBEAT_EVERY and instance.get_run_by_id(run_id):
            instance.add_run_tags(run_id, {HEARTBEAT_TAG: _stamp(now)})
            last_beat[0] = now
        holders = slot_holders(instance, pool, run_id)
        if holders is None:
            state.update(waiting_since=None, told_at=None)
            return
        for dead in free_dead_holders(instance, pool):
            say(f"run {dead.run_id[:8]} died holding the publish slot ({dead.why}): freed")
        since = state["waiting_since"] = state["waiting_since"] or now
        told = state["told_at"]
        due = told is None or now - told >= timedelta(minutes=1)
        if now - since >= WAIT_NOTICE_AFTER and due:
            state["told_at"] = now
            held = ", ".join(holders) or "another run"
            say(
                f"waiting {int((now - since).total_seconds())} s for the publish slot of this "
                f"warehouse ({pool}), held by {held} which is still running; this month "
                "publishes when it is done"
            )

    def loop() -> None:
        while not stop.wait(poll_seconds):
            try:
                tick()
            except Exception as exc:  # a busy instance database: try again next second
                log.debug("run watch: %s", exc)

    thread = threading.Thread(target=loop, name="bsc-run-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
