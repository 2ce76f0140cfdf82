"""The Dagster code location: one `Definitions` built from the settings."""

from __future__ import annotations

import dagster as dg
import yaml

from bsc_pipeline.defs.assets import (
    build_scorecard_assets,
    iter_dataset_assets,
    landing_specs,
    publish_pool,
)
from bsc_pipeline.defs.backfill import build_backfill_job
from bsc_pipeline.defs.executors import executor_from_env, executor_name, step_output_resources
from bsc_pipeline.defs.jobs import build_jobs
from bsc_pipeline.defs.partitions import monthly_partitions
from bsc_pipeline.defs.reports import build_report_asset
from bsc_pipeline.defs.resources import BscResource
from bsc_pipeline.defs.sensors import build_landing_sensor, run_failure_to_engineers
from bsc_pipeline.quality.gx_validator import GXValidator
from bsc_pipeline.settings import Settings


def dataset_sources(settings: Settings) -> dict[str, str]:
    """Dataset → source system, in contract order (drives asset groups in the UI)."""
    contracts = yaml.safe_load(settings.contracts_path.read_text(encoding="utf-8"))
    return {name: body["source"] for name, body in contracts["datasets"].items()}


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """Assets, checks, jobs, schedule, sensors and resources for one set of settings."""
    from_environment = settings is None
    settings = settings or Settings.from_env()
    partitions = monthly_partitions(settings)
    datasets = dataset_sources(settings)
    pool = publish_pool(settings.warehouse_url)
    jobs, schedules = build_jobs(partitions, settings, close_day=settings.close_day)
    executor = executor_name()
    return dg.Definitions(
        assets=[
            *landing_specs(datasets),
            *iter_dataset_assets(datasets, partitions),
            *build_scorecard_assets(datasets, partitions, pool),
            build_report_asset(partitions),
        ],
        jobs=[
            *jobs,
            build_backfill_job(executor_def=executor_from_env(dg.multiprocess_executor), pool=pool),
        ],
        schedules=schedules,
        sensors=[build_landing_sensor(datasets, jobs[0]), run_failure_to_engineers],
        resources={
            "bsc": BscResource.from_environment(settings)
            if from_environment
            else BscResource.from_settings(settings),
            "gx": GXValidator(),
            **step_output_resources(executor, str(settings.lake_dir)),
        },
        # BSC_EXECUTOR picks where the steps run; unset keeps Dagster's default.
        executor=executor_from_env(),
    )
