"""Which Dagster executor runs the steps, chosen by configuration alone (`BSC_EXECUTOR`).

The assets and ops do not know where they run. `in_process` runs every step in the run's own
process, `multiprocess` in child processes of it (the backfill's default), `celery` on Celery
workers started with `bsc worker start` on any machine that reaches the broker, the Dagster
instance's database (`deploy/dagster.yaml.postgres`) and the lake. Broker and result-backend URLs
are read from the environment where the executor starts, so their passwords are never stored in
a run's config. With Celery, steps hand their small results to each other through the lake
(`<lake>/dagster_steps/`), which every worker sees.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

EXECUTORS = ("in_process", "multiprocess", "celery")
DEFAULT_BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
DEFAULT_BACKEND = "rpc://"

CELERY_SETTINGS: dict[str, Any] = {
    # A step's message is acknowledged only when the step has finished, so when a worker dies
    # mid-step the broker hands it to another worker (the step re-runs; publishing is a single
    # warehouse transaction, so a re-run publishes the month once).
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    # One step at a time per worker process: a long month does not hold short ones hostage.
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
}
"""Celery settings shared by the executor and the workers (`bsc worker start`)."""


def executor_name() -> str | None:
    """`BSC_EXECUTOR`, checked; None when unset (each job keeps its own default)."""
    name = os.environ.get("BSC_EXECUTOR", "").strip().lower().replace("-", "_")
    if not name:
        return None
    if name not in EXECUTORS:
        raise ValueError(f"BSC_EXECUTOR must be one of {', '.join(EXECUTORS)}; got {name!r}")
    return name


def _env_or(name: str, default: str) -> Any:
    """An env-sourced config value, so the URL (and its password) stays out of run config."""
    return {"env": name} if os.environ.get(name) else default


def celery_config() -> dict[str, Any]:
    """The `celery_executor` config: broker and backend from `BSC_CELERY_BROKER`/`_BACKEND`."""
    return {
        "broker": _env_or("BSC_CELERY_BROKER", DEFAULT_BROKER),
        "backend": _env_or("BSC_CELERY_BACKEND", DEFAULT_BACKEND),
        "config_source": dict(CELERY_SETTINGS),
    }


def select_executor(
    name: str | None, default: dg.ExecutorDefinition | None = None
) -> dg.ExecutorDefinition | None:
    """The executor called `name`, or `default` when no name is given."""
    if name is None:
        return default
    if name == "in_process":
        return dg.in_process_executor
    if name == "multiprocess":
        return dg.multiprocess_executor
    from dagster_celery import celery_executor

    configured: dg.ExecutorDefinition = celery_executor.configured(celery_config(), name="celery")
    return configured


def executor_from_env(
    default: dg.ExecutorDefinition | None = None,
) -> dg.ExecutorDefinition | None:
    """The executor `BSC_EXECUTOR` names, else `default`."""
    return select_executor(executor_name(), default)


def step_output_resources(name: str | None, lake_dir: str) -> dict[str, Any]:
    """An IO manager on the lake when steps run on other machines; nothing otherwise."""
    if name != "celery":
        return {}
    return {"io_manager": LakeStepOutputs(lake_dir=lake_dir)}


def step_output_run_config(name: str | None, lake_dir: str) -> dict[str, Any]:
    """Run config pointing the step-output IO manager at the run's own lake (the job may have
    been built from another process's environment)."""
    if name != "celery":
        return {}
    return {"io_manager": {"config": {"lake_dir": lake_dir}}}


class _JsonOnLake(dg.UPathIOManager):
    """Step outputs as JSON files under the lake (they are small dicts of plain values)."""

    extension = ".json"

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj, sort_keys=True), encoding="utf-8")

    def load_from_path(self, context: dg.InputContext, path: Any) -> Any:
        return json.loads(path.read_text(encoding="utf-8"))


class LakeStepOutputs(dg.ConfigurableIOManagerFactory):
    """Step outputs under `<lake>/dagster_steps/`, so workers on other machines can read them."""

    lake_dir: str

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.UPathIOManager:
        from bsc_pipeline.lake import Lake

        return _JsonOnLake(base_path=Lake(self.lake_dir).step_outputs)  # type: ignore[arg-type]


def executor_run_config(name: str | None, jobs: int, preload: Mapping[str, Any]) -> dict[str, Any]:
    """The `execution` block of a backfill's run config: parallelism for multiprocess only
    (Celery's parallelism is the number of worker processes; in-process has none)."""
    if name not in (None, "multiprocess"):
        return {}
    return {"execution": {"config": {"max_concurrent": jobs, **preload}}}
