"""The documented instance configs: deploy/dagster.yaml (SQLite) and its PostgreSQL twin."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from bsc_pipeline.defs.assets import PUBLISH_POOL
from bsc_pipeline.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"


def _instance(home: Path, config: str) -> dg.DagsterInstance:
    home.mkdir(exist_ok=True)
    shutil.copy(DEPLOY / config, home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def _check_concurrency(instance: dg.DagsterInstance) -> None:
    config = instance.get_concurrency_config()
    assert config.pool_config.default_pool_limit == 1, "one publisher at a time"
    limits = config.run_queue_config.tag_concurrency_limits
    assert {"key": "bsc/kind", "value": "backfill", "limit": 1} in limits
    assert instance.event_log_storage.supports_global_concurrency_limits
    assert instance.run_monitoring_enabled, "a dead run is marked failed by the daemon"
    assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 60


def test_sqlite_instance_keeps_everything_under_dagster_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.storage.runs import SqliteRunStorage

    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with _instance(home, "dagster.yaml") as instance:
        assert isinstance(instance.run_storage, SqliteRunStorage)
        _check_concurrency(instance)
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1

        @dg.op
        def hello() -> int:
            return 1

        @dg.job
        def smoke() -> None:
            hello()

        assert smoke.execute_in_process(instance=instance).success
    assert (home / "history" / "runs.db").exists()


@pytest.fixture
def dagster_database(postgres_url: str) -> Iterator[str]:
    """A fresh database for Dagster's storage; psycopg2 URL, as dagster-postgres needs."""
    name = f"bsc_dagster_{uuid.uuid4().hex[:12]}"
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


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_instance_runs_the_nightly_job(
    dagster_database: str, tiny_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    from bsc_pipeline.defs import build_definitions
    from bsc_pipeline.defs.jobs import NIGHTLY_JOB

    monkeypatch.setenv("DAGSTER_PG_URL", dagster_database)
    job = build_definitions(tiny_settings).resolve_job_def(NIGHTLY_JOB)
    with _instance(tmp_path / "dagster_home", "dagster.yaml.postgres") as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        _check_concurrency(instance)
        result = job.execute_in_process(partition_key="2025-01", instance=instance)
        assert result.success
        published = instance.get_materialized_partitions(dg.AssetKey("published_scorecard"))
        assert published == {"2025-01"}
        blocked = [
            r
            for r in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
            if r.step_key == "published_scorecard" and PUBLISH_POOL in (r.message or "")
        ]
        assert blocked == [], "a free pool slot is claimed without waiting"
        run_id = result.run_id
    engine = sa.create_engine(dagster_database)
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT status FROM runs WHERE run_id = :id"), {"id": run_id}
        ).scalar()
    engine.dispose()
    assert stored == "SUCCESS", "the run is recorded in PostgreSQL, not under DAGSTER_HOME"


def test_bsc_without_make_gives_dagster_home_the_project_config_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bsc_pipeline.runner import dagster_instance

    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with caplog.at_level("WARNING", logger="dagster"), dagster_instance() as instance:
        assert not instance.telemetry_enabled
        assert instance.get_settings("nux") == {"enabled": False}, "no community pop-up in the UI"
    assert "No dagster instance configuration file" not in caplog.text
    assert (home / "dagster.yaml").read_text() == (DEPLOY / "dagster.yaml").read_text()
    # A config someone wrote is theirs: left alone.
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    dagster_instance().dispose()
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_bsc_without_dagster_home_uses_an_instance_without_telemetry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bsc_pipeline.runner import dagster_instance

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with dagster_instance() as instance:
        assert not instance.telemetry_enabled
