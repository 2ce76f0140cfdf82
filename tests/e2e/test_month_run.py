"""The real Dagster assets and checks, materialized in-process on a tiny company.

Every expected number below is worked out by hand from the CSVs in tiny_company/landing.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB

MONTHS = ("2025-01", "2025-02")

pytestmark = pytest.mark.slow


def _checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_settings_at) -> dict:
    settings = tiny_settings_at(tmp_path_factory.mktemp("tiny"))
    before = _checksums(settings.landing_dir)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    results = [job.execute_in_process(partition_key=m, raise_on_error=False) for m in MONTHS]
    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as conn:
        facts = pd.read_sql(sa.text("SELECT * FROM fact_measure_period"), conn)
        monthly = pd.read_sql(sa.text("SELECT * FROM v_scorecard_monthly"), conn)
    return {
        "results": results,
        "facts": facts,
        "monthly": monthly,
        "landing_before": before,
        "landing_after": _checksums(settings.landing_dir),
    }


def _value(facts: pd.DataFrame, measure: str, period_type: str, period: str, as_of: str) -> float:
    row = facts[
        (facts["measure_id"] == measure)
        & (facts["period_type"] == period_type)
        & (facts["period"] == period)
        & (facts["as_of_month"] == as_of)
    ]
    assert len(row) == 1, f"expected one row for {measure} {period_type} {period} as of {as_of}"
    return float(row["value"].iloc[0])


def test_every_step_and_check_succeeds(tiny_run: dict) -> None:
    for result in tiny_run["results"]:
        assert result.success
        checks = result.get_asset_check_evaluations()
        assert len(checks) == 11, "one gate check per extract (updates included)"
        failed = [c.asset_check_key.asset_key.to_user_string() for c in checks if not c.passed]
        assert failed == []


@pytest.mark.parametrize(
    ("measure", "month", "expected"),
    [
        ("revenue", "2025-01", 1000.0),
        ("revenue", "2025-02", 1500.0),
        ("gross_margin_pct", "2025-01", 60.0),  # (1000 - 400) / 1000
        ("gross_margin_pct", "2025-02", 40.0),  # (1500 - 900) / 1500
        ("nps", "2025-01", 25.0),  # 2 promoters, 1 detractor, 4 responses
        ("nps", "2025-02", -100 / 3),  # 1 promoter, 2 detractors, 3 responses
        ("resolution_hours_median", "2025-01", 7.0),  # T1 4 h, T2 10 h
        ("resolution_hours_median", "2025-02", 61.0),  # T3 120 h (reopened file), T4 2 h
        ("headcount", "2025-01", 2.0),  # e1, e2
        ("headcount", "2025-02", 3.0),  # e2 left on 15 Feb; e3, e4 joined
        ("training_hours_per_employee", "2025-01", 3.0),  # 6 h / 2
        ("training_hours_per_employee", "2025-02", 8 / 3),
    ],
)
def test_month_values_match_hand_computation(
    tiny_run: dict, measure: str, month: str, expected: float
) -> None:
    assert _value(tiny_run["facts"], measure, "month", month, month) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("measure", "expected", "average_of_months"),
    [
        ("revenue", 2500.0, None),
        ("gross_margin_pct", 48.0, 50.0),  # 1200 / 2500, not the mean of 60 and 40
        ("nps", 0.0, (25 - 100 / 3) / 2),  # 3 promoters, 3 detractors, 7 responses
        ("resolution_hours_median", 7.0, 34.0),  # median of 2, 4, 10, 120 from the rows
        ("headcount", 3.0, None),  # a balance takes the period-end value
        ("training_hours_per_employee", 14 / 3, None),
    ],
)
def test_quarter_to_date_is_recomputed_from_components(
    tiny_run: dict, measure: str, expected: float, average_of_months: float | None
) -> None:
    value = _value(tiny_run["facts"], measure, "quarter", "FY2025-Q1", "2025-02")
    assert value == pytest.approx(expected)
    if average_of_months is not None:
        assert not math.isclose(value, average_of_months)


def test_view_has_one_row_per_scored_measure_and_month(tiny_run: dict) -> None:
    monthly = tiny_run["monthly"]
    assert set(monthly["period"]) == set(MONTHS)
    assert len(monthly) == 6 * len(MONTHS)
    assert not monthly.duplicated(["measure_id", "period"]).any()
    feb = monthly[monthly["period"] == "2025-02"].set_index("measure_id")
    assert feb.loc["revenue", "status"] == "green"  # 1500 against 1000
    assert feb.loc["nps", "status"] == "red"  # -33 below the amber bound 0
    assert feb.loc["resolution_hours_median", "status"] == "red"  # 61 h > 1.5 × 8 h
    assert feb.loc["headcount", "owner"] == "Harper People"


def test_landing_files_are_never_modified(tiny_run: dict) -> None:
    assert tiny_run["landing_after"] == tiny_run["landing_before"]
