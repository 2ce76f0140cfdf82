"""Months before a source started have no data by nature (`not_started`), and a count over an
undated snapshot with no row in the month is 0, not no data."""

from __future__ import annotations

import math

from bsc_pipeline.measures import compute_measure_values

SALES = {
    "id": "sales_count",
    "name": "Sales",
    "unit": "count",
    "kind": "base",
    "source": "sales",
    "agg": "count",
    "objective": "grow",
}
VISITS = {"id": "visits", "name": "Visits", "unit": "count", "kind": "base"}
VISITS |= {"source": "visits", "agg": "count"}
CONVERSION = {
    "id": "conversion",
    "name": "Conversion",
    "unit": "%",
    "kind": "ratio",
    "numerator": "sales_count",
    "denominator": "visits",
    "scale": 100,
    "objective": "grow",
}
LEAVERS = {
    "id": "leavers",
    "name": "Leavers",
    "unit": "count",
    "kind": "base",
    "source": "staff",
    "agg": "count",
    "date_column": "left",
    "objective": "grow",
}


def stage_months(loader, dataset: str, months: list[str], per_month: int = 2) -> None:
    for month in months:
        rows = [{"id": f"{month}-{i}", "day": f"{month}-10"} for i in range(per_month)]
        loader.stage(dataset, month, rows)


def test_months_before_the_start_are_not_started_not_missing(loader, spec_of, contracts, row):
    loader.starts["sales"] = "2025-01"
    stage_months(loader, "sales", ["2025-01", "2025-02"])
    december = compute_measure_values(spec_of([SALES]), "2024-12", loader, contracts=contracts)
    month = row(december, "sales_count", "month")
    assert math.isnan(month["value"])
    assert month["data_state"] == "not_started"
    assert month["data_note"].startswith("source not started: sales starts 2025-01")

    february = compute_measure_values(spec_of([SALES]), "2025-02", loader, contracts=contracts)
    assert row(february, "sales_count", "month")["data_state"] == "complete"
    ttm = row(february, "sales_count", "ttm")
    assert (ttm["value"], ttm["data_state"]) == (4, "partial")
    assert "not started: sales 2024-03..2024-12" in ttm["data_note"]
    assert "not staged" not in ttm["data_note"]


def test_a_missing_month_after_the_start_is_still_no_data(loader, spec_of, contracts, row):
    loader.starts["sales"] = "2025-01"
    stage_months(loader, "sales", ["2025-01"])
    february = compute_measure_values(spec_of([SALES]), "2025-02", loader, contracts=contracts)
    month = row(february, "sales_count", "month")
    assert month["data_state"] == "no_data"
    assert month["data_note"].startswith("no data staged: sales 2025-02")


def test_a_ratio_whose_part_has_not_started_is_not_started(loader, spec_of, contracts, row):
    loader.starts["visits"] = "2025-03"
    stage_months(loader, "sales", ["2025-02"])
    spec = spec_of([SALES, VISITS, CONVERSION])
    values = compute_measure_values(spec, "2025-02", loader, contracts=contracts)
    conversion = row(values, "conversion", "month")
    assert conversion["data_state"] == "not_started"
    assert "source not started: visits starts 2025-03" in conversion["data_note"]


def test_leavers_count_zero_in_months_before_the_first_termination(loader, spec_of, contracts, row):
    staff = [
        {"employee_id": "A", "hired": "2020-01-01", "left": None},
        {"employee_id": "B", "hired": "2021-06-01", "left": "2025-03-15"},
    ]
    loader.stage("staff", "2025-01", staff)
    spec = spec_of([LEAVERS])
    january = compute_measure_values(spec, "2025-01", loader, contracts=contracts)
    month = row(january, "leavers", "month")
    assert (month["value"], month["data_state"]) == (0, "complete")
    assert row(january, "leavers", "ttm")["value"] == 0
    march = compute_measure_values(spec, "2025-03", loader, contracts=contracts)
    assert row(march, "leavers", "month")["value"] == 1
    assert row(march, "leavers", "quarter")["value"] == 1
    # Before any snapshot was delivered there is no data, not 0.
    december = compute_measure_values(spec, "2024-12", loader, contracts=contracts)
    assert row(december, "leavers", "month")["data_state"] == "no_data"
