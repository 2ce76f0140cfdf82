"""Fiscal years in any month, YTD resets, partial periods and calendar-aligned comparisons."""

from __future__ import annotations

import math

import pytest

from bsc_pipeline.measures import compute_measure_values

REVENUE = {
    "id": "revenue",
    "name": "Revenue",
    "unit": "EUR",
    "kind": "base",
    "source": "sales",
    "agg": "sum",
    "column": "amount",
}


def stage_amounts(loader, amounts: dict[str, float]) -> None:
    """One sale on the 15th of each month, of the given amount."""
    for month, amount in amounts.items():
        loader.stage("sales", month, [{"id": month, "day": f"{month}-15", "amount": amount}])


def months_from(first_year: int, first_month: int, count: int) -> list[str]:
    index = first_year * 12 + first_month - 1
    return [f"{(index + i) // 12:04d}-{(index + i) % 12 + 1:02d}" for i in range(count)]


def test_fiscal_year_starting_in_april(loader, spec_of, contracts, row):
    # Amount = month number, 2024-03..2025-04: FY2025 is Apr 2024..Mar 2025.
    months = months_from(2024, 3, 14)
    stage_amounts(loader, {m: float(i + 1) for i, m in enumerate(months)})
    spec = spec_of([REVENUE], fiscal_year_start_month=4)
    frame = compute_measure_values(spec, "2025-03", loader, contracts=contracts)
    year = row(frame, "revenue", "fiscal_year")
    assert year["period"] == "FY2025"
    assert year["value"] == sum(range(2, 14))  # April (2) .. March (13); not March 2024 (1)
    assert not year["is_partial"]
    assert year["period_start"].date().isoformat() == "2024-04-01"
    assert year["period_end"].date().isoformat() == "2025-04-01"
    quarter = row(frame, "revenue", "quarter")
    assert quarter["period"] == "FY2025-Q4"
    assert quarter["value"] == 11 + 12 + 13
    assert quarter["data_state"] == "complete"


def test_fiscal_year_starting_in_july_with_a_partial_quarter(loader, spec_of, contracts, row):
    stage_amounts(loader, {"2025-06": 1000.0, "2025-07": 10.0, "2025-08": 20.0})
    spec = spec_of([REVENUE], fiscal_year_start_month=7)
    frame = compute_measure_values(spec, "2025-08", loader, contracts=contracts)
    quarter = row(frame, "revenue", "quarter")
    assert quarter["period"] == "FY2026-Q1"
    assert quarter["value"] == 30
    assert quarter["is_partial"]
    assert quarter["data_state"] == "partial"
    assert "2 of 3 months as of 2025-08" in quarter["data_note"]
    assert row(frame, "revenue", "ytd")["period"] == "FY2026-YTD"
    assert row(frame, "revenue", "ytd")["value"] == 30
    assert row(frame, "revenue", "fiscal_year")["value"] == 30


def test_ytd_resets_at_the_fiscal_year_start(loader, spec_of, contracts, row):
    stage_amounts(loader, {"2025-02": 1.0, "2025-03": 2.0, "2025-04": 4.0})
    spec = spec_of([REVENUE], fiscal_year_start_month=4)
    march = compute_measure_values(spec, "2025-03", loader, contracts=contracts)
    april = compute_measure_values(spec, "2025-04", loader, contracts=contracts)
    assert row(march, "revenue", "ytd")["period"] == "FY2025-YTD"
    assert row(march, "revenue", "ytd")["value"] == 3
    assert row(april, "revenue", "ytd")["period"] == "FY2026-YTD"
    assert row(april, "revenue", "ytd")["value"] == 4


def test_month_over_month_across_march_31_and_february_29(loader, spec_of, contracts, row):
    loader.stage(
        "sales",
        "2024-02",
        [
            {"id": "leap", "day": "2024-02-29", "amount": 29.0},
            {"id": "f1", "day": "2024-02-01", "amount": 1.0},
        ],
    )
    loader.stage("sales", "2024-03", [{"id": "m31", "day": "2024-03-31", "amount": 31.0}])
    loader.stage("sales", "2024-04", [{"id": "a1", "day": "2024-04-01", "amount": 4.0}])
    loader.stage("sales", "2025-02", [{"id": "f28", "day": "2025-02-28", "amount": 28.0}])
    spec = spec_of([REVENUE])
    april = row(
        compute_measure_values(spec, "2024-04", loader, contracts=contracts), "revenue", "month"
    )
    assert april["value"] == 4
    assert april["prior_period_value"] == 31  # March 31 is March, never April
    march = row(
        compute_measure_values(spec, "2024-03", loader, contracts=contracts), "revenue", "month"
    )
    assert march["prior_period_value"] == 30  # February 2024 includes the 29th
    feb = row(
        compute_measure_values(spec, "2025-02", loader, contracts=contracts), "revenue", "month"
    )
    assert feb["value"] == 28
    assert feb["prior_year_value"] == 30


def test_prior_year_of_a_partial_quarter_is_like_for_like(loader, spec_of, contracts, row):
    stage_amounts(
        loader,
        {
            "2024-01": 1.0,
            "2024-02": 2.0,
            "2024-03": 4.0,
            "2024-10": 8.0,
            "2024-11": 16.0,
            "2024-12": 32.0,
            "2025-01": 64.0,
            "2025-02": 128.0,
        },
    )
    frame = compute_measure_values(spec_of([REVENUE]), "2025-02", loader, contracts=contracts)
    quarter = row(frame, "revenue", "quarter")
    assert quarter["value"] == 192
    assert quarter["prior_year_value"] == 3  # Jan + Feb 2024, not the whole Q1 2024
    assert quarter["prior_period_value"] == 24  # Oct + Nov 2024
    year = row(frame, "revenue", "fiscal_year")
    assert year["prior_year_value"] == 3


def test_ttm_compares_with_the_twelve_months_a_year_earlier(loader, spec_of, contracts, row):
    months = months_from(2023, 4, 24)  # 2023-04 .. 2025-03
    stage_amounts(loader, {m: 1.0 if m < "2024-04" else 2.0 for m in months})
    frame = compute_measure_values(spec_of([REVENUE]), "2025-03", loader, contracts=contracts)
    ttm = row(frame, "revenue", "ttm")
    assert ttm["period"] == "TTM-2025-03"
    assert ttm["value"] == 24
    assert ttm["prior_year_value"] == 12
    assert ttm["prior_period_value"] == 12


def test_missing_prior_year_is_no_value_not_zero(loader, spec_of, contracts, row):
    stage_amounts(loader, {"2025-03": 5.0})
    frame = compute_measure_values(spec_of([REVENUE]), "2025-03", loader, contracts=contracts)
    assert math.isnan(row(frame, "revenue", "month")["prior_year_value"])
    assert math.isnan(row(frame, "revenue", "month")["prior_period_value"])


@pytest.mark.parametrize("start", [1, 2, 4, 7, 10, 12])
def test_quarters_and_years_cover_whole_months_for_any_start(
    loader, spec_of, contracts, row, start
):
    months = months_from(2024, 1, 24)
    stage_amounts(loader, {m: 1.0 for m in months})
    spec = spec_of([REVENUE], fiscal_year_start_month=start)
    frame = compute_measure_values(spec, "2025-06", loader, contracts=contracts)
    quarter = row(frame, "revenue", "quarter")
    elapsed = (quarter["period_start"].month - start) % 3
    assert elapsed == 0
    assert quarter["value"] == (6 - quarter["period_start"].month) % 12 + 1
    assert row(frame, "revenue", "ttm")["value"] == 12
