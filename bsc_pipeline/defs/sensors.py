"""Sensors: complete new landing files start a run; failed runs reach the data engineers.

The landing cursor maps each complete file still in the landing zone to its size, mtime and
sha256, so it stays as small as the landing zone, and a file is hashed again only when its size
or mtime changed. A run's `run_key` is built from the files' identities, so even a lost cursor
never starts the same month twice for the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_shared.error import SerializableErrorInfo
from sqlalchemy.engine import Engine

from bsc_pipeline.defs.assets import landing_key
from bsc_pipeline.defs.resources import BscResource
from bsc_pipeline.periods import Month
from bsc_pipeline.settings import Settings

LANDING_SENSOR = "landing_zone_sensor"
FAILURE_SENSOR = "run_failure_to_engineers"
RUN_TAG_FILES_LIMIT = 4000
"""Dagster tag values are bounded; the full list is in the run's metadata, not the tag."""


@dataclass(frozen=True)
class SeenFile:
    """What the cursor keeps for one landing file."""

    size: int
    mtime_ns: int
    sha256: str
    month: str


def file_key(path: str, sha256: str) -> str:
    return f"{path}@{sha256}"


def load_cursor(text: str | None) -> dict[str, SeenFile]:
    """Relative path → identity; an unreadable cursor starts over (run keys still dedupe)."""
    if not text:
        return {}
    try:
        raw = json.loads(text)
        return {path: SeenFile(*entry) for path, entry in raw["files"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def dump_cursor(files: Mapping[str, SeenFile]) -> str:
    return json.dumps(
        {"files": {p: [f.size, f.mtime_ns, f.sha256, f.month] for p, f in sorted(files.items())}},
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class LandingScan:
    """One evaluation's findings: the new cursor, the files to run per month, what was skipped."""

    cursor: dict[str, SeenFile]
    new_by_month: dict[str, list[str]]
    new_by_dataset: dict[str, list[str]]
    duplicates: list[str]
    unsettled: list[str]


def scan_landing_zone(
    settings: Settings,
    datasets: Iterable[str],
    previous: Mapping[str, SeenFile],
    open_month: str,
) -> LandingScan:
    """Compare the landing zone with the cursor; settle once for all datasets, hash only changes.

    A file is new when its path is unknown or its bytes changed. Bytes already seen under another
    name of the same dataset and month are a duplicate delivery: the sources package reads them
    once, so they start no run. Files without a month in their name belong to the open month.
    """
    from bsc_pipeline.sources.landing import scan_landing, sha256_of
    from bsc_pipeline.sources.mappings import load_sources_config

    config = load_sources_config(settings.sources_config)
    datasets = list(datasets)
    first = {d: scan_landing(settings.landing_dir, d, config)[0] for d in datasets}
    if config.settle_seconds > 0 and any(first.values()):
        time.sleep(config.settle_seconds)
    cursor: dict[str, SeenFile] = {}
    new_by_month: dict[str, list[str]] = defaultdict(list)
    new_by_dataset: dict[str, list[str]] = defaultdict(list)
    duplicates: list[str] = []
    unsettled: list[str] = []
    for dataset in datasets:
        before = {f.relative: (f.size, f.mtime_ns) for f in first[dataset]}
        known_bytes = {
            (seen.month, seen.sha256): path
            for path, seen in previous.items()
            if path.startswith(f"{dataset}/") and Path(settings.landing_dir, path).exists()
        }
        for found in scan_landing(settings.landing_dir, dataset, config)[0]:
            if before.get(found.relative) != (found.size, found.mtime_ns):
                unsettled.append(found.relative)
                continue
            old = previous.get(found.relative)
            if old is not None and (old.size, old.mtime_ns) == (found.size, found.mtime_ns):
                cursor[found.relative] = old
                continue
            month = found.month or open_month
            seen = SeenFile(found.size, found.mtime_ns, sha256_of(found.path), month)
            cursor[found.relative] = seen
            if old is not None and old.sha256 == seen.sha256:
                continue
            original = known_bytes.get((month, seen.sha256))
            if original is not None and original != found.relative:
                duplicates.append(f"{found.relative} (same bytes as {original})")
                continue
            known_bytes[(month, seen.sha256)] = found.relative
            new_by_month[month].append(file_key(found.relative, seen.sha256))
            new_by_dataset[dataset].append(found.relative)
    return LandingScan(cursor, dict(new_by_month), dict(new_by_dataset), duplicates, unsettled)


def landing_run_request(month: str, keys: list[str]) -> dg.RunRequest:
    """One run for the month; the run key names exactly these bytes, so they start it only once."""
    return dg.RunRequest(
        run_key=f"{month}:{_digest(keys)}",
        partition_key=month,
        tags={
            "bsc/trigger": "landing",
            "bsc/files": ",".join(sorted(keys))[:RUN_TAG_FILES_LIMIT],
        },
    )


def build_landing_sensor(
    datasets: Mapping[str, str], job: dg.UnresolvedAssetJobDefinition | dg.JobDefinition
) -> dg.SensorDefinition:
    """One run per month that received new complete files; the cursor is the files' identity."""

    @dg.sensor(
        name=LANDING_SENSOR,
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            "Starts the month's run when complete new files land (path + sha256 cursor); "
            "partial names and files still being written wait for the next tick."
        ),
    )
    def landing_zone_sensor(
        context: dg.SensorEvaluationContext, bsc: BscResource
    ) -> dg.SensorResult:
        settings = bsc.settings()
        today = datetime.now(ZoneInfo(settings.timezone))
        open_month = str(Month(today.year, today.month))
        scan = scan_landing_zone(settings, datasets, load_cursor(context.cursor), open_month)
        closed = _closed_months(settings) if scan.new_by_month else set()
        requests = []
        waiting: set[str] = set()
        for month, keys in sorted(scan.new_by_month.items()):
            if month in closed:
                context.log.warning(
                    f"new files for {month}, which is closed: no run started. Reopen it with "
                    f"`bsc period reopen --period {month} --reason ...` to restate it"
                )
            elif month < settings.partitions_start[:7]:
                context.log.warning(
                    f"new files for {month}, before BSC_PARTITIONS_START="
                    f"{settings.partitions_start}: no run started ({', '.join(keys)})"
                )
            elif month > open_month:
                # Not a partition yet: forget the files, so they start the run once it opens.
                waiting |= {key.rsplit("@", 1)[0] for key in keys}
                context.log.info(f"files for {month} wait until that month opens")
            else:
                requests.append(landing_run_request(month, keys))
        for duplicate in scan.duplicates:
            context.log.info(f"duplicate delivery, read once: {duplicate}")
        events = [
            dg.AssetMaterialization(
                landing_key(dataset), metadata={"files": dg.MetadataValue.json(sorted(landed))}
            )
            for dataset, paths in sorted(scan.new_by_dataset.items())
            if (landed := [p for p in paths if p not in waiting])
        ]
        cursor = dump_cursor({p: f for p, f in scan.cursor.items() if p not in waiting})
        if not requests and not events:
            growing = (
                f"; still being written: {', '.join(scan.unsettled)}" if scan.unsettled else ""
            )
            return dg.SensorResult(skip_reason=f"no new complete files{growing}", cursor=cursor)
        return dg.SensorResult(run_requests=requests, asset_events=events, cursor=cursor)

    return landing_zone_sensor


def _closed_months(settings: Settings) -> set[str]:
    from bsc_pipeline.defs.jobs import closed_months, warehouse_engine

    engine = warehouse_engine(settings)
    try:
        return closed_months(engine)
    finally:
        engine.dispose()


def _digest(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


@dg.run_failure_sensor(
    name=FAILURE_SENSOR,
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Tells the data engineers (spec alerts.engineers) when a run fails.",
)
def run_failure_to_engineers(context: dg.RunFailureSensorContext, bsc: BscResource) -> None:
    from bsc_pipeline.alerts.delivery import notify_pipeline_failure
    from bsc_pipeline.spec.loader import load_spec
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse

    settings = bsc.settings()
    engine = make_engine(settings.warehouse_url)
    try:
        upgrade_warehouse(engine)
        _record_failed_month(context, engine, settings.warehouse_url)
        notify_pipeline_failure(
            engine,
            load_spec(settings.spec_path),
            run_id=context.dagster_run.run_id,
            job_name=context.dagster_run.job_name,
            error=failure_text(context),
        )
    finally:
        engine.dispose()


def _record_failed_month(
    context: dg.RunFailureSensorContext, engine: Engine, warehouse_url: str
) -> None:
    """A failed month's run in `pipeline_run` with its one-line cause, so `bsc status` does not
    show the month as published (a `bsc run` records its own; the upsert keeps one row)."""
    from bsc_pipeline.failures import explain_error_info
    from bsc_pipeline.warehouse import record_run

    month = context.dagster_run.tags.get("dagster/partition")
    if not month:
        return
    errors = [
        f"{event.step_key}: {explain_error_info(event.step_failure_data.error, warehouse_url)}"
        for event in context.get_step_failure_events()
        if event.step_failure_data.error is not None
    ]
    error = "; ".join(errors) or (context.failure_event.message or "run failed")
    record_run(engine, context.dagster_run.run_id, month, "failed", error=error)


def failure_text(context: dg.RunFailureSensorContext) -> str:
    """The failed steps and their errors, not only Dagster's generic run-failure message."""
    steps = [
        f"{event.step_key}: {root_cause(event.step_failure_data.error)}"
        for event in context.get_step_failure_events()
        if event.step_failure_data.error is not None
    ]
    message = context.failure_event.message or "run failed"
    return "\n".join([message, *steps]) if steps else message


def root_cause(error: SerializableErrorInfo) -> str:
    """The user's exception inside Dagster's "error occurred while executing op" wrapper."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()
