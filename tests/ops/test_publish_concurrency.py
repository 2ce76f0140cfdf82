"""Two publishers of one month never interleave: the Dagster pool and the warehouse lock.

The warehouse test: two real processes publish the same month of the tiny company through
`Pipeline.publish`; the first holds its transaction open just before COMMIT until the second
has started publishing and had time to get through. The second must wait (SQLite's write lock,
PostgreSQL's per-month advisory lock) and then write over a complete first publication.
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
WAIT_SECONDS = 2.0
"""How long the second publisher is given to get past the lock if the lock did not hold it."""

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


def _start(settings: Settings, run_id: str, release: str, report: Path) -> subprocess.Popen[bytes]:
    payload = json.dumps({k: str(v) for k, v in asdict(settings).items()})
    return subprocess.Popen(
        [sys.executable, str(WORKER), payload, MONTH, run_id, release, str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for(path: Path, key: str, process: subprocess.Popen[bytes], timeout: float) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            try:
                report = json.loads(path.read_text())
            except ValueError:
                report = {}
            if key in report:
                return report
        if process.poll() is not None and process.returncode != 0:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"publisher exited with {process.returncode}:\n{output[-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"publisher did not report {key!r} within {timeout} s")


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

    release = work / "release"
    first = _start(first_settings, "run-first", str(release), first_report)
    _wait_for(first_report, "holding", first, timeout=60)
    second = _start(second_settings, "run-second", "-", second_report)
    _wait_for(second_report, "started", second, timeout=60)
    time.sleep(WAIT_SECONDS)
    assert "finished" not in json.loads(second_report.read_text()), "published past the lock"
    release.touch()
    assert second.wait(timeout=90) == 0, second.stdout.read().decode() if second.stdout else ""
    assert first.wait(timeout=90) == 0, first.stdout.read().decode() if first.stdout else ""
    done_first = json.loads(first_report.read_text())
    done_second = json.loads(second_report.read_text())
    assert done_second["started"] < done_first["committing"], "the publishes did not overlap"
    assert done_second["finished"] > done_first["committing"], "the second did not wait"

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
        outcome: dict[str, dg.ExecuteInProcessResult] = {}
        runner = threading.Thread(
            target=lambda: outcome.update(
                result=job.execute_in_process(
                    partition_key=MONTH, instance=instance, raise_on_error=False
                )
            )
        )
        runner.start()
        run_id = _wait_for_blocked_publish(instance, timeout=120)
        time.sleep(1.0)
        assert not _started(instance, run_id, "published_scorecard"), "published without the slot"
        assert _started(instance, run_id, "scorecard")
        storage.free_concurrency_slots_for_run("another-run")
        runner.join(timeout=120)
        assert outcome["result"].success
        assert _started(instance, run_id, "published_scorecard")


def _started(instance: dg.DagsterInstance, run_id: str, step: str) -> bool:
    return any(
        r.step_key == step
        for r in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
    )


def _wait_for_blocked_publish(instance: dg.DagsterInstance, timeout: float) -> str:
    """The run id once its publish step reports it is waiting for the pool."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for run in instance.get_runs():
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                if record.step_key == "published_scorecard" and PUBLISH_POOL in (
                    record.message or ""
                ):
                    return run.run_id
        time.sleep(0.2)
    pytest.fail("the publish step never reported waiting for the warehouse_publish pool")
