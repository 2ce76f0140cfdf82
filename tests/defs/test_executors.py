"""`BSC_EXECUTOR` alone moves the nightly and backfill jobs between executors; the broker URL
(and its password) never lands in config Dagster stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg
import pytest

from bsc_pipeline.defs.backfill import BACKFILL_JOB
from bsc_pipeline.defs.executors import (
    LakeStepOutputs,
    celery_config,
    executor_name,
    executor_run_config,
)
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.worker import CELERY_QUEUE


@pytest.mark.parametrize(
    ("env", "nightly", "backfill"),
    [
        (None, "multi_or_in_process_executor", "multiprocess"),
        ("in_process", "in_process", "in_process"),
        ("multiprocess", "multiprocess", "multiprocess"),
        ("celery", "celery", "celery"),
        ("Celery", "celery", "celery"),
    ],
)
def test_the_environment_chooses_the_executor_of_both_jobs(
    env: str | None,
    nightly: str,
    backfill: str,
    defs_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if env is None:
        monkeypatch.delenv("BSC_EXECUTOR", raising=False)
    else:
        monkeypatch.setenv("BSC_EXECUTOR", env)
    defs = defs_factory()
    assert defs.resolve_job_def(NIGHTLY_JOB).executor_def.name == nightly
    assert defs.resolve_job_def(BACKFILL_JOB).executor_def.name == backfill
    io_manager = defs.resources.get("io_manager") if defs.resources else None
    assert isinstance(io_manager, LakeStepOutputs) == (backfill == "celery")


def test_an_unknown_executor_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BSC_EXECUTOR", "k8s")
    with pytest.raises(ValueError, match="in_process, multiprocess, celery; got 'k8s'"):
        executor_name()


def test_broker_urls_are_read_from_the_environment_not_copied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BSC_CELERY_BROKER", raising=False)
    monkeypatch.delenv("BSC_CELERY_BACKEND", raising=False)
    defaults = celery_config()
    assert defaults["broker"].startswith("pyamqp://") and defaults["backend"] == "rpc://"
    monkeypatch.setenv("BSC_CELERY_BROKER", "pyamqp://bsc:s3cret@mq.internal:5672/bsc")
    monkeypatch.setenv("BSC_CELERY_BACKEND", "redis://:s3cret@cache.internal:6379/0")
    config = celery_config()
    assert config["broker"] == {"env": "BSC_CELERY_BROKER"}
    assert config["backend"] == {"env": "BSC_CELERY_BACKEND"}
    assert "s3cret" not in repr(config)
    assert config["config_source"]["task_acks_late"] is True


def test_only_the_multiprocess_executor_takes_max_concurrent() -> None:
    preload = {"start_method": {"spawn": {}}}
    assert executor_run_config("multiprocess", 3, preload) == {
        "execution": {"config": {"max_concurrent": 3, "start_method": {"spawn": {}}}}
    }
    assert executor_run_config(None, 2, {})["execution"]["config"]["max_concurrent"] == 2
    assert executor_run_config("celery", 3, preload) == {}
    assert executor_run_config("in_process", 3, preload) == {}


def test_the_worker_listens_on_the_queue_the_executor_sends_to() -> None:
    from dagster_celery.defaults import task_default_queue

    from bsc_pipeline.worker import worker_command

    command = worker_command("w1", 2, "INFO")
    assert task_default_queue == CELERY_QUEUE
    assert command[command.index("--queues") + 1] == CELERY_QUEUE
    assert command[command.index("-A") + 1] == "bsc_pipeline.defs.celery_app"
    assert command[command.index("--concurrency") + 1] == "2"
    assert "w1@%h" in command


def test_celery_runs_hand_step_outputs_over_through_the_lake(tmp_path: Any) -> None:
    @dg.op
    def month() -> dict[str, Any]:
        return {"month": "2025-01", "held": ["gl_lines"], "error": None}

    @dg.op
    def echo(value: dict[str, Any]) -> dict[str, Any]:
        return value

    @dg.job(resource_defs={"io_manager": LakeStepOutputs(lake_dir=str(tmp_path / "lake"))})
    def handover() -> None:
        echo(month())

    result = handover.execute_in_process()
    assert result.output_for_node("echo") == {
        "month": "2025-01",
        "held": ["gl_lines"],
        "error": None,
    }
    written = list((tmp_path / "lake" / "dagster_steps").rglob("*.json"))
    assert len(written) == 2, "one JSON file per step output, under the lake"


def test_a_celery_backfill_takes_lake_and_settings_from_its_run_config(
    tiny_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers may have been started with another BSC_LAKE_DIR: the run says where its lake is."""
    from bsc_pipeline.runner import backfill_run_config

    monkeypatch.setenv("BSC_EXECUTOR", "celery")
    config = backfill_run_config(["2025-01"], tiny_settings, jobs=2)
    assert "execution" not in config
    assert config["resources"]["io_manager"] == {
        "config": {"lake_dir": str(tiny_settings.lake_dir)}
    }
    assert config["resources"]["bsc"]["config"]["lake_dir"] == str(tiny_settings.lake_dir)
    monkeypatch.setenv("BSC_EXECUTOR", "multiprocess")
    config = backfill_run_config(["2025-01"], tiny_settings, jobs=2)
    assert "io_manager" not in config["resources"]
    assert config["execution"]["config"]["max_concurrent"] == 2
