"""The backfill on real Celery workers: RabbitMQ on loopback, Dagster instance on PostgreSQL,
the lake on an S3-compatible server (moto), two `bsc worker start` processes.

Each test session gets its own RabbitMQ vhost, so parallel sessions never take each other's
steps. Skipped, with the reason, only when the broker or PostgreSQL is not there; `.ci/run`
starts both.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from rich.console import Console

from bsc_pipeline.defs.backfill import BACKFILL_JOB
from bsc_pipeline.lake import Lake
from bsc_pipeline.runner import RunReport, run_months
from bsc_pipeline.settings import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.postgres]

MONTHS = ["2025-01", "2025-02", "2025-03"]
HELD_MONTH = "2025-02"
BROKER = ("127.0.0.1", 5672)
READY_SECONDS = 180.0
"""Upper bound for a worker to say `ready` or a held step to be claimed (a busy 2-core box)."""
RETRY_SECONDS = 600.0
"""Upper bound for the run to finish once the holding worker is killed; past it the run is
interrupted, so a lost step fails the test instead of hanging it."""


def _broker_answers() -> bool:
    try:
        socket.create_connection(BROKER, timeout=3).close()
    except OSError:
        return False
    return True


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    """A RabbitMQ vhost of this test run: the broker URL of its queues."""
    if not _broker_answers():
        pytest.skip("RabbitMQ is not answering on 127.0.0.1:5672: Celery tests skipped")
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed: no vhost of its own for this test run")
    vhost = f"bsc-test-{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="module")
def dagster_database(postgres_url: str) -> Iterator[str]:
    """A fresh database for Dagster's storage for this module (psycopg2 URL)."""
    name = f"bsc_celery_{uuid.uuid4().hex[:12]}"
    server = sa.make_url(postgres_url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(drivername="postgresql+psycopg2", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Cluster:
    home: Path
    control: Path
    settings: Settings
    workers: dict[str, subprocess.Popen[bytes]]
    logs: dict[str, Path]

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def kill_worker_of(self, pid: int) -> str:
        """SIGKILL the whole worker (main process and pool) whose process group holds `pid`."""
        group = os.getpgid(pid)
        name = next(n for n, p in self.workers.items() if p.pid == group)
        os.killpg(group, signal.SIGKILL)
        self.workers[name].wait(timeout=60)
        return name


def _env(settings: Settings, extra: dict[str, str]) -> dict[str, str]:
    return {
        "BSC_WAREHOUSE_URL": settings.warehouse_url,
        "BSC_LANDING_DIR": str(settings.landing_dir),
        "BSC_LAKE_DIR": str(settings.lake_dir),
        "BSC_SPEC": str(settings.spec_path),
        "BSC_PARTITIONS_START": settings.partitions_start,
        **extra,
    }


def _wait_ready(name: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        if " ready." in text:
            return
        if process.poll() is not None:
            raise AssertionError(f"worker {name} exited ({process.returncode}):\n{text[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"worker {name} not ready after {READY_SECONDS}s:\n{text[-3000:]}")


@pytest.fixture(scope="module")
def cluster(
    broker: str,
    dagster_database: str,
    s3_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
    tiny_settings_at: Any,
) -> Iterator[Cluster]:
    """Two `bsc worker start` processes on the test vhost, the instance on PostgreSQL, the lake
    in a bucket of the moto server; this process has the same environment, as a code location
    would."""
    work = tmp_path_factory.mktemp("celery")
    home, control = work / "dagster_home", work / "control"
    home.mkdir()
    control.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml.postgres", home / "dagster.yaml")
    bucket = f"bsc-celery-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    settings = replace(tiny_settings_at(work), lake_dir=f"s3://{bucket}/lake")
    env = _env(
        settings,
        {
            "BSC_EXECUTOR": "celery",
            "BSC_CELERY_BROKER": broker,
            "BSC_CELERY_INCLUDE": "tests.distributed.hold_publish",
            "BSC_TEST_CONTROL": str(control),
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": dagster_database,
        },
    )
    worker_env = {
        **os.environ,
        **env,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    bsc = Path(sys.executable).parent / "bsc"
    workers: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        # Job pointers in tests/distributed/jobs.py are imported by name here and by the workers.
        patch.syspath_prepend(str(PROJECT_ROOT))
        try:
            for index in (1, 2):
                name = f"w{index}-{bucket[-6:]}"
                logs[name] = work / f"{name}.log"
                with logs[name].open("wb") as log:
                    workers[name] = subprocess.Popen(
                        [str(bsc), "worker", "start", "--name", name],
                        env=worker_env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
            for name, process in workers.items():
                _wait_ready(name, process, logs[name])
            yield Cluster(home, control, settings, workers, logs)
        finally:
            for process in workers.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in workers.values():
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def _views(settings: Settings) -> dict[str, pd.DataFrame]:
    """The reporting views, without the columns that name the run that published them."""
    engine = sa.create_engine(settings.warehouse_url)
    frames = {}
    with engine.connect() as connection:
        for view in ("v_scorecard_monthly", "v_scorecard_period"):
            frame = pd.read_sql(sa.text(f"SELECT * FROM {view}"), connection)
            frame = frame.drop(columns=["run_id", "published_at"], errors="ignore")
            frames[view] = frame.sort_values(list(frame.columns[:8])).reset_index(drop=True)
    engine.dispose()
    return frames


def _assert_same_views(left: Settings, right: Settings) -> None:
    ours, theirs = _views(left), _views(right)
    for view, frame in ours.items():
        assert len(frame) > 0, f"{view} is empty"
        pd.testing.assert_frame_equal(frame, theirs[view], check_dtype=False, obj=view)


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def _step_workers(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step key, Celery worker) for every step execution a worker started, in order."""
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    found = []
    for record in records:
        event = record.dagster_event
        data = event.engine_event_data if event else None
        metadata = data.metadata if data else {}
        if "Celery worker" in metadata:
            found.append((record.step_key or "", str(metadata["Celery worker"].value)))
    return found


@pytest.fixture(scope="module")
def celery_backfill(cluster: Cluster) -> Iterator[tuple[RunReport, dg.DagsterInstance]]:
    """`run_months(MONTHS, jobs=2)` as `bsc backfill` runs it, on the two workers."""
    with cluster.instance() as instance:
        report = run_months(
            MONTHS, console=_quiet(), jobs=2, settings=cluster.settings, instance=instance
        )
        yield report, instance


def test_three_months_on_two_workers_match_the_in_process_run(
    celery_backfill: tuple[RunReport, dg.DagsterInstance],
    cluster: Cluster,
    tiny_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report, instance = celery_backfill
    assert report.ok, [o.error for o in report.outcomes]
    assert [o.month for o in report.outcomes] == MONTHS
    assert [bool(o.held_datasets) for o in report.outcomes] == [False, False, True], "no March"
    run = instance.get_run_by_id(report.outcomes[0].run_id)
    assert run is not None and run.job_name == BACKFILL_JOB
    assert run.status == dg.DagsterRunStatus.SUCCESS
    workers = {worker.split("@")[0] for _, worker in _step_workers(instance, run.run_id)}
    assert workers == set(cluster.workers), "both workers ran steps"

    monkeypatch.delenv("BSC_EXECUTOR")
    local = run_months(MONTHS, console=_quiet(), settings=tiny_settings)
    assert local.ok
    _assert_same_views(cluster.settings, tiny_settings)


def test_the_lake_and_the_step_outputs_are_on_the_object_store(
    celery_backfill: tuple[RunReport, dg.DagsterInstance], cluster: Cluster
) -> None:
    lake = Lake(cluster.settings.lake_dir)
    assert lake.remote
    assert lake.months("staged", "gl_lines") == MONTHS
    assert lake.months("scorecard") == MONTHS
    run_id = celery_backfill[0].outcomes[0].run_id
    assert (lake.step_outputs / run_id).is_dir(), "steps handed results over through the lake"


def test_one_publisher_at_a_time_across_workers(
    celery_backfill: tuple[RunReport, dg.DagsterInstance], cluster: Cluster
) -> None:
    """From the workers' own records of each publishing transaction (lock held → before
    COMMIT) and from the Dagster event log: the publish steps never overlapped."""
    lines = (cluster.control / "publishes.jsonl").read_text(encoding="utf-8").splitlines()
    ours = [p for p in map(json.loads, lines) if p["warehouse"] == cluster.settings.warehouse_url]
    publishes = sorted(ours, key=lambda p: p["locked"])
    assert sorted(p["month"] for p in publishes) == MONTHS
    for before, after in itertools.pairwise(publishes):
        assert before["left"] <= after["locked"], f"{before} overlaps {after}"

    report, instance = celery_backfill
    run_id = report.outcomes[0].run_id
    spans: dict[str, list[float]] = {}
    types = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    for record in instance.all_logs(run_id, of_type=types):
        if (record.step_key or "").startswith("publish["):
            spans.setdefault(record.step_key or "", []).append(record.timestamp)
    assert len(spans) == len(MONTHS)
    ordered = sorted((min(t), max(t)) for t in spans.values())
    for (_, end), (start, _) in itertools.pairwise(ordered):
        assert end <= start, "the warehouse_publish pool admits one publish step at a time"


def test_a_worker_killed_mid_publish_hands_the_step_to_the_other(
    celery_backfill: tuple[RunReport, dg.DagsterInstance],
    cluster: Cluster,
    tmp_path: Path,
) -> None:
    """The first worker to publish HELD_MONTH blocks inside its transaction; the test kills it
    (main process and pool); the broker redelivers the step (acks_late) to the other worker,
    which publishes the month once."""
    # Its own warehouse, and its own lake: the workers' BSC_LAKE_DIR is not this run's lake, so
    # the steps must take the lake (and where they hand results over) from the run's config.
    settings = replace(
        cluster.settings,
        warehouse_url=f"sqlite:///{tmp_path / 'killed.db'}",
        lake_dir=f"{cluster.settings.lake_dir}-killed",
    )
    (cluster.control / f"hold-{HELD_MONTH}").touch()
    claim = cluster.control / f"claimed-{HELD_MONTH}"
    killed: list[str] = []

    def kill_the_holder() -> None:
        deadline = time.monotonic() + READY_SECONDS
        while not claim.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if claim.exists():
            killed.append(cluster.kill_worker_of(int(claim.read_text(encoding="utf-8"))))

        if killed and not finished.wait(RETRY_SECONDS):
            # The step was lost with the worker: interrupt the run rather than hang the suite.
            os.kill(os.getpid(), signal.SIGINT)

    finished = threading.Event()
    killer = threading.Thread(target=kill_the_holder, name="kill-the-holder")
    killer.start()
    try:
        with cluster.instance() as instance:
            report = run_months(
                [HELD_MONTH], console=_quiet(), jobs=1, settings=settings, instance=instance
            )
            step_workers = _step_workers(instance, report.outcomes[0].run_id)
    finally:
        finished.set()
        killer.join()
    assert killed, "a worker claimed the held publish and was killed"
    assert report.ok, [o.error for o in report.outcomes]
    publishers = [w.split("@")[0] for step, w in step_workers if step.startswith("publish")]
    survivor = next(name for name in cluster.workers if name != killed[0])
    assert publishers == [killed[0], survivor], "started on one worker, finished on the other"

    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as connection:
        runs = connection.execute(
            sa.text("SELECT run_id, outcome FROM pipeline_run WHERE month = :m"),
            {"m": HELD_MONTH},
        ).all()
        history = connection.execute(
            sa.text(
                "SELECT reason, COUNT(*), COUNT(DISTINCT run_id) FROM measure_value_history "
                "GROUP BY reason"
            )
        ).all()
        facts = connection.execute(
            sa.text("SELECT COUNT(*) FROM fact_measure_period WHERE as_of_month = :m"),
            {"m": HELD_MONTH},
        ).scalar()
    engine.dispose()
    assert len(runs) == 1 and runs[0][1] == "published"
    lake = Lake(settings.lake_dir)
    assert lake.months("scorecard") == [HELD_MONTH]
    assert (lake.step_outputs / report.outcomes[0].run_id).is_dir()
    assert len(history) == 1 and history[0][0] == "first_publication" and history[0][2] == 1
    assert history[0][1] > 0 and facts is not None and facts > 0


def _cli_backfill(
    settings: Settings, executor: str, home: Path
) -> subprocess.CompletedProcess[str]:
    """`bsc backfill --jobs 2` in a clean process with `BSC_EXECUTOR` set, as operators run it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BSC_", "DAGSTER_"))}
    env = {**clean, **_env(settings, {"BSC_EXECUTOR": executor, "DAGSTER_HOME": str(home)})}
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    command = [str(Path(sys.executable).parent / "bsc"), "backfill", "--jobs", "2"]
    command += ["--start", MONTHS[0], "--end", MONTHS[-1]]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_every_executor_publishes_the_same_values(
    executor: str,
    celery_backfill: tuple[RunReport, dg.DagsterInstance],
    cluster: Cluster,
    tiny_settings: Settings,
    tmp_path: Path,
) -> None:
    """The backfill job on the in-process and multiprocess executors, chosen by `BSC_EXECUTOR`
    alone, publishes what the Celery run published."""
    result = _cli_backfill(tiny_settings, executor, tmp_path / "dagster_home")
    assert result.returncode == 0, result.stdout + result.stderr
    # The tiny company has no March extracts: March publishes with its measures held.
    assert "2 published, 1 published with held measures, 0 failed" in result.stdout
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=BACKFILL_JOB))
        assert len(runs) == 1
        started = instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTED)
    assert bool(started) == (executor == "multiprocess"), "steps ran where BSC_EXECUTOR said"
    _assert_same_views(cluster.settings, tiny_settings)


def test_the_nightly_asset_job_runs_on_the_workers_too(
    cluster: Cluster, tmp_path: Path, celery_backfill: tuple[RunReport, dg.DagsterInstance]
) -> None:
    """The job the schedule and the landing sensor launch: `BSC_EXECUTOR=celery` in the code
    location's environment sends its asset steps to the workers."""
    from bsc_pipeline.defs.resources import BscResource
    from tests.distributed.jobs import nightly_job_from_env

    settings = replace(
        cluster.settings,
        warehouse_url=f"sqlite:///{tmp_path / 'nightly.db'}",
        lake_dir=f"{cluster.settings.lake_dir}-nightly",
    )
    bsc = BscResource.from_settings(settings).model_dump(exclude_unset=False)
    with (
        cluster.instance() as instance,
        dg.execute_job(
            dg.reconstructable(nightly_job_from_env),
            instance=instance,
            tags={"dagster/partition": "2025-01"},
            run_config={"resources": {"bsc": {"config": bsc}}},
        ) as result,
    ):
        failures = [
            f"{r.step_key}: {r.dagster_event.event_specific_data}"
            for r in instance.all_logs(result.run_id)
            if r.dagster_event and r.dagster_event.is_failure
        ]
        assert result.success, failures
        assert result.dagster_run.tags.get("dagster/partition") == "2025-01"
        ran = {step.split("[")[0] for step, _ in _step_workers(instance, result.run_id)}
    assert {"raw_gl_lines", "staged_gl_lines", "published_scorecard"} <= ran
    assert Lake(settings.lake_dir).months("scorecard") == ["2025-01"]
    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as connection:
        revenue = connection.execute(
            sa.text(
                "SELECT value FROM fact_measure_period WHERE measure_id = 'revenue' "
                "AND period = '2025-01' AND as_of_month = '2025-01'"
            )
        ).scalar()
    engine.dispose()
    assert revenue == pytest.approx(1000.0), "the tiny company's January revenue"
