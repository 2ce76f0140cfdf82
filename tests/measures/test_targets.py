"""Targets from spec rules and the finance targets file, and the thresholds in force."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bsc_pipeline.measures import TargetBook, TargetsFileError, compute_measure_values

REVENUE = {
    "id": "revenue",
    "name": "Revenue",
    "unit": "EUR",
    "kind": "base",
    "source": "sales",
    "agg": "sum",
    "column": "amount",
    "objective": "grow",
}


def stage(loader, amounts: dict[str, float]) -> None:
    for month, amount in amounts.items():
        loader.stage("sales", month, [{"id": month, "day": f"{month}-05", "amount": amount}])


def run(spec, loader, contracts, month="2025-03", targets=None):
    return compute_measure_values(spec, month, loader, contracts=contracts, targets=targets)


def test_constant_and_range_targets(loader, spec_of, contracts, row):
    stage(loader, {"2025-03": 10.0})
    measures = [
        {**REVENUE, "target": {"kind": "constant", "value": 12}},
        {
            **REVENUE,
            "id": "band",
            "direction": "range",
            "target": {"kind": "range", "low": 8, "high": 11},
        },
    ]
    frame = run(spec_of(measures), loader, contracts)
    assert row(frame, "revenue", "month")["target"] == 12
    assert math.isnan(row(frame, "revenue", "month")["target_high"])
    band = row(frame, "band", "quarter")
    assert (band["target"], band["target_high"]) == (8, 11)


def test_prior_year_factor_target(loader, spec_of, contracts, row):
    stage(loader, {"2024-03": 100.0, "2025-03": 120.0})
    measure = {**REVENUE, "target": {"kind": "prior_year_factor", "factor": 1.1}}
    frame = run(spec_of([measure]), loader, contracts)
    assert row(frame, "revenue", "month")["target"] == pytest.approx(110.0)
    ttm = row(frame, "revenue", "ttm")  # TTM a year earlier has 11 months never staged
    assert math.isnan(ttm["target"])
    assert "no prior-year value" in ttm["data_note"]
    quarter_q = run(spec_of([measure]), loader, contracts, month="2025-02")
    no_base = row(quarter_q, "revenue", "month")
    assert math.isnan(no_base["target"])
    assert "no prior-year value" in no_base["data_note"]


def test_budget_target_sums_the_budget_over_the_months_so_far(loader, spec_of, contracts, row):
    stage(loader, {"2025-01": 1.0, "2025-02": 1.0})
    budget = [
        {"month": f"2025-{m:02d}-01", "account": acct, "amount": amount}
        for m in (1, 2, 3)
        for acct, amount in (("4000", -100.0 * m), ("5000", 7.0))
    ]
    loader.stage("budget", "2025-01", budget)
    measure = {
        **REVENUE,
        "target": {
            "kind": "budget",
            "scale": -1,
            "filters": [{"column": "account", "value": 4000}],
        },
    }
    frame = run(spec_of([measure]), loader, contracts, month="2025-02")
    assert row(frame, "revenue", "month")["target"] == 200
    assert row(frame, "revenue", "quarter")["target"] == 300  # Jan + Feb, quarter-to-date
    ttm = row(frame, "revenue", "ttm")  # Mar 2024 - Feb 2025, but the budget starts in 2025
    assert math.isnan(ttm["target"])
    assert "no target: the budget does not reach back to 2024-03" in ttm["data_note"]


def test_a_base_measure_on_a_snapshot_marks_months_before_its_first_row(
    loader, spec_of, contracts, row
):
    budget = [
        {"month": f"2025-{m:02d}-01", "account": "4000", "amount": 10.0 * m} for m in (1, 2, 3)
    ]
    loader.stage("budget", "2025-01", budget)
    measure = {
        "id": "budget_revenue",
        "name": "B",
        "unit": "EUR",
        "kind": "base",
        "source": "budget",
        "agg": "sum",
        "column": "amount",
    }
    frame = run(spec_of([measure]), loader, contracts, month="2025-02")
    assert row(frame, "budget_revenue", "quarter")["value"] == 30
    assert row(frame, "budget_revenue", "quarter")["data_state"] == "partial"  # in progress
    ttm = row(frame, "budget_revenue", "ttm")
    assert ttm["value"] == 30
    assert ttm["data_state"] == "partial"
    assert "not covered by the budget snapshot: 2024-03..2024-12" in ttm["data_note"]
    assert math.isnan(row(frame, "budget_revenue", "month")["prior_year_value"])


def test_missing_target_is_reported_not_invented(loader, spec_of, contracts, row):
    stage(loader, {"2025-03": 10.0})
    component = {**REVENUE, "id": "component", "objective": None}
    frame = run(spec_of([REVENUE, component]), loader, contracts)
    scored = row(frame, "revenue", "month")
    assert math.isnan(scored["target"])
    assert scored["data_note"] == "no target"
    assert scored["data_state"] == "complete"
    assert pd.isna(row(frame, "component", "month")["data_note"])


def test_thresholds_in_force_follow_from_period(loader, spec_of, contracts, row):
    stage(loader, {"2025-02": 1.0, "2025-03": 1.0})
    measure = {
        **REVENUE,
        "target": {"kind": "constant", "value": 1},
        "thresholds": [
            {"basis": "relative", "green": 1.0, "amber": 0.9},
            {"basis": "absolute", "green": 5, "amber": 3, "from_period": "2025-03"},
        ],
    }
    spec = spec_of([measure])
    feb = run(spec, loader, contracts, month="2025-02")
    assert row(feb, "revenue", "month")["threshold_basis"] == "relative"
    assert row(feb, "revenue", "month")["amber_bound"] == 0.9
    # The quarter ends in March, so March's bounds apply to it already in February.
    assert row(feb, "revenue", "quarter")["threshold_basis"] == "absolute"
    mar = row(run(spec, loader, contracts), "revenue", "month")
    assert (mar["green_bound"], mar["amber_bound"], mar["threshold_basis"]) == (5, 3, "absolute")


def test_targets_file_rows_override_spec_rules(tmp_path, loader, spec_of, contracts, row):
    stage(loader, {"2025-03": 10.0})
    targets_file = tmp_path / "targets.csv"
    targets_file.write_text(
        "measure_id,period,target,target_high,green,amber\n"
        "revenue,2025-03,15,,0.95,0.8\n"
        "revenue,FY2025-Q1,40,,,\n"
    )
    spec = spec_of([{**REVENUE, "target": {"kind": "constant", "value": 12}}])
    book = TargetBook.from_spec(spec, targets_file)
    frame = run(spec, loader, contracts, targets=book)
    month = row(frame, "revenue", "month")
    assert (month["target"], month["green_bound"], month["amber_bound"]) == (15, 0.95, 0.8)
    quarter = row(frame, "revenue", "quarter")
    assert (quarter["target"], quarter["green_bound"], quarter["amber_bound"]) == (40, 1.0, 0.9)
    assert row(frame, "revenue", "fiscal_year")["target"] == 12


def test_a_broken_targets_file_lists_every_problem_with_its_line(tmp_path, spec_of):
    targets_file = tmp_path / "targets.csv"
    targets_file.write_text(
        "measure_id,period,target\nrevenue,2025-13,1\nrevnue,2025-03,1\nrevenue,FY2025,lots\n"
    )
    with pytest.raises(TargetsFileError) as caught:
        TargetBook.from_spec(spec_of([REVENUE]), targets_file)
    message = str(caught.value)
    assert "line 2, column period" in message and "'2025-13'" in message
    assert "line 3, column measure_id: unknown measure 'revnue'" in message
    assert "line 4, column target: expected a number, seen 'lots'" in message


def test_a_targets_file_without_the_target_column_is_refused(tmp_path, spec_of):
    targets_file = tmp_path / "targets.csv"
    targets_file.write_text("measure,period,value\nrevenue,2025-03,1\n")
    with pytest.raises(TargetsFileError, match=r"line 1: missing column\(s\)"):
        TargetBook.from_spec(spec_of([REVENUE]), targets_file)
