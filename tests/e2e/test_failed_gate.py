"""A broken extract holds only the measures that read it, through the real Dagster job.

Both months of the tiny company are published clean first; then the source system delivers a
broken February file and February is re-run.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.settings import Settings

pytestmark = pytest.mark.slow

SURVEY_FEB = "survey_responses/survey_responses_2025-02.csv"
TICKETS_FEB = "tickets/tickets_2025-02.csv"

# Scores of 11 and 12 are outside 0–10: two of three rows fail, far beyond the rule's tolerance.
BROKEN_SURVEY = """response_id,account_id,response_date,score
S5,A1,2025-02-02,10
S6,A2,2025-02-09,11
S7,A2,2025-02-16,12
"""
# The export lost its created_at column: the file cannot be used at all.
BROKEN_TICKETS = (
    "ticket_id,account_id,resolved_at,sla_due_at,priority,category,status,reopens,satisfaction,"
    "updated_at\n"
    "T4,A2,2025-02-03T12:00:00,2025-02-04T10:00:00,low,question,solved,0,good,2025-02-03T12:00:00\n"
)


def _published(settings: Settings, month: str) -> pd.DataFrame:
    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as conn:
        return pd.read_sql(
            sa.text("SELECT * FROM v_scorecard_monthly WHERE period = :p"),
            conn,
            params={"p": month},
        ).set_index("measure_id")


def _quarantine(settings: Settings, dataset: str) -> pd.DataFrame:
    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as conn:
        return pd.read_sql(
            sa.text("SELECT * FROM quarantine_row WHERE dataset = :d AND month = '2025-02'"),
            conn,
            params={"d": dataset},
        )


@pytest.fixture
def copied_landing(tiny_settings: Settings, tmp_path: Path) -> Settings:
    landing = tmp_path / "landing"
    shutil.copytree(tiny_settings.landing_dir, landing)
    return replace(tiny_settings, landing_dir=landing)


@pytest.mark.parametrize(
    ("broken_file", "content", "dataset", "held_measure", "expect_quarantine"),
    [
        (SURVEY_FEB, BROKEN_SURVEY, "survey_responses", "nps", True),
        (TICKETS_FEB, BROKEN_TICKETS, "tickets", "resolution_hours_median", False),
    ],
)
def test_broken_extract_holds_its_measures_and_keeps_published_values(
    copied_landing: Settings,
    broken_file: str,
    content: str,
    dataset: str,
    held_measure: str,
    expect_quarantine: bool,
) -> None:
    settings = copied_landing
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    for month in ("2025-01", "2025-02"):
        assert job.execute_in_process(partition_key=month).success
    before = _published(settings, "2025-02")

    (settings.landing_dir / broken_file).write_text(content, encoding="utf-8")
    result = job.execute_in_process(partition_key="2025-02", raise_on_error=False)

    assert result.success, "a failed gate holds measures; it does not fail the run"
    checks = {c.asset_key.to_user_string(): c for c in result.get_asset_check_evaluations()}
    assert not checks[f"staged_{dataset}"].passed
    assert [k for k, c in checks.items() if not c.passed] == [f"staged_{dataset}"]

    after = _published(settings, "2025-02")
    assert after.loc[held_measure, "status"] == "held"
    assert after.loc[held_measure, "data_state"] == "held"
    assert dataset in after.loc[held_measure, "data_note"]
    assert after.loc[held_measure, "actual"] == pytest.approx(before.loc[held_measure, "actual"])
    independent = after.drop(index=held_measure)
    assert (independent["status"] != "held").all()
    assert after.loc["revenue", "actual"] == pytest.approx(1500.0)

    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as conn:
        told = conn.execute(
            sa.text(
                "SELECT recipient_owner_id FROM alert_event "
                "WHERE kind = 'held' AND measure_id = :m AND period = '2025-02'"
            ),
            {"m": held_measure},
        ).scalars()
        assert list(told) == ["data"], "the dataset's data owner is told, not the measure owner"

    quarantined = _quarantine(settings, dataset)
    if expect_quarantine:
        assert sorted(quarantined["line"]) == [3, 4]
        assert quarantined["reason"].str.contains("11|12").all()
