"""Base and ratio measures over months, quarters, fiscal years, YTD and TTM, hand-computed."""

from __future__ import annotations

import math

import pytest

from bsc_pipeline.measures import MEASURE_VALUE_COLUMNS, MeasureError, compute_measure_values

REVENUE = {
    "id": "revenue",
    "name": "Revenue",
    "unit": "EUR",
    "kind": "base",
    "source": "sales",
    "agg": "sum",
    "column": "amount",
}
ORDERS = {
    "id": "orders",
    "name": "Orders",
    "unit": "count",
    "kind": "base",
    "source": "sales",
    "agg": "count",
}
VISITS = {
    "id": "visits",
    "name": "Visits",
    "unit": "count",
    "kind": "base",
    "source": "visits",
    "agg": "sum",
    "column": "n",
}
CONVERSION = {
    "id": "conversion",
    "name": "Conversion",
    "unit": "%",
    "kind": "ratio",
    "numerator": "orders_won",
    "denominator": "visits",
    "objective": "grow",
}
ORDERS_WON = {
    "id": "orders_won",
    "name": "Won",
    "unit": "count",
    "kind": "base",
    "source": "sales",
    "agg": "sum",
    "column": "won",
}


def stage_sales(loader, month: str, amounts: list[float], won: list[float] | None = None):
    won = won or [1.0] * len(amounts)
    rows = [
        {"id": f"{month}-{i}", "day": f"{month}-15", "amount": a, "won": w}
        for i, (a, w) in enumerate(zip(amounts, won, strict=True))
    ]
    loader.stage("sales", month, rows, columns=["id", "day", "amount", "won"])


def stage_visits(loader, month: str, n: float):
    loader.stage("visits", month, [{"id": month, "day": f"{month}-02", "n": n}])


def test_output_has_the_architecture_columns_and_one_row_per_measure_and_period(
    loader, spec_of, contracts
):
    stage_sales(loader, "2025-03", [5.0])
    frame = compute_measure_values(
        spec_of([REVENUE, ORDERS]), "2025-03", loader, contracts=contracts
    )
    assert tuple(frame.columns) == MEASURE_VALUE_COLUMNS
    assert len(frame) == 2 * 5
    assert set(frame["period"]) == {"2025-03", "FY2025-Q1", "FY2025", "FY2025-YTD", "TTM-2025-03"}
    assert str(frame["period_start"].dtype) == "datetime64[ns]"


def test_quarterly_ratio_is_summed_parts_not_the_average_of_monthly_ratios(
    loader, spec_of, contracts, row
):
    # Jan 10/100 = 0.1, Feb 90/300 = 0.3, Mar 20/100 = 0.2: mean of ratios 0.2, parts 120/500.
    for month, won, visits in (("2025-01", 10, 100), ("2025-02", 90, 300), ("2025-03", 20, 100)):
        stage_sales(loader, month, [1.0] * 2, won=[won / 2, won / 2])
        stage_visits(loader, month, visits)
    spec = spec_of([ORDERS_WON, VISITS, CONVERSION])
    frame = compute_measure_values(spec, "2025-03", loader, contracts=contracts)
    quarter = row(frame, "conversion", "quarter")
    assert quarter["value"] == pytest.approx(120 / 500)
    assert quarter["value"] != pytest.approx(0.2)
    assert (quarter["numerator"], quarter["denominator"]) == (120, 500)
    assert quarter["data_state"] == "complete"
    assert row(frame, "conversion", "month")["value"] == pytest.approx(0.2)
    assert row(frame, "conversion", "month")["prior_period_value"] == pytest.approx(0.3)


def test_zero_denominator_gives_no_value(loader, spec_of, contracts, row):
    stage_sales(loader, "2025-03", [1.0], won=[4.0])
    stage_visits(loader, "2025-03", 0)
    frame = compute_measure_values(
        spec_of([ORDERS_WON, VISITS, CONVERSION]), "2025-03", loader, contracts=contracts
    )
    month = row(frame, "conversion", "month")
    assert math.isnan(month["value"])
    assert month["denominator"] == 0
    assert month["data_state"] == "no_data"
    assert "zero denominator" in month["data_note"]


def test_missing_denominator_gives_no_value(loader, spec_of, contracts, row):
    stage_sales(loader, "2025-03", [1.0], won=[4.0])
    frame = compute_measure_values(
        spec_of([ORDERS_WON, VISITS, CONVERSION]), "2025-03", loader, contracts=contracts
    )
    month = row(frame, "conversion", "month")
    assert math.isnan(month["value"]) and math.isnan(month["denominator"])
    assert month["numerator"] == 4
    assert month["data_state"] == "no_data"
    assert "no denominator" in month["data_note"]


def test_ratio_scale_and_annualise(loader, spec_of, contracts, row):
    # Jan 6 won on 100 visits, Feb 0 won on 100: Q1 as of Feb = 6 / 200 over 2 months.
    stage_sales(loader, "2025-01", [1.0], won=[6.0])
    stage_sales(loader, "2025-02", [1.0], won=[0.0])
    stage_visits(loader, "2025-01", 100)
    stage_visits(loader, "2025-02", 100)
    ratio = {**CONVERSION, "scale": 100, "annualise": True}
    frame = compute_measure_values(
        spec_of([ORDERS_WON, VISITS, ratio]), "2025-02", loader, contracts=contracts
    )
    assert row(frame, "conversion", "quarter")["value"] == pytest.approx(6 / 200 * 100 * 12 / 2)
    assert row(frame, "conversion", "month")["value"] == 0.0


def test_an_empty_staged_month_gives_no_sum_but_a_true_zero_count(loader, spec_of, contracts, row):
    loader.stage("sales", "2025-03", [], columns=["id", "day", "amount", "won"])
    frame = compute_measure_values(
        spec_of([REVENUE, ORDERS]), "2025-03", loader, contracts=contracts
    )
    revenue = row(frame, "revenue", "month")
    assert math.isnan(revenue["value"])
    assert revenue["data_state"] == "no_data"
    assert revenue["data_note"] == "no rows"
    orders = row(frame, "orders", "month")
    assert orders["value"] == 0
    assert orders["data_state"] == "complete"


def test_a_month_never_staged_gives_no_value_even_for_counts(loader, spec_of, contracts, row):
    stage_sales(loader, "2025-01", [3.0])
    frame = compute_measure_values(spec_of([ORDERS]), "2025-02", loader, contracts=contracts)
    month = row(frame, "orders", "month")
    assert math.isnan(month["value"])
    assert month["data_state"] == "no_data"
    assert "no data staged: sales 2025-02" in month["data_note"]
    quarter = row(frame, "orders", "quarter")
    assert quarter["value"] == 1
    assert quarter["data_state"] == "partial"
    assert "not staged: sales 2025-02" in quarter["data_note"]


def test_median_p90_and_distinct_counts_over_a_quarter_are_recomputed_from_rows(
    loader, spec_of, contracts, row
):
    # Monthly medians 2, 10, 150 (mean 54); the quarter's rows [1,2,3,10,100,200] have median 6.5.
    values = {"2025-01": [1.0, 2.0, 3.0], "2025-02": [10.0], "2025-03": [100.0, 200.0]}
    for month, amounts in values.items():
        stage_sales(loader, month, amounts)
    measures = [
        {**REVENUE, "id": "median_deal", "agg": "median"},
        {**REVENUE, "id": "p90_deal", "agg": "p90"},
        {**REVENUE, "id": "deal_sizes", "agg": "count_distinct"},
    ]
    frame = compute_measure_values(spec_of(measures), "2025-03", loader, contracts=contracts)
    assert row(frame, "median_deal", "quarter")["value"] == 6.5
    assert row(frame, "median_deal", "month")["value"] == 150
    # linear interpolation: position 0.9 * 5 = 4.5 between 100 and 200
    assert row(frame, "p90_deal", "quarter")["value"] == 150
    assert row(frame, "deal_sizes", "quarter")["value"] == 6


def test_distinct_count_counts_a_customer_seen_in_two_months_once(loader, spec_of, contracts, row):
    loader.stage("sales", "2025-01", [{"id": "a", "day": "2025-01-03", "customer": "c1"}])
    loader.stage(
        "sales",
        "2025-02",
        [
            {"id": "b", "day": "2025-02-03", "customer": "c1"},
            {"id": "c", "day": "2025-02-04", "customer": "c2"},
        ],
    )
    measure = {**REVENUE, "id": "customers", "agg": "count_distinct", "column": "customer"}
    frame = compute_measure_values(spec_of([measure]), "2025-02", loader, contracts=contracts)
    assert row(frame, "customers", "month")["value"] == 2
    assert row(frame, "customers", "quarter")["value"] == 2  # not 1 + 2


def test_filters_are_declarative_and_missing_values_match_only_is_null(
    loader, spec_of, contracts, row
):
    loader.stage(
        "sales",
        "2025-03",
        [
            {"id": "1", "day": "2025-03-01", "amount": 10.0, "region": "north"},
            {"id": "2", "day": "2025-03-02", "amount": 20.0, "region": "south"},
            {"id": "3", "day": "2025-03-03", "amount": 40.0, "region": None},
            {"id": "4", "day": "2025-03-04", "amount": 80.0, "region": "east"},
        ],
    )
    measures = [
        {
            **REVENUE,
            "id": "not_north",
            "filters": [{"column": "region", "op": "ne", "value": "north"}],
        },
        {
            **REVENUE,
            "id": "north_south",
            "filters": [{"column": "region", "op": "in", "values": ["north", "south"]}],
        },
        {**REVENUE, "id": "no_region", "filters": [{"column": "region", "op": "is_null"}]},
        {
            **REVENUE,
            "id": "big",
            "filters": [
                {"column": "amount", "op": "gt", "value": 15},
                {"column": "region", "op": "not_null"},
            ],
        },
    ]
    frame = compute_measure_values(spec_of(measures), "2025-03", loader, contracts=contracts)
    assert row(frame, "not_north", "month")["value"] == 100
    assert row(frame, "north_south", "month")["value"] == 30
    assert row(frame, "no_region", "month")["value"] == 40
    assert row(frame, "big", "month")["value"] == 100


def test_unknown_filter_column_is_reported_with_the_measure(loader, spec_of, contracts):
    stage_sales(loader, "2025-03", [1.0])
    measure = {**REVENUE, "filters": [{"column": "regoin", "value": "north"}]}
    with pytest.raises(MeasureError, match=r"measure revenue.*regoin"):
        compute_measure_values(spec_of([measure]), "2025-03", loader, contracts=contracts)


def test_scale_turns_credits_positive(loader, spec_of, contracts, row):
    stage_sales(loader, "2025-03", [-100.0, -20.0])
    frame = compute_measure_values(
        spec_of([{**REVENUE, "scale": -1}]), "2025-03", loader, contracts=contracts
    )
    assert row(frame, "revenue", "month")["value"] == 120


def test_a_row_in_two_incremental_files_counts_once(loader, spec_of, contracts, row):
    # Ticket t1 was created in March and updated (resolved) in April: it is in both files.
    loader.stage("tickets", "2025-03", [{"ticket_id": "t1", "created": "2025-03-30", "hours": 1.0}])
    loader.stage(
        "tickets",
        "2025-04",
        [
            {"ticket_id": "t1", "created": "2025-03-30", "hours": 5.0},
            {"ticket_id": "t2", "created": "2025-04-02", "hours": 2.0},
        ],
    )
    measures = [
        {
            "id": "tickets_opened",
            "name": "T",
            "unit": "count",
            "kind": "base",
            "source": "tickets",
            "agg": "count",
        },
        {
            "id": "hours",
            "name": "H",
            "unit": "h",
            "kind": "base",
            "source": "tickets",
            "agg": "sum",
            "column": "hours",
        },
    ]
    frame = compute_measure_values(spec_of(measures), "2025-04", loader, contracts=contracts)
    assert row(frame, "tickets_opened", "month")["value"] == 1
    assert row(frame, "tickets_opened", "month")["prior_period_value"] == 1
    assert row(frame, "tickets_opened", "ytd")["value"] == 2
    assert row(frame, "hours", "ytd")["value"] == 7  # newest version of t1 (5 h) + t2


def test_each_dataset_is_loaded_once_per_run(loader, spec_of, contracts):
    for month in ("2025-01", "2025-02", "2025-03"):
        stage_sales(loader, month, [1.0, 2.0])
        stage_visits(loader, month, 10)
    spec = spec_of([REVENUE, ORDERS, ORDERS_WON, VISITS, CONVERSION])
    compute_measure_values(spec, "2025-03", loader, contracts=contracts)
    datasets = [dataset for dataset, _ in loader.loads]
    assert sorted(datasets) == ["sales", "visits"]


def test_filter_values_are_data_never_code(loader, spec_of, contracts, row):
    loader.stage(
        "sales",
        "2025-03",
        [
            {
                "id": "1",
                "day": "2025-03-01",
                "amount": 10.0,
                "memo": "__import__('os').system('id')",
            },
            {"id": "2", "day": "2025-03-02", "amount": 20.0, "memo": "plain"},
        ],
    )
    measure = {**REVENUE, "filters": [{"column": "memo", "value": "__import__('os').system('id')"}]}
    frame = compute_measure_values(spec_of([measure]), "2025-03", loader, contracts=contracts)
    assert row(frame, "revenue", "month")["value"] == 10


def test_a_text_value_on_a_numeric_filter_column_is_refused(loader, spec_of, contracts):
    stage_sales(loader, "2025-03", [1.0])
    measure = {**REVENUE, "filters": [{"column": "amount", "op": "gt", "value": "lots"}]}
    with pytest.raises(MeasureError, match=r"measure revenue: filter on numeric column 'amount'"):
        compute_measure_values(spec_of([measure]), "2025-03", loader, contracts=contracts)


def test_summing_a_text_column_is_refused_with_the_column_named(loader, spec_of, contracts):
    loader.stage("sales", "2025-03", [{"id": "1", "day": "2025-03-01", "region": "north"}])
    measure = {**REVENUE, "column": "region"}
    with pytest.raises(MeasureError, match=r"measure revenue: agg sum needs numbers .* region"):
        compute_measure_values(spec_of([measure]), "2025-03", loader, contracts=contracts)


def test_text_filters_prefix_list_and_anchored_regex(loader, spec_of, contracts, row):
    # Credit notes are invoice numbers starting with "C"; missing values match no text test.
    loader.stage(
        "sales",
        "2025-03",
        [
            {"id": "536365", "day": "2025-03-01", "amount": 10.0, "region": "north"},
            {"id": "C536379", "day": "2025-03-02", "amount": -2.0, "region": "south"},
            {"id": "A563185", "day": "2025-03-03", "amount": 40.0, "region": None},
            {"id": "536366", "day": "2025-03-04", "amount": 80.0, "region": "north-east"},
        ],
    )
    measures = [
        {
            **REVENUE,
            "id": "sales_only",
            "filters": [{"column": "id", "op": "not_starts_with", "value": "C"}],
        },
        {
            **REVENUE,
            "id": "credits",
            "filters": [{"column": "id", "op": "starts_with", "value": "C"}],
        },
        {
            **REVENUE,
            "id": "lettered",
            "filters": [{"column": "id", "op": "starts_with", "values": ["A", "C"]}],
        },
        {
            **REVENUE,
            "id": "numeric_ids",
            "filters": [{"column": "id", "op": "matches", "value": "[0-9]{6}"}],
        },
        {
            # Anchored: "north" does not match "north-east".
            **REVENUE,
            "id": "exactly_north",
            "filters": [{"column": "region", "op": "matches", "value": "north"}],
        },
        {
            **REVENUE,
            "id": "not_north_any",
            "filters": [{"column": "region", "op": "not_matches", "value": "north.*"}],
        },
        {
            **REVENUE,
            "id": "outside_list",
            "filters": [{"column": "region", "op": "not_in", "values": ["north"]}],
        },
    ]
    frame = compute_measure_values(spec_of(measures), "2025-03", loader, contracts=contracts)
    assert row(frame, "sales_only", "month")["value"] == 130  # 10 + 40 + 80
    assert row(frame, "credits", "month")["value"] == -2
    assert row(frame, "lettered", "month")["value"] == 38
    assert row(frame, "numeric_ids", "month")["value"] == 90
    assert row(frame, "exactly_north", "month")["value"] == 10
    assert row(frame, "not_north_any", "month")["value"] == -2  # the missing region is out
    assert row(frame, "outside_list", "month")["value"] == 78


def test_an_overlong_or_broken_regex_filter_is_refused(loader, spec_of, contracts):
    stage_sales(loader, "2025-03", [1.0])
    for pattern, reason in [("a" * 201, "longer than 200"), ("(unclosed", "not valid")]:
        measure = {
            **REVENUE,
            "filters": [{"column": "id", "op": "matches", "value": pattern}],
        }
        with pytest.raises(MeasureError, match=rf"measure revenue.*{reason}"):
            compute_measure_values(spec_of([measure]), "2025-03", loader, contracts=contracts)
