"""Two publishers of one month never interleave: the Dagster pool and the warehouse lock.

The warehouse test: two real processes publish the same month of the tiny company through
`Pipeline.publish`; the first holds its transaction open just before COMMIT until the second
has asked for the publish lock (on PostgreSQL: until the server shows it waiting). The second
must wait (SQLite's write lock, PostgreSQL's per-month advisory lock), which the order of the
events they record shows, and then write over a complete first publication.
The Dagster test: while another run holds the `warehouse_publish` slot, a nightly run stages,
measures and scores but does not start publishing until the slot is freed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from bsc_pipeline.defs.assets import PUBLISH_POOL, publish_pool
from bsc_pipeline.settings import PROJECT_ROOT, Settings

WORKER = Path(__file__).parent / "publish_worker.py"
TINY = PROJECT_ROOT / "tests" / "e2e" / "tiny_company"
MONTH = "2025-01"
HANG_BOUND = 600.0
"""Seconds that only bound a hang: every wait here ends on an event, a busy machine is slow."""

pytestmark = pytest.mark.slow


def _tiny(work: Path, warehouse_url: str) -> Settings:
    return Settings(
        warehouse_url=warehouse_url,
        landing_dir=TINY / "landing",
        lake_dir=work / "lake",
        spec_path=TINY / "spec.yaml",
        contracts_path=PROJECT_ROOT / "sources" / "contracts.yaml",
        sources_config=PROJECT_ROOT / "sources" / "sources.yaml",
        timezone="UTC",
        partitions_start="2024-01",
    )


@pytest.fixture(scope="module")
def scored_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny company's January extracted, gated, measured and scored once for the module."""
    from bsc_pipeline.pipeline import Pipeline

    work = tmp_path_factory.mktemp("scored")
    pipeline = Pipeline(_tiny(work, f"sqlite:///{work / 'unused.db'}"))
    for dataset in pipeline.datasets:
        pipeline.extract(dataset, MONTH)
    for dataset in pipeline.datasets:
        pipeline.stage(dataset, MONTH)
    pipeline.compute_measures(MONTH)
    pipeline.score(MONTH)
    return work / "lake"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """A database created for this test and dropped afterwards."""
    name = f"bsc_ops_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_psycopg(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            sa.make_url(_psycopg(postgres_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _psycopg(url: str) -> str:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _start(
    settings: Settings, run_id: str, release: str, report: Path, log: Path
) -> subprocess.Popen[bytes]:
    payload = json.dumps({k: str(v) for k, v in asdict(settings).items()})
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, str(WORKER), payload, MONTH, run_id, release, str(report)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def _read(report: Path) -> dict[str, float]:
    try:
        return dict(json.loads(report.read_text()))
    except (OSError, ValueError):
        return {}


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _wait_for(report: Path, key: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the publisher reports `key`; fails at once if it exits first, or if it hangs."""
    deadline = time.monotonic() + HANG_BOUND
    while True:
        exited = process.poll() is not None
        seen = _read(report)
        if key in seen:
            return
        if exited:
            pytest.fail(
                f"publisher exited with {process.returncode} before reporting {key!r} "
                f"(it reported {sorted(seen)}):\n{_tail(log)}"
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"publisher did not report {key!r} within {HANG_BOUND:.0f} s "
                f"(it reported {sorted(seen)}):\n{_tail(log)}"
            )
        time.sleep(0.05)


def _wait_until_waiting_for_the_advisory_lock(url: str) -> None:
    """PostgreSQL shows a session waiting for an advisory lock: the second publisher, queued."""
    from bsc_pipeline.warehouse import make_engine

    query = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    engine = make_engine(url)
    try:
        deadline = time.monotonic() + HANG_BOUND
        while True:
            with engine.connect() as connection:
                if connection.execute(query).scalar():
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"no publisher waited for the advisory lock within {HANG_BOUND:.0f} s")
            time.sleep(0.05)
    finally:
        engine.dispose()


def _finish(process: subprocess.Popen[bytes], name: str, log: Path) -> None:
    try:
        code = process.wait(timeout=HANG_BOUND)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"the {name} publisher hung for {HANG_BOUND:.0f} s:\n{_tail(log)}")
    assert code == 0, f"the {name} publisher exited with {code}:\n{_tail(log)}"


def _double_revenue(lake: Path) -> None:
    """What a corrected extract would do: the second publisher's revenue differs."""
    path = lake / "scorecard" / f"{MONTH}.parquet"
    scored = pd.read_parquet(path)
    scored.loc[scored["measure_id"] == "revenue", "value"] *= 2
    scored.to_parquet(path)


def _concurrent_publishers(scored_lake: Path, work: Path, url: str) -> None:
    from bsc_pipeline.warehouse import make_engine, upgrade_warehouse

    upgrade_warehouse(url)
    first_lake, second_lake = work / "lake_first", work / "lake_second"
    shutil.copytree(scored_lake, first_lake)
    shutil.copytree(scored_lake, second_lake)
    _double_revenue(second_lake)
    first_settings = replace(_tiny(work, url), lake_dir=first_lake)
    second_settings = replace(_tiny(work, url), lake_dir=second_lake)
    first_report, second_report = work / "first.json", work / "second.json"
    first_log, second_log = work / "first.log", work / "second.log"

    release = work / "release"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        first = _start(first_settings, "run-first", str(release), first_report, first_log)
        processes.append(first)
        _wait_for(first_report, "holding", first, first_log)
        second = _start(second_settings, "run-second", "-", second_report, second_log)
        processes.append(second)
        _wait_for(second_report, "locking", second, second_log)
        if sa.make_url(url).get_backend_name() == "postgresql":
            _wait_until_waiting_for_the_advisory_lock(url)
        release.touch()
        _finish(second, "second", second_log)
        _finish(first, "first", first_log)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    done_first, done_second = _read(first_report), _read(second_report)
    # The second asked for the lock while the first held it, and got it only once it committed.
    assert done_second["locking"] < done_first["committing"], "the publishes did not overlap"
    assert done_second["locked"] > done_first["committing"], "the second did not wait"

    engine = make_engine(url)
    with engine.connect() as connection:
        facts = pd.read_sql(
            sa.text("SELECT * FROM fact_measure_period WHERE as_of_month = :m"),
            connection,
            params={"m": MONTH},
        )
        history = pd.read_sql(
            sa.text("SELECT * FROM measure_value_history ORDER BY published_at"), connection
        )
        runs = set(pd.read_sql(sa.text("SELECT run_id FROM pipeline_run"), connection)["run_id"])
    engine.dispose()
    assert runs == {"run-first", "run-second"}
    expected = pd.read_parquet(second_lake / "scorecard" / f"{MONTH}.parquet")
    assert len(facts) == len(expected), "one complete publication, no rows left over or doubled"
    month_revenue = facts[(facts["measure_id"] == "revenue") & (facts["period_type"] == "month")]
    assert month_revenue["value"].tolist() == [2000.0], "the second publication wins whole"
    # The database's own record of the order: the second read the first's committed figures
    # (it restated only revenue), so its transaction ran after the first's.
    first_rows = history[history["run_id"] == "run-first"]
    second_rows = history[history["run_id"] == "run-second"]
    assert set(first_rows["reason"]) == {"first_publication"}
    assert set(first_rows["measure_id"]) == set(expected["measure_id"])
    assert set(second_rows["reason"]) == {"restatement"}
    assert set(second_rows["measure_id"]) == {"revenue"}
    assert first_rows["published_at"].max() < second_rows["published_at"].min()


def test_second_publisher_waits_for_the_first_on_sqlite(
    scored_lake: Path, tmp_path: Path, sqlite_url: str
) -> None:
    _concurrent_publishers(scored_lake, tmp_path, sqlite_url)


@pytest.mark.postgres
def test_second_publisher_waits_for_the_first_on_postgres(
    scored_lake: Path, tmp_path: Path, fresh_postgres_url: str
) -> None:
    _concurrent_publishers(scored_lake, tmp_path, fresh_postgres_url)


def test_a_run_waits_for_the_publish_slot_another_run_holds(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    from bsc_pipeline.defs import build_definitions
    from bsc_pipeline.defs.jobs import NIGHTLY_JOB

    job = build_definitions(tiny_settings).resolve_job_def(NIGHTLY_JOB)
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        storage = instance.event_log_storage
        pool = publish_pool(tiny_settings.warehouse_url)
        storage.set_concurrency_slots(pool, 1)
        claim = storage.claim_concurrency_slot(pool, "another-run", "published_scorecard")
        assert claim.is_claimed
        outcome: dict[str, object] = {}

        def run() -> None:
            try:
                outcome["result"] = job.execute_in_process(
                    partition_key=MONTH, instance=instance, raise_on_error=False
                )
            except BaseException as exc:  # reported by the test, not lost in the thread
                outcome["error"] = exc

        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        try:
            run_id = _wait_for_blocked_publish(instance, runner)
            freed_at = time.time()
        finally:
            storage.free_concurrency_slots_for_run("another-run")
            runner.join(timeout=HANG_BOUND)
        if runner.is_alive():
            pytest.fail(f"the run did not finish within {HANG_BOUND:.0f} s of the slot's release")
        if "error" in outcome:
            raise AssertionError("the run raised") from outcome["error"]  # type: ignore[misc]
        result = outcome["result"]
        assert isinstance(result, dg.ExecuteInProcessResult) and result.success
        # Dagster's event log records when each step started: scoring went ahead while the
        # slot was taken, publishing only started once it was free.
        assert _started_at(instance, run_id, "scorecard") < freed_at
        assert _started_at(instance, run_id, "published_scorecard") > freed_at


def _started_at(instance: dg.DagsterInstance, run_id: str, step: str) -> float:
    starts = [
        r.timestamp
        for r in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
        if r.step_key == step
    ]
    assert len(starts) == 1, f"{step} started {len(starts)} times"
    return starts[0]


def _wait_for_blocked_publish(instance: dg.DagsterInstance, runner: threading.Thread) -> str:
    """The run id once its publish step reports it is waiting for the pool."""
    deadline = time.monotonic() + HANG_BOUND
    while True:
        finished = not runner.is_alive()
        for run in instance.get_runs():
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                if record.step_key == "published_scorecard" and PUBLISH_POOL in (
                    record.message or ""
                ):
                    return run.run_id
        if finished:
            pytest.fail("the run ended without its publish step waiting for the pool")
        if time.monotonic() > deadline:
            pytest.fail(f"the publish step did not wait for the pool within {HANG_BOUND:.0f} s")
        time.sleep(0.2)
