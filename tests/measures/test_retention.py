"""Retention: distinct keys active in a period and the previous one, checked by hand.

Customers by month (`sales`, calendar months 2024-01..2025-04; June 2024 staged with no rows):

    2024-01 z        2024-05 a        2024-09 c          2025-01 a b e (+ g, a credit note)
    2024-02 z        2024-06 -        2024-10 a b c      2025-02 a e
    2024-03 z y      2024-07 a        2024-11 a b        2025-03 b f      (b returns)
    2024-04 y        2024-08 a c      2024-12 a d        2025-04 a f      (a returns)
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from bsc_pipeline.measures import compute_measure_values
from bsc_pipeline.measures.dependencies import columns_read

ACTIVE = {
    "2024-01": "z",
    "2024-02": "z",
    "2024-03": "zy",
    "2024-04": "y",
    "2024-05": "a",
    "2024-06": "",
    "2024-07": "a",
    "2024-08": "ac",
    "2024-09": "c",
    "2024-10": "abc",
    "2024-11": "ab",
    "2024-12": "ad",
    "2025-01": "abe",
    "2025-02": "ae",
    "2025-03": "bf",
    "2025-04": "af",
}
RETENTION = {
    "id": "retention",
    "name": "Customer retention",
    "unit": "%",
    "kind": "retention",
    "source": "sales",
    "key": "customer",
    "filters": [{"column": "amount", "op": "gt", "value": 0}],
    "scale": 100,
    "objective": "grow",
}


def stage_sales(loader: Any, through: str = "2025-04") -> None:
    for month, customers in ACTIVE.items():
        if month > through:
            break
        rows = [
            {"id": f"{month}-{c}", "day": f"{month}-15", "customer": c, "amount": 10.0}
            for c in customers
        ]
        if month == "2025-01":  # a credit note: not activity under the filter
            rows.append({"id": "cn", "day": "2025-01-20", "customer": "g", "amount": -10.0})
        frame = pd.DataFrame(rows, columns=["id", "day", "customer", "amount"])
        loader.stage("sales", month, frame.astype({"amount": float}))


def values(loader: Any, spec_of: Any, contracts: Any, month: str, fy_start: int = 1) -> Any:
    spec = spec_of([RETENTION], fiscal_year_start_month=fy_start)
    return compute_measure_values(spec, month, loader, contracts=contracts)


def figures(row: pd.Series) -> tuple[float, float, float]:
    return float(row["numerator"]), float(row["denominator"]), float(row["value"])


def test_month_retention_counts_customers_of_both_months_over_last_months(
    loader, spec_of, contracts, row
):
    stage_sales(loader)
    # January {a,b,e} (g's credit note filtered out) -> February {a,e}: a and e stay, 2 of 3.
    feb = row(values(loader, spec_of, contracts, "2025-02"), "retention", "month")
    assert figures(feb) == (2, 3, pytest.approx(200 / 3))
    assert feb["data_state"] == "complete"
    # February {a,e} -> March {b,f}: b comes back but was not there in February: 0 of 2, a 0.
    mar = row(values(loader, spec_of, contracts, "2025-03"), "retention", "month")
    assert figures(mar) == (0, 2, 0)
    assert mar["data_state"] == "complete"
    # March {b,f} -> April {a,f}: f stays; a returning after a month away is not retained.
    apr = row(values(loader, spec_of, contracts, "2025-04"), "retention", "month")
    assert figures(apr) == (1, 2, 50)
    assert apr["prior_period_value"] == 0  # March's retention


def test_quarter_and_year_compare_with_the_whole_previous_period(loader, spec_of, contracts, row):
    stage_sales(loader)
    march = values(loader, spec_of, contracts, "2025-03")
    # Q1 {a,b,e,f} against Q4 2024 {a,b,c,d}: a and b stay, 2 of 4.
    assert figures(row(march, "retention", "quarter")) == (2, 4, 50)
    # Quarter to date as of February {a,b,e} against the whole of Q4: still a and b.
    feb = values(loader, spec_of, contracts, "2025-02")
    quarter = row(feb, "retention", "quarter")
    assert figures(quarter) == (2, 4, 50)
    assert quarter["data_state"] == "partial"
    # FY2025 to April {a,b,e,f} against FY2024 {z,y,a,c,b,d}: 2 of 6; YTD is the same question.
    april = values(loader, spec_of, contracts, "2025-04")
    for period_type in ("fiscal_year", "ytd"):
        assert figures(row(april, "retention", period_type)) == (2, 6, pytest.approx(100 / 3))
    # Q2 so far {a,f} against Q1 {a,b,e,f}.
    assert figures(row(april, "retention", "quarter")) == (2, 4, 50)


def test_trailing_twelve_months_against_a_previous_year_partly_staged(
    loader, spec_of, contracts, row
):
    stage_sales(loader)
    ttm = row(values(loader, spec_of, contracts, "2025-04"), "retention", "ttm")
    # 2024-05..2025-04 {a,c,b,d,e,f} against 2023-05..2024-04, of which only 2024 is staged {z,y}.
    assert figures(ttm) == (0, 2, 0)
    assert ttm["data_state"] == "partial"
    assert "not staged: sales 2023-05..2023-12" in ttm["data_note"]


def test_a_fiscal_year_starting_in_april(loader, spec_of, contracts, row):
    stage_sales(loader)
    april = values(loader, spec_of, contracts, "2025-04", fy_start=4)
    # FY2026 begins in April 2025 {a,f}; Q1 of it against Jan..Mar 2025 {a,b,e,f}: 2 of 4.
    assert figures(row(april, "retention", "quarter")) == (2, 4, 50)
    # Against FY2025 = 2024-04..2025-03 {y,a,c,b,d,e,f}: a and f, 2 of 7.
    for period_type in ("fiscal_year", "ytd"):
        assert figures(row(april, "retention", period_type)) == (2, 7, pytest.approx(200 / 7))


def test_no_customer_in_the_previous_period_is_no_value(loader, spec_of, contracts, row):
    stage_sales(loader, through="2024-07")
    july = row(values(loader, spec_of, contracts, "2024-07"), "retention", "month")
    # June was delivered with no rows: nobody to retain, so no value (not 0, not 100 %).
    assert math.isnan(july["value"])
    assert july["denominator"] == 0
    assert july["data_state"] == "no_data"
    assert "zero denominator" in july["data_note"]


def test_previous_month_not_staged_is_no_data_and_a_held_one_holds(loader, spec_of, contracts, row):
    loader.stage("sales", "2025-02", [{"id": 1, "day": "2025-02-03", "customer": "a", "amount": 1}])
    feb = row(values(loader, spec_of, contracts, "2025-02"), "retention", "month")
    assert feb["data_state"] == "no_data"
    assert feb["data_note"].startswith("no data staged: sales 2025-01")
    loader.stage("sales", "2025-01", [{"id": 2, "day": "2025-01-03", "customer": "a", "amount": 1}])
    loader.fail("sales", "2025-01")
    held = row(values(loader, spec_of, contracts, "2025-02"), "retention", "month")
    assert held["data_state"] == "held"
    assert "gate failed: sales 2025-01" in held["data_note"]


def test_the_key_and_filter_columns_are_read_from_the_lake(spec_of, contracts):
    assert columns_read(spec_of([RETENTION]), contracts)["sales"] == ["amount", "customer", "day"]
