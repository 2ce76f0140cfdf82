"""The landing-zone sensor (evaluated with build_sensor_context) and the run-failure sensor."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.definitions.sensor_definition import SensorExecutionData

from bsc_pipeline.defs import build_definitions, sensors
from bsc_pipeline.defs.sensors import FAILURE_SENSOR, LANDING_SENSOR, load_cursor
from bsc_pipeline.settings import PROJECT_ROOT, Settings

SETTLE_SECONDS = 0.3
TINY_LANDING = PROJECT_ROOT / "tests" / "e2e" / "tiny_company" / "landing"


@pytest.fixture
def landing_settings(tiny_settings: Settings, tmp_path: Path) -> Settings:
    """The tiny company's landing zone copied where the test may add files, a short settle time,
    and a file pattern that also accepts a re-sent copy (`gl_lines_2025-02_resent.csv`)."""
    landing = tmp_path / "landing"
    shutil.copytree(TINY_LANDING, landing)
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"settle_seconds: {SETTLE_SECONDS}\n"
        "defaults:\n"
        f"  mapping: {PROJECT_ROOT / 'sources' / 'mappings' / 'demo.yaml'}\n"
        "  file_pattern: '^{dataset}_(?P<month>\\d{4}-\\d{2})(_[a-z]+)?\\.csv$'\n"
        "datasets: {}\n",
        encoding="utf-8",
    )
    return replace(tiny_settings, landing_dir=landing, sources_config=config)


class Evaluator:
    """Runs the landing sensor tick after tick, carrying its cursor like the daemon does."""

    def __init__(self, settings: Settings) -> None:
        self.defs = build_definitions(settings)
        self.repo = self.defs.get_repository_def()
        self.sensor = self.repo.get_sensor_def(LANDING_SENSOR)
        self.cursor: str | None = None
        self.instance = dg.DagsterInstance.ephemeral()

    def tick(self) -> SensorExecutionData:
        with dg.build_sensor_context(
            cursor=self.cursor,
            resources=self.defs.resources,
            repository_def=self.repo,
            instance=self.instance,
        ) as context:
            result = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor
        return result

    def months(self, result: SensorExecutionData) -> list[str]:
        return [r.partition_key for r in result.run_requests or []]


@pytest.fixture
def evaluator(landing_settings: Settings) -> Evaluator:
    return Evaluator(landing_settings)


def test_first_tick_starts_one_run_per_month_and_records_every_file(
    evaluator: Evaluator, landing_settings: Settings
) -> None:
    result = evaluator.tick()
    assert evaluator.months(result) == ["2025-01", "2025-02"]
    requests = result.run_requests or []
    assert all(r.tags["bsc/trigger"] == "landing" for r in requests)
    assert "gl_lines/gl_lines_2025-02.csv@" in requests[1].tags["bsc/files"]
    files = sorted(
        str(p.relative_to(landing_settings.landing_dir))
        for p in landing_settings.landing_dir.rglob("*.csv")
    )
    assert sorted(load_cursor(evaluator.cursor)) == files
    landed = {e.asset_key.path[0] for e in result.asset_events}
    assert landed == {f"landing_{p.parent.name}" for p in TINY_LANDING.rglob("*.csv")}


def test_cursor_advances_and_the_same_files_start_nothing_again(evaluator: Evaluator) -> None:
    first = evaluator.tick()
    assert first.run_requests
    cursor = evaluator.cursor
    second = evaluator.tick()
    assert not second.run_requests
    assert not second.asset_events
    assert "no new complete files" in (second.skip_message or "")
    assert evaluator.cursor == cursor


def test_a_new_file_triggers_exactly_one_run_for_its_month(
    evaluator: Evaluator, landing_settings: Settings
) -> None:
    evaluator.tick()
    source = landing_settings.landing_dir / "tickets" / "tickets_2025-02.csv"
    shutil.copy(source, source.with_name("tickets_2025-03.csv"))
    os.utime(source.with_name("tickets_2025-03.csv"))
    arrived = evaluator.tick()
    assert evaluator.months(arrived) == ["2025-03"]
    assert "tickets/tickets_2025-03.csv@" in (arrived.run_requests or [])[0].tags["bsc/files"]
    assert [e.asset_key.path[0] for e in arrived.asset_events] == ["landing_tickets"]
    assert not evaluator.tick().run_requests


def test_run_keys_name_the_bytes_so_a_lost_cursor_asks_for_the_same_runs(
    landing_settings: Settings,
) -> None:
    first = Evaluator(landing_settings).tick()
    fresh = Evaluator(landing_settings).tick()
    assert [r.run_key for r in first.run_requests or []] == [
        r.run_key for r in fresh.run_requests or []
    ]


def test_changed_bytes_under_the_same_name_are_a_new_delivery(
    evaluator: Evaluator, landing_settings: Settings
) -> None:
    first = {r.partition_key: r.run_key for r in evaluator.tick().run_requests or []}
    path = landing_settings.landing_dir / "gl_lines" / "gl_lines_2025-02.csv"
    path.write_bytes(path.read_bytes() + b"\n")
    corrected = evaluator.tick().run_requests or []
    assert [r.partition_key for r in corrected] == ["2025-02"]
    assert corrected[0].run_key != first["2025-02"]


def test_a_half_written_part_file_is_ignored_until_renamed(
    evaluator: Evaluator, landing_settings: Settings
) -> None:
    evaluator.tick()
    folder = landing_settings.landing_dir / "training"
    partial = folder / "training_2025-02.csv.part"
    partial.write_bytes((folder / "training_2025-01.csv").read_bytes()[:40])
    assert not evaluator.tick().run_requests
    assert "training/training_2025-02.csv.part" not in load_cursor(evaluator.cursor)
    partial.write_bytes(
        (folder / "training_2025-01.csv").read_bytes().replace(b"2025-01", b"2025-02")
    )
    partial.rename(folder / "training_2025-02.csv")
    assert evaluator.months(evaluator.tick()) == ["2025-02"]


def test_a_file_still_growing_waits_for_the_next_tick(
    evaluator: Evaluator, landing_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluator.tick()
    growing = landing_settings.landing_dir / "tickets" / "tickets_2025-04.csv"
    header = (landing_settings.landing_dir / "tickets" / "tickets_2025-02.csv").read_bytes()
    growing.write_bytes(header)
    waits: list[float] = []

    def written_to_while_settling(seconds: float) -> None:
        # The sender is still writing: the file grows during the sensor's settle wait.
        waits.append(seconds)
        with growing.open("ab") as handle:
            handle.write(b"\n")

    monkeypatch.setattr(sensors, "time", SimpleNamespace(sleep=written_to_while_settling))
    during = evaluator.tick()
    assert waits == [SETTLE_SECONDS]
    assert not during.run_requests
    assert "tickets/tickets_2025-04.csv" in (during.skip_message or "")
    assert "tickets/tickets_2025-04.csv" not in load_cursor(evaluator.cursor)

    monkeypatch.setattr(sensors, "time", SimpleNamespace(sleep=waits.append))  # writing done
    assert evaluator.months(evaluator.tick()) == ["2025-04"]
    assert waits == [SETTLE_SECONDS, SETTLE_SECONDS]


def test_the_same_bytes_resent_under_another_name_start_no_run(
    evaluator: Evaluator, landing_settings: Settings
) -> None:
    evaluator.tick()
    folder = landing_settings.landing_dir / "gl_lines"
    shutil.copy(folder / "gl_lines_2025-02.csv", folder / "gl_lines_2025-02_resent.csv")
    resent = evaluator.tick()
    assert not resent.run_requests, "the sources package reads duplicate bytes once"
    assert "gl_lines/gl_lines_2025-02_resent.csv" in load_cursor(evaluator.cursor)


def test_the_cursor_keeps_only_files_still_in_the_landing_zone(
    evaluator: Evaluator, landing_settings: Settings
) -> None:
    evaluator.tick()
    gone = landing_settings.landing_dir / "engagement" / "engagement_2025-01.csv"
    gone.unlink()
    evaluator.tick()
    cursor = load_cursor(evaluator.cursor)
    assert "engagement/engagement_2025-01.csv" not in cursor
    assert len(cursor) == len(list(landing_settings.landing_dir.rglob("*.csv")))


def test_an_unreadable_cursor_starts_over(evaluator: Evaluator) -> None:
    evaluator.cursor = "not json"
    assert evaluator.months(evaluator.tick()) == ["2025-01", "2025-02"]
    evaluator.cursor = json.dumps(["an", "old", "list"])
    assert evaluator.months(evaluator.tick()) == ["2025-01", "2025-02"]


def test_files_for_a_closed_month_start_no_run(
    evaluator: Evaluator, landing_settings: Settings
) -> None:
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
    from bsc_pipeline.warehouse.period_close import close_period

    engine = make_engine(landing_settings.warehouse_url)
    upgrade_warehouse(engine)
    close_period(engine, "2025-01")
    engine.dispose()
    assert evaluator.months(evaluator.tick()) == ["2025-02"]


def _failed_run(
    instance: dg.DagsterInstance, tags: dict[str, str] | None = None
) -> tuple[dg.DagsterRun, dg.DagsterEvent]:
    @dg.op
    def read_ledger() -> None:
        raise ValueError("gl_lines_2025-02.csv, line 7: amount 'abc' is not a number")

    @dg.job
    def broken() -> None:
        read_ledger()

    result = broken.execute_in_process(instance=instance, raise_on_error=False, tags=tags)
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    failure = next(
        e.dagster_event
        for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        if e.dagster_event is not None
    )
    return run, failure


def test_run_failure_sensor_tells_the_engineers_with_the_step_error(
    defs_factory, tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BSC_SMTP_HOST", "BSC_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    defs = defs_factory()
    sensor = defs.get_repository_def().get_sensor_def(FAILURE_SENSOR)
    with dg.instance_for_test() as instance:
        run, failure = _failed_run(instance)
        context = dg.build_run_status_sensor_context(
            sensor_name=FAILURE_SENSOR,
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
            resources=defs.resources,
        ).for_run_failure()
        sensor(context)
        sensor(context)
    engine = sa.create_engine(tiny_settings.warehouse_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT kind, run_id, recipient_owner_id, payload FROM alert_event"
                " WHERE kind = 'pipeline_failure'"
            )
        ).all()
    engine.dispose()
    assert len(rows) == 1, "one notice per failed run, however often the sensor fires"
    kind, run_id, recipient, payload = rows[0]
    assert (kind, run_id, recipient) == ("pipeline_failure", run.run_id, "data")
    body = json.loads(payload) if isinstance(payload, str) else payload
    assert body["job_name"] == "broken"
    assert "read_ledger: " in body["error"] and "line 7" in body["error"]


def test_run_failure_sensor_records_the_failed_month_with_its_cause(
    defs_factory, tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BSC_SMTP_HOST", "BSC_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    defs = defs_factory()
    sensor = defs.get_repository_def().get_sensor_def(FAILURE_SENSOR)
    with dg.instance_for_test() as instance:
        run, failure = _failed_run(instance, tags={"dagster/partition": "2025-02"})
        context = dg.build_run_status_sensor_context(
            sensor_name=FAILURE_SENSOR,
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
            resources=defs.resources,
        ).for_run_failure()
        sensor(context)
    engine = sa.create_engine(tiny_settings.warehouse_url)
    with engine.connect() as connection:
        recorded = connection.execute(
            sa.text("SELECT month, outcome, error FROM pipeline_run WHERE run_id = :r"),
            {"r": run.run_id},
        ).one()
    engine.dispose()
    assert (recorded.month, recorded.outcome) == ("2025-02", "failed")
    assert (
        recorded.error
        == "read_ledger: ValueError: gl_lines_2025-02.csv, line 7: amount 'abc' is not a number"
    )


def test_files_outside_the_partitions_start_no_run_and_future_ones_wait(
    evaluator: Evaluator, landing_settings: Settings
) -> None:
    evaluator.tick()
    folder = landing_settings.landing_dir / "tickets"
    shutil.copy(folder / "tickets_2025-02.csv", folder / "tickets_2019-05.csv")
    shutil.copy(folder / "tickets_2025-01.csv", folder / "tickets_2999-01.csv")
    result = evaluator.tick()
    assert not result.run_requests, "2019 is before the first partition, 2999 is not open yet"
    cursor = load_cursor(evaluator.cursor)
    assert "tickets/tickets_2019-05.csv" in cursor
    assert "tickets/tickets_2999-01.csv" not in cursor, "looked at again once its month opens"
    landed = [e.metadata["files"].value for e in result.asset_events]
    assert landed == [["tickets/tickets_2019-05.csv"]]
    again = evaluator.tick()
    assert not again.run_requests and not again.asset_events
