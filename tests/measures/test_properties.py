"""Property tests on random data: additive measures add up, ratios are their recomputed parts."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bsc_pipeline.measures import compute_measure_values
from bsc_pipeline.periods import FiscalCalendar, Month

MEASURES = [
    {
        "id": "amount",
        "name": "A",
        "unit": "EUR",
        "kind": "base",
        "source": "sales",
        "agg": "sum",
        "column": "amount",
    },
    {
        "id": "orders",
        "name": "O",
        "unit": "count",
        "kind": "base",
        "source": "sales",
        "agg": "count",
    },
    {
        "id": "visits",
        "name": "V",
        "unit": "count",
        "kind": "base",
        "source": "sales",
        "agg": "sum",
        "column": "visits",
    },
    {
        "id": "per_visit",
        "name": "R",
        "unit": "EUR",
        "kind": "ratio",
        "numerator": "amount",
        "denominator": "visits",
    },
]
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

money = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2))
month_rows = st.lists(
    st.tuples(
        money, st.integers(min_value=0, max_value=50), st.integers(min_value=1, max_value=28)
    ),
    max_size=6,
)


def staged_loader(loader_class, year_months: list[Month], rows_by_month):
    loader = loader_class()
    for month, rows in zip(year_months, rows_by_month, strict=True):
        if rows is None:
            continue
        loader.stage(
            "sales",
            str(month),
            [
                {"id": f"{month}-{i}", "day": f"{month}-{day:02d}", "amount": amount, "visits": v}
                for i, (amount, v, day) in enumerate(rows)
            ],
            columns=["id", "day", "amount", "visits"],
        )
    return loader


def value_of(frame, measure_id: str, period_type: str) -> float:
    hit = frame[(frame["measure_id"] == measure_id) & (frame["period_type"] == period_type)]
    return float(hit["value"].iloc[0])


def total(values: list[float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    return math.fsum(present) if present else math.nan


@SETTINGS
@given(
    start=st.integers(min_value=1, max_value=12),
    rows_by_month=st.lists(st.one_of(st.none(), month_rows), min_size=12, max_size=12),
)
def test_additive_measures_sum_from_months_to_quarters_and_years(
    loader_class, spec_of, contracts, start, rows_by_month
):
    calendar = FiscalCalendar(start)
    first = calendar.year_start(Month(2025, 6))
    months = [first.shift(i) for i in range(12)]
    loader = staged_loader(loader_class, months, rows_by_month)
    spec = spec_of(MEASURES, fiscal_year_start_month=start)
    monthly = {m: compute_measure_values(spec, str(m), loader, contracts=contracts) for m in months}
    year_end = monthly[months[-1]]
    for measure_id in ("amount", "orders"):
        by_month = [value_of(monthly[m], measure_id, "month") for m in months]
        assert value_of(year_end, measure_id, "fiscal_year") == pytest.approx(
            total(by_month), nan_ok=True, abs=1e-6
        )
        assert value_of(year_end, measure_id, "quarter") == pytest.approx(
            total(by_month[9:]), nan_ok=True, abs=1e-6
        )
        q2_end = monthly[months[5]]
        assert value_of(q2_end, measure_id, "quarter") == pytest.approx(
            total(by_month[3:6]), nan_ok=True, abs=1e-6
        )
        assert value_of(q2_end, measure_id, "ytd") == pytest.approx(
            total(by_month[:6]), nan_ok=True, abs=1e-6
        )


@SETTINGS
@given(rows_by_month=st.lists(st.one_of(st.none(), month_rows), min_size=3, max_size=3))
def test_a_quarters_ratio_is_the_sum_of_its_parts_recomputed_from_rows(
    loader_class, spec_of, contracts, rows_by_month
):
    months = [Month(2025, 1), Month(2025, 2), Month(2025, 3)]
    loader = staged_loader(loader_class, months, rows_by_month)
    frame = compute_measure_values(spec_of(MEASURES), "2025-03", loader, contracts=contracts)
    hit = frame[(frame["measure_id"] == "per_visit") & (frame["period_type"] == "quarter")]
    quarter = hit.iloc[0]
    rows = [r for month_rows in rows_by_month if month_rows for r in month_rows]
    amount = math.fsum(a for a, _, _ in rows) if rows else math.nan
    visits = float(sum(v for _, v, _ in rows)) if rows else math.nan
    assert quarter["numerator"] == pytest.approx(amount, nan_ok=True, abs=1e-6)
    assert quarter["denominator"] == pytest.approx(visits, nan_ok=True)
    if rows and visits != 0:
        assert quarter["value"] == pytest.approx(amount / visits, rel=1e-9, abs=1e-9)
    else:
        assert math.isnan(quarter["value"])
        assert quarter["data_state"] == "no_data"
