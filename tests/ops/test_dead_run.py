"""A `bsc run` killed while it publishes does not block the next one.

A real `bsc run` process is stopped inside its publish transaction (tests/ops/paused_bsc.py),
holding the warehouse lock and the Dagster publish slot, and killed with SIGKILL. The next
`bsc run` of the same month, on the same Dagster instance (deploy/dagster.yaml), finds the dead
holder, marks it failed, frees its slot and publishes; the dead run is recorded as failed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from bsc_pipeline.defs.assets import publish_pool
from bsc_pipeline.settings import PROJECT_ROOT

PAUSED = Path(__file__).parent / "paused_bsc.py"
TINY = PROJECT_ROOT / "tests" / "e2e" / "tiny_company"
MONTH = "2025-01"
BOUND = 240
"""Generous bound on one `bsc run` of the tiny company (a few seconds on a quiet machine)."""

pytestmark = pytest.mark.slow


def _env(work: Path, warehouse_url: str) -> dict[str, str]:
    home = work / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BSC_", "DAGSTER_"))}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        DAGSTER_HOME=str(home),
        BSC_WAREHOUSE_URL=warehouse_url,
        BSC_LANDING_DIR=str(TINY / "landing"),
        BSC_LAKE_DIR=str(work / "lake"),
        BSC_SPEC=str(TINY / "spec.yaml"),
        BSC_PARTITIONS_START="2024-01",
        BSC_TIMEZONE="UTC",
    )
    return env


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    name = f"bsc_dead_{uuid.uuid4().hex[:12]}"
    server = sa.make_url(postgres_url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _wait_for_marker(marker: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + BOUND
    while not marker.exists():
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the run ended before publishing ({process.returncode}):\n{output}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the run never reached its publish transaction")
        time.sleep(0.1)


def _killed_run_then_next_run(
    work: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(work, warehouse_url)
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    marker = work / "publishing"
    first = subprocess.Popen(
        [sys.executable, str(PAUSED), str(marker), "run", "--period", MONTH],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _wait_for_marker(marker, first)
    pool = publish_pool(warehouse_url)
    home = env["DAGSTER_HOME"]
    with dg.DagsterInstance.from_config(home) as instance:
        (holder,) = instance.event_log_storage.get_concurrency_info(pool).claimed_slots
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)

    second = subprocess.run(
        [sys.executable, "-m", "bsc_pipeline.cli", "run", "--period", MONTH],
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND,
    )

    output = second.stdout + second.stderr
    assert second.returncode == 0, output
    assert f"run {holder.run_id[:8]} ({MONTH}) died without finishing" in output
    assert "its publish slot freed" in output and "1 published" in output
    with dg.DagsterInstance.from_config(home) as instance:
        dead = instance.get_run_by_id(holder.run_id)
        assert dead is not None and dead.status == dg.DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info(pool).claimed_slots == []
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as connection:
        runs = dict(connection.execute(sa.text("SELECT run_id, outcome FROM pipeline_run")).all())
        facts = connection.execute(
            sa.text("SELECT count(*) FROM fact_measure_period WHERE as_of_month = :m"),
            {"m": MONTH},
        ).scalar()
    engine.dispose()
    assert runs.pop(holder.run_id) == "failed", "the dead run is on record"
    assert list(runs.values()) == ["published"]
    assert facts and facts > 0


def test_a_run_killed_while_publishing_does_not_block_the_next_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _killed_run_then_next_run(tmp_path, f"sqlite:///{tmp_path / 'warehouse.db'}", monkeypatch)


@pytest.mark.postgres
def test_a_run_killed_while_publishing_does_not_block_the_next_on_postgres(
    tmp_path: Path, fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _killed_run_then_next_run(tmp_path, fresh_postgres_url, monkeypatch)
