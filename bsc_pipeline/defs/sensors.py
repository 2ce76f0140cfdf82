"""Sensors: complete new landing files start a run; failed runs reach the data engineers."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping

import dagster as dg

from bsc_pipeline.defs.assets import landing_key
from bsc_pipeline.defs.resources import BscResource

LANDING_SENSOR = "landing_zone_sensor"
FAILURE_SENSOR = "run_failure_to_engineers"


def file_key(path: str, sha256: str) -> str:
    return f"{path}@{sha256}"


def build_landing_sensor(
    datasets: Mapping[str, str], job: dg.UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """One run per month that received new complete files; the cursor is the files' identity."""

    @dg.sensor(
        name=LANDING_SENSOR,
        job=job,
        minimum_interval_seconds=60,
        description="Starts the month's run when complete new files land (name + sha256 cursor).",
    )
    def landing_zone_sensor(
        context: dg.SensorEvaluationContext, bsc: BscResource
    ) -> dg.SensorResult:
        settings = bsc.settings()
        from bsc_pipeline.sources import landing_files

        seen: set[str] = set(json.loads(context.cursor)) if context.cursor else set()
        new_by_month: dict[str, list[str]] = defaultdict(list)
        events: list[dg.AssetMaterialization] = []
        for dataset in datasets:
            files = landing_files(settings.landing_dir, dataset, settings.sources_config)
            fresh = [f for f in files if file_key(f.path, f.sha256) not in seen]
            for f in fresh:
                seen.add(file_key(f.path, f.sha256))
                if f.month:
                    new_by_month[f.month].append(file_key(f.path, f.sha256))
            if fresh:
                events.append(
                    dg.AssetMaterialization(
                        landing_key(dataset),
                        metadata={"files": dg.MetadataValue.json([f.path for f in fresh])},
                    )
                )
        requests = [
            dg.RunRequest(
                run_key=f"{month}:{_digest(keys)}",
                partition_key=month,
                tags={"bsc/trigger": "landing", "bsc/files": ",".join(sorted(keys))[:4000]},
            )
            for month, keys in sorted(new_by_month.items())
        ]
        cursor = json.dumps(sorted(seen))
        if not requests and not events:
            return dg.SensorResult(skip_reason="no new complete files", cursor=cursor)
        return dg.SensorResult(run_requests=requests, asset_events=events, cursor=cursor)

    return landing_zone_sensor


def _digest(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


@dg.run_failure_sensor(
    name=FAILURE_SENSOR,
    monitor_all_code_locations=False,
    description="Tells the data engineers (spec alerts.engineers) when a run fails.",
)
def run_failure_to_engineers(context: dg.RunFailureSensorContext, bsc: BscResource) -> None:
    from bsc_pipeline.alerts import notify_pipeline_failure

    pipeline = bsc.pipeline()
    error = context.failure_event.message or "run failed"
    notify_pipeline_failure(
        pipeline.engine,
        pipeline.spec,
        run_id=context.dagster_run.run_id,
        job_name=context.dagster_run.job_name,
        error=error,
    )
