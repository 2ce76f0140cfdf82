"""A real multi-month backfill of the tiny company on Dagster's multiprocess executor.

`bsc backfill --jobs 2` runs once per module; the expected numbers are the hand-computed ones of
tests/e2e/test_month_run.py (revenue 1000 and 1500, the quarter summed to 2500).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bsc_pipeline.defs.backfill import BACKFILL_JOB, backfill_summary
from bsc_pipeline.settings import Settings

pytestmark = pytest.mark.slow


def _env(settings: Settings, home: Path) -> dict[str, str]:
    return {
        "BSC_WAREHOUSE_URL": settings.warehouse_url,
        "BSC_LANDING_DIR": str(settings.landing_dir),
        "BSC_LAKE_DIR": str(settings.lake_dir),
        "BSC_SPEC": str(settings.spec_path),
        "BSC_PARTITIONS_START": settings.partitions_start,
        "DAGSTER_HOME": str(home),
    }


@pytest.fixture(scope="module")
def backfilled(
    tmp_path_factory: pytest.TempPathFactory, tiny_settings_at: Callable[[Path], Settings]
) -> Iterator[dict[str, Any]]:
    """`bsc backfill --start 2025-01 --end 2025-02 --jobs 2` against a fresh DAGSTER_HOME."""
    from bsc_pipeline.cli import app

    work = tmp_path_factory.mktemp("backfill")
    home = work / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    settings = tiny_settings_at(work)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _env(settings, home).items():
            patch.setenv(name, value)
        result = CliRunner().invoke(
            app, ["backfill", "--start", "2025-01", "--end", "2025-02", "--jobs", "2"]
        )
        with dg.DagsterInstance.get() as instance:
            yield {"cli": result, "settings": settings, "instance": instance, "home": home}


def _facts(settings: Settings) -> pd.DataFrame:
    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as connection:
        facts = pd.read_sql(sa.text("SELECT * FROM fact_measure_period"), connection)
    engine.dispose()
    return facts


def _value(facts: pd.DataFrame, measure: str, period: str, as_of: str) -> float:
    row = facts[
        (facts["measure_id"] == measure)
        & (facts["period"] == period)
        & (facts["as_of_month"] == as_of)
    ]
    assert len(row) == 1
    return float(row["value"].iloc[0])


def _backfill_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(job_name=BACKFILL_JOB)))


def test_cli_backfill_publishes_both_months_and_says_so(backfilled: dict[str, Any]) -> None:
    result = backfilled["cli"]
    assert result.exit_code == 0, result.output
    assert "2 published, 0 published with held measures, 0 failed" in result.output
    assert "Backfilling 2025-01, 2025-02: no later published month reads them." in result.output
    assert "measure + publish: 2/2 months" in result.output  # a pipe: lines, not a bar
    facts = _facts(backfilled["settings"])
    assert _value(facts, "revenue", "2025-01", "2025-01") == pytest.approx(1000.0)
    assert _value(facts, "revenue", "2025-02", "2025-02") == pytest.approx(1500.0)
    assert _value(facts, "revenue", "FY2025-Q1", "2025-02") == pytest.approx(2500.0)
    assert _value(facts, "gross_margin_pct", "FY2025-Q1", "2025-02") == pytest.approx(48.0)


def test_one_run_on_the_multiprocess_executor_in_dagster_home(backfilled: dict[str, Any]) -> None:
    instance = backfilled["instance"]
    runs = _backfill_runs(instance)
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
    workers = instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTED)
    assert len(workers) >= 6, "every step ran in its own worker process"
    assert (backfilled["home"] / "history").exists(), "the run is kept under DAGSTER_HOME"


def test_the_warehouse_records_each_month_with_its_files(backfilled: dict[str, Any]) -> None:
    run_id = _backfill_runs(backfilled["instance"])[0].run_id
    engine = sa.create_engine(backfilled["settings"].warehouse_url)
    with engine.connect() as connection:
        runs = dict(connection.execute(sa.text("SELECT run_id, month FROM pipeline_run")).all())
        files = connection.execute(
            sa.text("SELECT run_id, file FROM pipeline_run_file WHERE dataset = 'gl_lines'")
        ).all()
    engine.dispose()
    assert runs == {f"{run_id}/2025-01": "2025-01", f"{run_id}/2025-02": "2025-02"}
    assert sorted(files) == [
        (f"{run_id}/2025-01", "gl_lines/gl_lines_2025-01.csv"),
        (f"{run_id}/2025-02", "gl_lines/gl_lines_2025-02.csv"),
    ]


def test_the_ui_sees_every_partitioned_asset_and_gate_check(backfilled: dict[str, Any]) -> None:
    instance = backfilled["instance"]
    for key in ("raw_gl_lines", "staged_tickets", "measure_values", "scorecard"):
        assert instance.get_materialized_partitions(dg.AssetKey(key)) == {"2025-01", "2025-02"}
    assert instance.get_materialized_partitions(dg.AssetKey("published_scorecard")) == {
        "2025-01",
        "2025-02",
    }
    checks = instance.all_logs(
        _backfill_runs(instance)[0].run_id,
        of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    )
    assert len(checks) == 22, "one gate check per extract and month (updates included)"


def _intervals(instance: dg.DagsterInstance, run_id: str, step: str) -> list[tuple[float, float]]:
    starts: dict[str, float] = {}
    spans = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        key = record.step_key or ""
        if event is None or not key.startswith(f"{step}["):
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[key] = record.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            spans.append((starts[key], record.timestamp))
    return sorted(spans)


def test_publishes_never_overlap_and_follow_every_staging(backfilled: dict[str, Any]) -> None:
    instance = backfilled["instance"]
    run_id = _backfill_runs(instance)[0].run_id
    published = _intervals(instance, run_id, "publish")
    staged = _intervals(instance, run_id, "extract_and_stage")
    measured = _intervals(instance, run_id, "measure_and_score")
    assert len(published) == 2
    assert published[0][1] <= published[1][0], "the warehouse_publish pool has one slot"
    assert max(end for _, end in staged) <= min(start for start, _ in measured)


def test_a_rerun_of_january_recomputes_february_and_a_closed_month_fails_cleanly(
    backfilled: dict[str, Any],
) -> None:
    from rich.console import Console

    from bsc_pipeline.runner import run_months
    from bsc_pipeline.warehouse import close_period, make_engine

    settings = backfilled["settings"]
    engine = make_engine(settings.warehouse_url)
    close_period(engine, "2025-01")
    engine.dispose()
    console = Console(record=True, width=200)
    report = run_months(
        ["2025-01"], console=console, jobs=2, settings=settings, instance=backfilled["instance"]
    )
    assert [(o.month, o.succeeded) for o in report.outcomes] == [("2025-01", False)]
    assert "PeriodClosedError" in (report.outcomes[0].error or "")
    assert [(o.month, o.succeeded) for o in report.recomputed] == [("2025-02", True)]
    assert not report.ok
    runs = _backfill_runs(backfilled["instance"])
    assert runs[0].status == dg.DagsterRunStatus.FAILURE, "a failed month fails the run"
    retries = backfilled["instance"].all_logs(
        runs[0].run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY
    )
    assert retries == [], "a closed month is refused at once, not retried"
    text = console.export_text()
    assert "0 published, 0 published with held measures, 1 failed" in text
    assert "Recomputed 1 of 1 later month" in text


def test_summary_buckets() -> None:
    results = [
        {"month": "2025-02", "error": None, "held": ["gl_lines"], "phase": "published"},
        {"month": "2025-01", "error": None, "held": [], "phase": "published"},
        {"month": "2025-03", "error": "ValueError: x", "held": [], "phase": "extract"},
    ]
    assert backfill_summary(results) == {
        "published": ["2025-01"],
        "held": ["2025-02"],
        "failed": ["2025-03"],
    }


@pytest.mark.parametrize(("existing", "expected"), [(None, 1), (3, 3)])
def test_the_publish_pool_gets_one_slot_unless_already_limited(
    tmp_path: Path, existing: int | None, expected: int
) -> None:
    from bsc_pipeline.defs.assets import publish_pool
    from bsc_pipeline.runner import ensure_publish_pool

    pool = publish_pool(f"sqlite:///{tmp_path / 'warehouse.db'}")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        if existing is not None:
            instance.event_log_storage.set_concurrency_slots(pool, existing)
        ensure_publish_pool(instance, pool)
        info = instance.event_log_storage.get_concurrency_info(pool)
        assert info.slot_count == expected


def test_each_warehouse_has_its_own_publish_pool(tmp_path: Path) -> None:
    from bsc_pipeline.defs.assets import publish_pool

    here = publish_pool(f"sqlite:///{tmp_path / 'a.db'}")
    assert here == publish_pool(f"sqlite:///{tmp_path / 'x' / '..' / 'a.db'}"), "same file"
    assert here != publish_pool(f"sqlite:///{tmp_path / 'b.db'}")
    pg = publish_pool("postgresql+psycopg://bsc:secret@db:5432/scorecard")
    assert pg == publish_pool("postgresql+psycopg://bsc:changed@db:5432/scorecard")
    assert pg != publish_pool("postgresql+psycopg://bsc:secret@db:5432/other")
    assert "secret" not in pg and pg.startswith("warehouse_publish_")


def test_close_job_closes_a_clean_month_and_refuses_a_held_one(backfilled: dict[str, Any]) -> None:
    """Runs after the backfill tests above (it closes February and publishes March)."""
    from bsc_pipeline.defs import build_definitions
    from bsc_pipeline.defs.jobs import CLOSE_JOB, NIGHTLY_JOB
    from bsc_pipeline.warehouse import make_engine, period_state

    settings = backfilled["settings"]
    defs = build_definitions(settings)
    close = defs.resolve_job_def(CLOSE_JOB)

    def close_month(month: str) -> dg.ExecuteInProcessResult:
        return close.execute_in_process(
            run_config={"ops": {"close_month": {"config": {"month": month}}}},
            raise_on_error=False,
        )

    assert close_month("2025-02").success
    # March comes after every source started and has none of its monthly files: held, not
    # "not started" (a month before the first delivery would be, and could be closed).
    march = defs.resolve_job_def(NIGHTLY_JOB).execute_in_process(
        partition_key="2025-03", raise_on_error=False
    )
    assert march.success, "a month whose files are missing publishes with its measures held"
    refused = close_month("2025-03")
    assert not refused.success
    failure = next(e for e in refused.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data
    assert message is not None and "held measures" in (message.description or "")
    engine = make_engine(settings.warehouse_url)
    assert period_state(engine, "2025-02") == "closed"
    assert period_state(engine, "2025-03") == "open"
    engine.dispose()
