"""Held, never silently republished: partial and missing files, a lost lake, people's decisions.

The tiny company's January and February are published once through the real Dagster job; each
test copies that warehouse, lake and landing zone, changes the copy (landing files of the
project are never touched), re-runs February through the job and reads the published view.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.settings import Settings

pytestmark = pytest.mark.slow

GL_FEB = "gl_lines/gl_lines_2025-02.csv"
GL_JAN = "gl_lines/gl_lines_2025-01.csv"
SURVEY_FEB = "survey_responses/survey_responses_2025-02.csv"
# One of February's six lines (January had four): below half the usual volume. Its revenue line.
GL_FEB_CUT = (
    "entry_id,line_no,posting_date,account,amount,department,memo\n"
    "E3,2,2025-02-03,4000,-1200.00,,invoice 2\n"
)
VIEWS = ("v_scorecard_monthly", "v_scorecard_period")


def _run(settings: Settings, month: str = "2025-02") -> Any:
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    result = job.execute_in_process(partition_key=month)
    assert result.success
    return result


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, tiny_settings_at: Any) -> Settings:
    """January and February of the tiny company, published clean (read only: tests copy it)."""
    settings = tiny_settings_at(tmp_path_factory.mktemp("published"))
    for month in ("2025-01", "2025-02"):
        _run(settings, month)
    return settings


@pytest.fixture
def company(published: Settings, tmp_path: Path) -> Settings:
    """A private copy of the published company: warehouse, lake and landing zone."""
    source = Path(published.warehouse_url.removeprefix("sqlite:///"))
    for part in source.parent.glob(f"{source.name}*"):  # with its write-ahead log
        shutil.copy(part, tmp_path / part.name.replace(source.name, "warehouse.db"))
    shutil.copytree(published.lake_dir, tmp_path / "lake")
    shutil.copytree(published.landing_dir, tmp_path / "landing")
    return replace(
        published,
        warehouse_url=f"sqlite:///{tmp_path / 'warehouse.db'}",
        lake_dir=tmp_path / "lake",
        landing_dir=tmp_path / "landing",
    )


@pytest.fixture
def bsc(company: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`bsc ARGS...` on the company's warehouse, as user `ana`; fails the test on a non-zero exit.

    `bsc dq` is the quality package's own typer app (`bsc` mounts it when it starts).
    """
    from bsc_pipeline.cli import app
    from bsc_pipeline.quality.cli import app as dq_app

    monkeypatch.setenv("BSC_WAREHOUSE_URL", company.warehouse_url)
    monkeypatch.setenv("BSC_CONTRACTS", str(company.contracts_path))
    monkeypatch.setenv("BSC_USER", "ana")
    monkeypatch.setenv("COLUMNS", "300")  # rich tables unwrapped, so reasons read as one line
    runner = CliRunner()

    def invoke(*args: str) -> str:
        command, rest = (dq_app, args[1:]) if args[0] == "dq" else (app, args)
        result = runner.invoke(command, list(rest))
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def _view(settings: Settings, name: str) -> pd.DataFrame:
    """A whole view or table; `name` is one of this module's constants, never user text."""
    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as conn:
        return pd.read_sql(sa.text(f"SELECT * FROM {name}"), conn)


def _rows(settings: Settings, month: str = "2025-02") -> pd.DataFrame:
    """February's published rows of every period type."""
    view = _view(settings, "v_scorecard_period")
    return view[view["as_of_month"] == month]


def _at(rows: pd.DataFrame, measure: str, period: str) -> pd.Series:
    """One measure's row for one period (`2025-02`, `FY2025-Q1`, `TTM-2025-02`...)."""
    found = rows[(rows["measure_id"] == measure) & (rows["period"] == period)]
    assert len(found) == 1, (measure, period)
    return found.iloc[0]


def _decisions(settings: Settings) -> pd.DataFrame:
    return _view(settings, "dq_decision")


def test_a_partial_month_is_held_and_keeps_its_published_figures(company: Settings) -> None:
    before = _rows(company)
    (company.landing_dir / GL_FEB).write_text(GL_FEB_CUT, encoding="utf-8")
    _run(company)

    after = _rows(company)
    for period in ("2025-02", "FY2025-Q1", "FY2025", "TTM-2025-02"):
        row = _at(after, "revenue", period)
        assert (row["status"], row["data_state"]) == ("held", "held"), period
        assert row["actual"] == pytest.approx(_at(before, "revenue", period)["actual"])
        assert "completeness: 1 rows is 25% of the usual 4" in row["data_note"]
    assert _at(after, "revenue", "2025-02")["actual"] == pytest.approx(1500.0)
    assert _at(after, "gross_margin_pct", "2025-02")["status"] == "held"
    assert _at(after, "nps", "2025-02")["status"] != "held", "other sources still publish"


def test_a_missing_monthly_file_holds_instead_of_publishing_no_data(company: Settings) -> None:
    before = _rows(company)
    (company.landing_dir / SURVEY_FEB).unlink()
    _run(company)

    nps = _at(_rows(company), "nps", "2025-02")
    assert (nps["status"], nps["data_state"]) == ("held", "held")
    assert nps["actual"] == pytest.approx(_at(before, "nps", "2025-02")["actual"])
    assert "file_present: no file for the month in the landing zone" in nps["data_note"]


def test_accepting_a_hold_publishes_the_month_as_it_is(company: Settings, bsc: Any) -> None:
    (company.landing_dir / GL_FEB).write_text(GL_FEB_CUT, encoding="utf-8")
    _run(company)
    assert _at(_rows(company), "revenue", "2025-02")["status"] == "held"

    said = bsc(
        "dq", "accept", "--dataset", "gl_lines", "--period", "2025-02",
        "--reason", "February invoicing moved to March",
    )  # fmt: skip
    assert "ana accepts gl_lines 2025-02" in said
    result = _run(company)

    revenue = _at(_rows(company), "revenue", "2025-02")
    assert revenue["status"] != "held"
    assert revenue["actual"] == pytest.approx(1200.0), "the one line left, published as it is"
    published = result.asset_materializations_for_node("published_scorecard")[0]
    assert published.metadata["released_datasets"].value == ["gl_lines"]
    decision = _decisions(company).iloc[-1]
    assert (decision["decision"], decision["decided_by"]) == ("accept", "ana")
    assert decision["consumed_by_run_id"] == result.run_id
    engine = sa.create_engine(company.warehouse_url)
    with engine.connect() as connection:
        reason = connection.execute(
            sa.text(
                "SELECT reason FROM measure_value_history WHERE measure_id = 'revenue'"
                " AND period = '2025-02' AND run_id = :run ORDER BY published_at DESC"
            ),
            {"run": result.run_id},
        ).scalar_one()
    engine.dispose()
    assert reason == "hold_released", "the released figure says why it moved"

    report = bsc("dq", "report", "--period", "2025-02")
    assert "February invoicing moved to March" in report and "ana" in report
    assert "February invoicing moved to March" in bsc("status")


def test_rejecting_keeps_the_month_held_until_a_newer_decision(
    company: Settings, published: Settings, bsc: Any
) -> None:
    (company.landing_dir / GL_FEB).write_text(GL_FEB_CUT, encoding="utf-8")
    _run(company)
    bsc(
        "dq", "reject", "--dataset", "gl_lines", "--period", "2025-02",
        "--reason", "the export is cut; finance resends it",
    )  # fmt: skip
    shutil.copy(published.landing_dir / GL_FEB, company.landing_dir / GL_FEB)
    rejected_run = _run(company)

    revenue = _at(_rows(company), "revenue", "2025-02")
    assert revenue["status"] == "held", "a rejection holds even a complete file"
    assert "rejected by ana: the export is cut; finance resends it" in revenue["data_note"]
    assert revenue["actual"] == pytest.approx(1500.0)
    assert _decisions(company).iloc[-1]["consumed_by_run_id"] == rejected_run.run_id
    assert "reject" in bsc("status")

    bsc("dq", "accept", "--dataset", "gl_lines", "--period", "2025-02", "--reason", "resent")
    _run(company)
    assert _at(_rows(company), "revenue", "2025-02")["status"] != "held"


def test_an_empty_lake_republishes_the_identical_view(company: Settings) -> None:
    before = {name: _view(company, name) for name in VIEWS}
    shutil.rmtree(company.lake_dir)
    _run(company)

    for name in VIEWS:
        pd.testing.assert_frame_equal(_view(company, name), before[name], check_like=True)
    assert (company.lake_dir / "staged" / "gl_lines" / "2025-01.parquet").exists()


def test_a_lost_month_whose_files_are_gone_holds_what_reads_it(company: Settings) -> None:
    before = _rows(company)
    shutil.rmtree(company.lake_dir)
    (company.landing_dir / GL_JAN).unlink()
    _run(company)

    after = _rows(company)
    for period in ("2025-02", "FY2025-Q1", "FY2025", "TTM-2025-02"):
        row = _at(after, "revenue", period)
        assert row["status"] == "held", period
        assert row["actual"] == pytest.approx(_at(before, "revenue", period)["actual"])
        assert row["prior_period_value"] == pytest.approx(
            _at(before, "revenue", period)["prior_period_value"], nan_ok=True
        )
        assert "input lost: gl_lines 2025-01" in row["data_note"]
        assert GL_JAN in row["data_note"]
    assert _at(after, "nps", "2025-02")["status"] != "held"
