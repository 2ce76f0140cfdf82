"""Closing a month freezes it; reopening with a reason restates it, and everyone can tell."""

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
from bsc_pipeline.warehouse import close_period, make_engine, reopen_period

pytestmark = pytest.mark.slow

# Late credit notes: February's revenue falls from 1,500 to 500, below the amber bound (900).
RESTATED_GL = """entry_id,line_no,posting_date,account,amount,department,memo
E3,1,2025-02-03,1000,1200.00,,invoice 2
E3,2,2025-02-03,4000,-1200.00,,invoice 2
E4,1,2025-02-14,1000,300.00,,invoice 3
E4,2,2025-02-14,4000,-300.00,,invoice 3
E5,1,2025-02-25,5000,900.00,Ops,subcontractor
E5,2,2025-02-25,1000,-900.00,Ops,subcontractor
E6,1,2025-02-27,4000,1000.00,,credit note
E6,2,2025-02-27,1000,-1000.00,,credit note
"""


def _query(settings: Settings, sql: str) -> pd.DataFrame:
    with make_engine(settings.warehouse_url).connect() as conn:
        return pd.read_sql(sa.text(sql), conn)


def _feb_revenue(settings: Settings) -> pd.Series:
    return _query(
        settings,
        "SELECT actual, status FROM v_scorecard_monthly "
        "WHERE measure_id = 'revenue' AND period = '2025-02'",
    ).iloc[0]


@pytest.fixture
def settings(tiny_settings: Settings, tmp_path: Path) -> Settings:
    landing = tmp_path / "landing"
    shutil.copytree(tiny_settings.landing_dir, landing)
    return replace(tiny_settings, landing_dir=landing)


def test_closed_month_is_frozen_and_a_reopened_one_restated_with_its_reason(
    settings: Settings,
) -> None:
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    for month in ("2025-01", "2025-02"):
        assert job.execute_in_process(partition_key=month).success
    engine = make_engine(settings.warehouse_url)
    assert close_period(engine, "2025-02")

    (settings.landing_dir / "gl_lines" / "gl_lines_2025-02.csv").write_text(RESTATED_GL)
    refused = job.execute_in_process(partition_key="2025-02", raise_on_error=False)
    assert not refused.success
    assert _feb_revenue(settings)["actual"] == pytest.approx(1500.0), "a closed month never moves"

    reopen_period(engine, "2025-02", "late credit note E6")
    assert job.execute_in_process(partition_key="2025-02").success

    now = _feb_revenue(settings)
    assert now["actual"] == pytest.approx(500.0) and now["status"] == "red"
    key = "measure_id = 'revenue' AND period_type = 'month' AND period = '2025-02'"
    first = _query(settings, f"SELECT value FROM v_measure_value_first_reported WHERE {key}")
    restated = _query(
        settings, f"SELECT value, restatement_reason FROM v_measure_value_restated WHERE {key}"
    )
    assert first["value"].iloc[0] == pytest.approx(1500.0)
    assert restated["value"].iloc[0] == pytest.approx(500.0)
    assert restated["restatement_reason"].iloc[0] == "late credit note E6"
    alerts = _query(
        settings,
        "SELECT kind, is_restatement, recipient_owner_id FROM alert_event "
        "WHERE measure_id = 'revenue' AND period = '2025-02'",
    )
    assert list(alerts["kind"]) == ["red"]
    assert bool(alerts["is_restatement"].iloc[0]) and alerts["recipient_owner_id"].iloc[0] == "cfo"
