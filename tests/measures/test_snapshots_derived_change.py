"""Semi-additive snapshots, derived formulas, changes and how data states propagate."""

from __future__ import annotations

import math

import pytest

from bsc_pipeline.measures import MeasureError, compute_measure_values

HEADCOUNT = {
    "id": "headcount",
    "name": "Headcount",
    "unit": "count",
    "kind": "snapshot",
    "source": "staff",
    "agg": "count",
    "active_from": "hired",
    "active_to": "left",
    "objective": "grow",
}
REVENUE = {
    "id": "revenue",
    "name": "Revenue",
    "unit": "EUR",
    "kind": "base",
    "source": "sales",
    "agg": "sum",
    "column": "amount",
}
COST = {
    "id": "cost",
    "name": "Cost",
    "unit": "EUR",
    "kind": "base",
    "source": "sales",
    "agg": "sum",
    "column": "cost",
}

STAFF = [
    {"employee_id": "A", "hired": "2020-01-01", "left": None},
    {"employee_id": "B", "hired": "2021-06-01", "left": "2025-03-15"},  # leaves in March
    {"employee_id": "C", "hired": "2024-11-01", "left": None},
    {"employee_id": "D", "hired": "2025-02-10", "left": None},  # joins in February
    {"employee_id": "E", "hired": "2025-04-01", "left": None},  # future hire, not yet active
    {"employee_id": "F", "hired": "2022-01-01", "left": "2025-01-31"},  # last day is Jan 31
]


def stage_staff(loader, months: list[str], rows=STAFF) -> None:
    for month in months:
        loader.stage("staff", month, [dict(r) for r in rows])


def test_headcount_for_a_quarter_is_the_last_months(loader, spec_of, contracts, row):
    # Month ends: Jan 31 A,B,C,F? F left on Jan 31, so not counted -> 3; Feb A,B,C,D = 4;
    # Mar A,C,D = 3.
    stage_staff(loader, ["2025-01", "2025-02", "2025-03"])
    frame = compute_measure_values(spec_of([HEADCOUNT]), "2025-03", loader, contracts=contracts)
    assert row(frame, "headcount", "month")["value"] == 3
    assert row(frame, "headcount", "month")["prior_period_value"] == 4
    quarter = row(frame, "headcount", "quarter")
    assert quarter["value"] == 3
    assert quarter["data_state"] == "complete"
    january = compute_measure_values(spec_of([HEADCOUNT]), "2025-01", loader, contracts=contracts)
    assert row(january, "headcount", "month")["value"] == 3


def test_mean_of_month_ends(loader, spec_of, contracts, row):
    stage_staff(loader, ["2025-01", "2025-02", "2025-03"])
    measure = {**HEADCOUNT, "rollup": "mean_of_month_ends"}
    frame = compute_measure_values(spec_of([measure]), "2025-03", loader, contracts=contracts)
    assert row(frame, "headcount", "quarter")["value"] == pytest.approx((3 + 4 + 3) / 3)


def test_an_entity_missing_from_the_last_months_snapshot_is_not_counted(
    loader, spec_of, contracts, row
):
    stage_staff(loader, ["2025-01", "2025-02"])
    without_c = [r for r in STAFF if r["employee_id"] != "C"]
    stage_staff(loader, ["2025-03"], rows=without_c)
    frame = compute_measure_values(spec_of([HEADCOUNT]), "2025-03", loader, contracts=contracts)
    assert row(frame, "headcount", "quarter")["value"] == 2  # A, D: C dropped out in March


def test_a_quarter_whose_last_month_is_missing_takes_the_last_month_with_data(
    loader, spec_of, contracts, row
):
    stage_staff(loader, ["2024-12", "2025-01", "2025-02"])
    frame = compute_measure_values(spec_of([HEADCOUNT]), "2025-03", loader, contracts=contracts)
    assert math.isnan(row(frame, "headcount", "month")["value"])
    assert row(frame, "headcount", "month")["data_state"] == "no_data"
    quarter = row(frame, "headcount", "quarter")
    assert quarter["value"] == 4  # end of February
    assert quarter["data_state"] == "partial"
    assert "not staged: staff 2025-03" in quarter["data_note"]
    assert "end of 2025-02" in quarter["data_note"]


def test_snapshot_sum_with_a_filter(loader, spec_of, contracts, row):
    rows = [
        {
            **r,
            "fte": 0.5 if r["employee_id"] == "A" else 1.0,
            "dept": "ops" if r["employee_id"] in ("A", "C") else "sales",
        }
        for r in STAFF
    ]
    stage_staff(loader, ["2025-03"], rows=rows)
    measure = {
        **HEADCOUNT,
        "id": "ops_fte",
        "agg": "sum",
        "column": "fte",
        "filters": [{"column": "dept", "value": "ops"}],
    }
    frame = compute_measure_values(spec_of([measure]), "2025-03", loader, contracts=contracts)
    assert row(frame, "ops_fte", "month")["value"] == 1.5


def stage_sales(loader, month: str, amount: float, cost: float) -> None:
    loader.stage(
        "sales", month, [{"id": month, "day": f"{month}-10", "amount": amount, "cost": cost}]
    )


def test_derived_measure_uses_the_same_periods_values(loader, spec_of, contracts, row):
    stage_sales(loader, "2025-01", 100.0, 60.0)
    stage_sales(loader, "2025-02", 300.0, 120.0)
    margin = {
        "id": "margin_pct",
        "name": "Margin",
        "unit": "%",
        "kind": "derived",
        "formula": "(revenue - cost) / revenue * 100",
        "objective": "grow",
    }
    frame = compute_measure_values(
        spec_of([REVENUE, COST, margin]), "2025-02", loader, contracts=contracts
    )
    assert row(frame, "margin_pct", "month")["value"] == pytest.approx(60.0)
    assert row(frame, "margin_pct", "quarter")["value"] == pytest.approx(220 / 400 * 100)
    assert row(frame, "margin_pct", "month")["prior_period_value"] == pytest.approx(40.0)


def test_derived_measure_division_by_zero_gives_no_value(loader, spec_of, contracts, row):
    stage_sales(loader, "2025-01", 0.0, 5.0)
    derived = {
        "id": "cost_share",
        "name": "Cost share",
        "unit": "%",
        "kind": "derived",
        "formula": "cost / revenue",
    }
    frame = compute_measure_values(
        spec_of([REVENUE, COST, derived]), "2025-01", loader, contracts=contracts
    )
    month = row(frame, "cost_share", "month")
    assert math.isnan(month["value"])
    assert month["data_state"] == "no_data"
    assert "division by zero" in month["data_note"]


def test_change_vs_prior_year_in_percent_and_absolute(loader, spec_of, contracts, row):
    stage_sales(loader, "2024-03", 200.0, 0.0)
    stage_sales(loader, "2025-02", 50.0, 0.0)
    stage_sales(loader, "2025-03", 250.0, 0.0)
    measures = [
        REVENUE,
        {"id": "revenue_yoy", "name": "YoY", "unit": "%", "kind": "change", "of": "revenue"},
        {
            "id": "revenue_mom",
            "name": "MoM",
            "unit": "EUR",
            "kind": "change",
            "of": "revenue",
            "versus": "prior_period",
            "change_as": "absolute",
        },
    ]
    frame = compute_measure_values(spec_of(measures), "2025-03", loader, contracts=contracts)
    assert row(frame, "revenue_yoy", "month")["value"] == pytest.approx(25.0)
    assert row(frame, "revenue_mom", "month")["value"] == pytest.approx(200.0)
    # February's own change needs January, which was never staged.
    assert math.isnan(row(frame, "revenue_mom", "month")["prior_period_value"])
    # Q1 2024 has only March staged: a base that is not whole gives no change at all.
    quarter = row(frame, "revenue_yoy", "quarter")
    assert math.isnan(quarter["value"])
    assert "prior year value of revenue (FY2024-Q1) is incomplete" in quarter["data_note"]
    assert "not staged: sales 2024-01..2024-02" in quarter["data_note"]
    assert math.isnan(row(frame, "revenue", "quarter")["prior_year_value"])


def test_change_over_a_quarter_is_of_the_quarters_not_summed_from_months(
    loader, spec_of, contracts, row
):
    for month, amount in (
        ("2024-01", 40.0),
        ("2024-02", 60.0),
        ("2024-03", 200.0),
        ("2025-01", 100.0),
        ("2025-02", 50.0),
        ("2025-03", 250.0),
    ):
        stage_sales(loader, month, amount, 0.0)
    change = {"id": "revenue_yoy", "name": "YoY", "unit": "%", "kind": "change", "of": "revenue"}
    frame = compute_measure_values(
        spec_of([REVENUE, change]), "2025-03", loader, contracts=contracts
    )
    # Q1 2025 = 400 vs Q1 2024 = 300: +33.3 %; the monthly changes were +150 %, -17 %, +25 %.
    assert row(frame, "revenue_yoy", "quarter")["value"] == pytest.approx(100 / 3)
    assert row(frame, "revenue", "quarter")["prior_year_value"] == 300


def test_change_without_a_base_or_with_a_zero_base_has_no_value(loader, spec_of, contracts, row):
    stage_sales(loader, "2025-02", 0.0, 0.0)
    stage_sales(loader, "2025-03", 250.0, 0.0)
    measures = [
        REVENUE,
        {"id": "revenue_yoy", "name": "YoY", "unit": "%", "kind": "change", "of": "revenue"},
        {
            "id": "revenue_mom",
            "name": "MoM",
            "unit": "%",
            "kind": "change",
            "of": "revenue",
            "versus": "prior_period",
        },
    ]
    frame = compute_measure_values(spec_of(measures), "2025-03", loader, contracts=contracts)
    yoy = row(frame, "revenue_yoy", "month")
    assert math.isnan(yoy["value"]) and yoy["data_state"] == "no_data"
    assert "no prior year value of revenue (2024-03)" in yoy["data_note"]
    mom = row(frame, "revenue_mom", "month")
    assert math.isnan(mom["value"])
    assert "zero base" in mom["data_note"]


def test_a_failed_gate_holds_every_period_and_measure_that_reads_that_month(
    loader, spec_of, contracts, row
):
    for month in ("2025-01", "2025-02", "2025-03"):
        stage_sales(loader, month, 100.0, 10.0)
        stage_staff(loader, [month])
    loader.fail("sales", "2025-02", "amount: 12 values not numbers")
    margin = {
        "id": "margin",
        "name": "M",
        "unit": "EUR",
        "kind": "derived",
        "formula": "revenue - cost",
    }
    frame = compute_measure_values(
        spec_of([REVENUE, COST, margin, HEADCOUNT]), "2025-03", loader, contracts=contracts
    )
    assert row(frame, "revenue", "month")["data_state"] == "complete"
    quarter = row(frame, "margin", "quarter")
    assert quarter["data_state"] == "held"
    assert quarter["data_note"] == "gate failed: sales 2025-02: amount: 12 values not numbers"
    assert quarter["value"] == 270  # still computed; scoring shows it as held
    assert row(frame, "revenue", "ytd")["data_state"] == "held"
    assert row(frame, "headcount", "quarter")["data_state"] == "complete"


def test_a_formula_cycle_is_refused_before_any_data_is_read(loader, spec_of, contracts):
    cycle = [
        {"id": "a", "name": "A", "unit": "x", "kind": "derived", "formula": "b + 1"},
        {"id": "b", "name": "B", "unit": "x", "kind": "derived", "formula": "a * 2"},
    ]
    with pytest.raises(MeasureError, match="cycle"):
        compute_measure_values(spec_of(cycle), "2025-03", loader, contracts=contracts)
    assert loader.loads == []


def test_a_base_measure_on_a_dataset_without_a_month_column_needs_date_column(
    loader, spec_of, contracts
):
    stage_staff(loader, ["2025-03"])
    hires = {
        "id": "hires",
        "name": "Hires",
        "unit": "count",
        "kind": "base",
        "source": "staff",
        "agg": "count",
    }
    with pytest.raises(MeasureError, match="set date_column"):
        compute_measure_values(spec_of([hires]), "2025-03", loader, contracts=contracts)


def test_hires_counted_from_the_snapshot_by_hire_date(loader, spec_of, contracts, row):
    stage_staff(loader, ["2025-03"])
    hires = {
        "id": "hires",
        "name": "Hires",
        "unit": "count",
        "kind": "base",
        "source": "staff",
        "agg": "count",
        "date_column": "hired",
    }
    frame = compute_measure_values(spec_of([hires]), "2025-03", loader, contracts=contracts)
    assert row(frame, "hires", "quarter")["value"] == 1  # D in February
    assert row(frame, "hires", "ttm")["value"] == 2  # C (Nov 2024) and D
