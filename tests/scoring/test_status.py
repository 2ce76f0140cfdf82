"""Status, score, variance and trend of single measure rows, each case computed by hand.

Scores: 10/3 at the amber bound, 20/3 at the green bound, linear in between and beyond,
capped to [0, 10]. For ranges: 10 at the middle, 20/3 at the edges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsc_pipeline.scoring import ScoringError, score_measures

GOAL = 20 / 3
RED_FLAG = 10 / 3


def _score_one(make_spec, make_values, measure: dict, **row) -> pd.Series:
    spec = make_spec({"m": measure})
    return score_measures(spec, make_values({"measure_id": "m", **row})).iloc[0]


@pytest.mark.parametrize(
    ("value", "status", "score"),
    [
        (120.0, "green", 10.0),  # 6.67 + 2 × 3.33 = 13.3, capped at 10
        (110.0, "green", 10.0),  # one band width above the goal
        (105.0, "green", GOAL + 0.5 * RED_FLAG),
        (100.0, "green", GOAL),
        (95.0, "amber", 5.0),
        (90.0, "amber", RED_FLAG),  # 0.9 × 100 is 90.00000000000001 in floats: still amber
        (85.0, "red", RED_FLAG / 2),
        (70.0, "red", 0.0),  # 3.33 − 2 × 3.33 < 0, capped at 0
    ],
)
def test_higher_relative(make_spec, make_values, value, status, score):
    row = _score_one(make_spec, make_values, {}, value=value, target=100.0)
    assert row["status"] == status
    assert row["score"] == pytest.approx(score)


@pytest.mark.parametrize(
    ("value", "status", "score"),
    [
        (45.0, "green", GOAL + 0.5 * RED_FLAG),  # 5 below the goal of 50, band width 10
        (50.0, "green", GOAL),
        (55.0, "amber", 5.0),
        (60.0, "amber", RED_FLAG),
        (65.0, "red", RED_FLAG / 2),
    ],
)
def test_lower_relative(make_spec, make_values, value, status, score):
    row = _score_one(
        make_spec,
        make_values,
        {"direction": "lower"},
        value=value,
        target=50.0,
        green_bound=1.0,
        amber_bound=1.2,
    )
    assert row["status"] == status
    assert row["score"] == pytest.approx(score)


@pytest.mark.parametrize(
    ("value", "status", "score"),
    [
        (42.0, "green", GOAL + 0.2 * RED_FLAG),
        (35.0, "amber", 5.0),
        (30.0, "amber", RED_FLAG),
        (29.0, "red", RED_FLAG - 0.1 * RED_FLAG),
    ],
)
def test_higher_absolute_bounds_are_in_the_unit(make_spec, make_values, value, status, score):
    row = _score_one(
        make_spec,
        make_values,
        {},
        value=value,
        target=45.0,
        green_bound=40.0,
        amber_bound=30.0,
        threshold_basis="absolute",
    )
    assert row["status"] == status
    assert row["score"] == pytest.approx(score)


@pytest.mark.parametrize(
    ("value", "status", "score"),
    [
        (1.0, "green", GOAL + RED_FLAG / 3),  # 1 day under the goal of 2, band width 3
        (3.5, "amber", 5.0),
        (6.0, "red", RED_FLAG - RED_FLAG / 3),
    ],
)
def test_lower_absolute(make_spec, make_values, value, status, score):
    row = _score_one(
        make_spec,
        make_values,
        {"direction": "lower", "unit": "days"},
        value=value,
        target=2.0,
        green_bound=2.0,
        amber_bound=5.0,
        threshold_basis="absolute",
    )
    assert row["status"] == status
    assert row["score"] == pytest.approx(score)


@pytest.mark.parametrize(
    ("value", "status", "score", "variance", "variance_pct"),
    [
        (50.0, "green", 10.0, 0.0, 0.0),  # the middle
        (55.0, "green", GOAL + RED_FLAG / 2, 0.0, 0.0),  # halfway from middle to edge
        (60.0, "green", GOAL, 0.0, 0.0),  # the edge
        (62.5, "amber", 5.0, 2.5, 2.5 / 60 * 100),  # widening = 0.1 × midpoint 50 = 5
        (65.0, "amber", RED_FLAG, 5.0, 5 / 60 * 100),
        (37.0, "amber", GOAL - 0.6 * RED_FLAG, -3.0, -7.5),
        (70.0, "red", 0.0, 10.0, 10 / 60 * 100),
    ],
)
def test_range_relative(make_spec, make_values, value, status, score, variance, variance_pct):
    row = _score_one(
        make_spec,
        make_values,
        {"direction": "range", "unit": "%"},
        value=value,
        target=40.0,
        target_high=60.0,
        green_bound=np.nan,
        amber_bound=0.1,
    )
    assert row["status"] == status
    assert row["score"] == pytest.approx(score)
    assert row["variance"] == pytest.approx(variance)
    assert row["variance_pct"] == pytest.approx(variance_pct)


def test_range_absolute_widening_is_in_the_unit(make_spec, make_values):
    row = _score_one(
        make_spec,
        make_values,
        {"direction": "range"},
        value=1.08,
        target=0.95,
        target_high=1.05,
        amber_bound=0.05,
        threshold_basis="absolute",
    )
    assert row["status"] == "amber"
    assert row["score"] == pytest.approx(GOAL - 0.6 * RED_FLAG)


def test_negative_target_keeps_green_above_amber(make_spec, make_values):
    """Target −100 (a planned loss): green from −100, amber from −110, not −90."""
    spec = make_spec({"m": {}})
    rows = score_measures(
        spec,
        make_values(
            {"measure_id": "m", "value": -95.0, "target": -100.0},
            {"measure_id": "m", "value": -105.0, "target": -100.0},
            {"measure_id": "m", "value": -115.0, "target": -100.0},
        ),
    )
    assert rows["status"].tolist() == ["green", "amber", "red"]
    assert rows["score"].tolist() == pytest.approx([GOAL + RED_FLAG / 2, 5.0, RED_FLAG / 2])


def test_empty_amber_band_scores_as_a_step(make_spec, make_values):
    spec = make_spec({"m": {}})
    rows = score_measures(
        spec,
        make_values(
            *(
                {"measure_id": "m", "value": v, "target": 100.0, "amber_bound": 1.0}
                for v in (120.0, 100.0, 99.0)
            )
        ),
    )
    assert rows["status"].tolist() == ["green", "green", "red"]
    assert rows["score"].tolist() == pytest.approx([GOAL, GOAL, 0.0])


def test_thresholds_in_force_per_period(make_spec, make_values):
    """The same 105 against a target of 100 is green in February and amber once bounds rise."""
    spec = make_spec({"m": {}})
    rows = score_measures(
        spec,
        make_values(
            {"measure_id": "m", "period": "2025-02", "value": 105.0, "target": 100.0},
            {
                "measure_id": "m",
                "period": "2025-03",
                "value": 105.0,
                "target": 100.0,
                "green_bound": 1.1,
                "amber_bound": 1.0,
            },
        ),
    )
    assert rows["status"].tolist() == ["green", "amber"]
    assert rows["score"].iloc[1] == pytest.approx(5.0)


def test_held_and_no_data_are_never_green(make_spec, make_values):
    spec = make_spec({"m": {}})
    rows = score_measures(
        spec,
        make_values(
            {"measure_id": "m", "value": 200.0, "target": 100.0, "data_state": "held"},
            {"measure_id": "m", "value": np.nan, "target": 100.0, "data_state": "no_data"},
            {"measure_id": "m", "value": 200.0, "target": np.nan},
            {"measure_id": "m", "value": 200.0, "target": 100.0, "threshold_basis": None},
            {"measure_id": "m", "value": 200.0, "target": 100.0, "green_bound": np.nan},
            {"measure_id": "m", "value": np.nan, "target": 100.0, "data_state": "complete"},
        ),
    )
    assert rows["status"].tolist() == [
        "held",
        "no_data",
        "no_data",
        "no_data",
        "no_data",
        "no_data",
    ]
    assert rows["score"].isna().all()


def test_range_without_high_end_is_no_data(make_spec, make_values):
    """A range needs both ends; its green_bound is unused, so NaN there is fine."""
    spec = make_spec({"m": {"direction": "range"}})
    row = score_measures(
        spec,
        make_values(
            {
                "measure_id": "m",
                "value": 50.0,
                "target": 40.0,
                "target_high": np.nan,
                "amber_bound": 0.1,
            }
        ),
    ).iloc[0]
    assert row["status"] == "no_data"
    assert np.isnan(row["variance"])


def test_component_rows_are_dropped(make_spec, make_values):
    spec = make_spec({"m": {}, "part": {"objective": None}})
    rows = score_measures(
        spec,
        make_values(
            {"measure_id": "part", "value": 5.0, "target": 4.0},
            {"measure_id": "m", "value": 100.0, "target": 100.0},
        ),
    )
    assert rows["measure_id"].tolist() == ["m"]
    assert rows.index.tolist() == [1]
    assert rows["status"].tolist() == ["green"]


def test_variance_and_variance_pct(make_spec, make_values):
    spec = make_spec({"m": {}})
    rows = score_measures(
        spec,
        make_values(
            {"measure_id": "m", "value": 90.0, "target": 120.0},
            {"measure_id": "m", "value": -30.0, "target": -20.0},
            {"measure_id": "m", "value": 5.0, "target": 0.0},
        ),
    )
    assert rows["variance"].tolist() == pytest.approx([-30.0, -10.0, 5.0])
    assert rows["variance_pct"].iloc[0] == pytest.approx(-25.0)
    assert rows["variance_pct"].iloc[1] == pytest.approx(-50.0)  # divided by |target|
    assert np.isnan(rows["variance_pct"].iloc[2])


def test_trend_against_prior_period(make_spec, make_values):
    spec = make_spec({"m": {}})
    priors = [(100.4, 100.0), (101.0, 100.0), (99.0, 100.0), (5.0, np.nan), (0.0, 0.0)]
    rows = score_measures(
        spec,
        make_values(
            *(
                {"measure_id": "m", "value": v, "target": 100.0, "prior_period_value": p}
                for v, p in priors
            )
        ),
    )
    assert rows["trend"].tolist()[:3] == ["flat", "up", "down"]
    assert pd.isna(rows["trend"].iloc[3])
    assert rows["trend"].iloc[4] == "flat"


def test_quarterly_measures_are_official_only_at_quarter_close(make_spec, make_values):
    spec = make_spec({"q": {"review": "quarterly"}, "mo": {}}, fiscal_year_start_month=4)
    base = {"value": 1.0, "target": 1.0}
    rows = score_measures(
        spec,
        make_values(
            {"measure_id": "q", "period": "2025-06", **base},
            {
                "measure_id": "q",
                "period_type": "quarter",
                "period": "FY2026-Q1",
                "period_end": "2025-07-01",
                "as_of_month": "2025-05",
                "is_partial": True,
                **base,
            },
            {
                "measure_id": "q",
                "period_type": "quarter",
                "period": "FY2026-Q1",
                "period_end": "2025-07-01",
                "as_of_month": "2025-06",
                **base,
            },
            {
                "measure_id": "q",
                "period_type": "ytd",
                "period": "FY2026-YTD",
                "period_end": "2025-06-01",
                "as_of_month": "2025-05",
                **base,
            },
            {
                "measure_id": "q",
                "period_type": "ytd",
                "period": "FY2026-YTD",
                "period_end": "2025-07-01",
                "as_of_month": "2025-06",
                **base,
            },
            {"measure_id": "mo", "period": "2025-05", **base},
            {
                "measure_id": "mo",
                "period_type": "quarter",
                "period": "FY2026-Q1",
                "period_end": "2025-07-01",
                "as_of_month": "2025-05",
                "is_partial": True,
                **base,
            },
        ),
    )
    assert rows["is_official"].tolist() == [False, False, True, False, True, True, True]
    assert rows["status"].iloc[1] == "green"  # quarter-to-date state still shown


def test_unknown_basis_is_an_error_naming_the_row(make_spec, make_values):
    spec = make_spec({"m": {}})
    values = make_values({"measure_id": "m", "value": 1.0, "target": 1.0, "threshold_basis": "pct"})
    with pytest.raises(ScoringError, match=r"'pct' for measure m period 2025-03"):
        score_measures(spec, values)


def test_unknown_measure_and_missing_columns_are_errors(make_spec, make_values):
    spec = make_spec({"m": {}})
    with pytest.raises(ScoringError, match="not in the spec: ghost"):
        score_measures(spec, make_values({"measure_id": "ghost", "value": 1.0, "target": 1.0}))
    values = make_values({"measure_id": "m", "value": 1.0, "target": 1.0})
    with pytest.raises(ScoringError, match=r"missing column.*target_high"):
        score_measures(spec, values.drop(columns=["target_high"]))


def test_input_is_not_modified_and_index_is_kept(make_spec, make_values):
    spec = make_spec({"m": {}})
    values = make_values({"measure_id": "m", "value": 1.0, "target": 1.0}).set_axis([7])
    before = values.copy()
    scored = score_measures(spec, values)
    pd.testing.assert_frame_equal(values, before)
    assert scored.index.tolist() == [7]
