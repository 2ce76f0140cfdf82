"""Link health on hand-made and synthetic lagged series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsc_pipeline.scoring import ScoringError, link_health


def _history(series: dict[str, list[float]], first: str = "2023-01") -> pd.DataFrame:
    start = pd.Period(first, freq="M")
    rows = [
        (mid, str(start + i), v) for mid, values in series.items() for i, v in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["measure_id", "period", "value"])


def test_hand_computed_correlation_with_lag(make_spec):
    """Driver Dec–Feb = 1, 2, 3 paired with outcome Jan–Mar = 1, 3, 2: r = 1 / √(2 × 2) = 0.5."""
    spec = make_spec(
        {"training": {"lead_lag": "leading"}, "revenue": {}},
        links=[{"driver": "training", "outcome": "revenue", "lag_months": 1}],
    )
    history = pd.concat(
        [
            _history({"training": [1.0, 2.0, 3.0, -50.0]}, first="2024-12"),
            _history({"revenue": [100.0, 1.0, 3.0, 2.0]}, first="2024-12"),
        ]
    )
    health = link_health(spec, history, min_points=3).iloc[0]
    assert health["n"] == 3
    assert health["correlation"] == pytest.approx(0.5)
    assert health["expected_sign"] == 1
    assert bool(health["holds"]) is True
    assert pd.isna(health["note"])


@pytest.fixture
def synthetic() -> pd.DataFrame:
    """Outcome = 2 × driver three months earlier + noise; cost = −driver two months earlier."""
    rng = np.random.default_rng(7)
    driver = rng.normal(100.0, 10.0, 40)
    outcome = np.concatenate([rng.normal(500, 5, 3), 2 * driver[:-3] + rng.normal(0, 2, 37)])
    cost = np.concatenate([rng.normal(50, 1, 2), -driver[:-2] + rng.normal(0, 1, 38)])
    return _history({"training": list(driver), "revenue": list(outcome), "cost": list(cost)})


def test_lagged_series_holds_with_derived_signs(make_spec, synthetic):
    spec = make_spec(
        {"training": {}, "revenue": {}, "cost": {"direction": "lower"}},
        links=[
            {"driver": "training", "outcome": "revenue", "lag_months": 3},
            {"driver": "training", "outcome": "cost", "lag_months": 2},
            {"driver": "training", "outcome": "revenue", "lag_months": 0},
        ],
    )
    health = link_health(spec, synthetic)
    assert health["expected_sign"].tolist() == [1, -1, 1]
    assert health["n"].tolist() == [37, 38, 40]
    assert health["correlation"].iloc[0] > 0.9
    assert health["correlation"].iloc[1] < -0.9
    assert health["holds"].iloc[:2].tolist() == [True, True]
    # Unlagged, the pairs are unrelated noise: the chain is reported as not holding.
    assert abs(health["correlation"].iloc[2]) < 0.3
    assert health["holds"].notna().all()
    assert not health["holds"].iloc[2]
    assert "weaker than 0.3" in health["note"].iloc[2]


def test_explicit_sign_wins_and_opposite_sign_does_not_hold(make_spec, synthetic):
    spec = make_spec(
        {"training": {}, "cost": {"direction": "lower"}},
        links=[
            {
                "driver": "training",
                "outcome": "cost",
                "lag_months": 2,
                "expected_sign": "positive",
            }
        ],
    )
    health = link_health(spec, synthetic).iloc[0]
    assert health["expected_sign"] == 1
    assert not health["holds"]
    assert health["note"] == "correlation has the opposite sign to the expected one"


def test_too_little_history_is_noted_not_judged(make_spec):
    spec = make_spec(
        {"training": {}, "revenue": {}},
        links=[{"driver": "training", "outcome": "revenue", "lag_months": 2}],
    )
    history = _history({"training": [1.0, 2.0, 3.0, 4.0, 5.0], "revenue": [1.0, 2, 3, 4, 5]})
    health = link_health(spec, history).iloc[0]
    assert health["n"] == 3
    assert np.isnan(health["correlation"])
    assert pd.isna(health["holds"])
    assert health["note"] == "too little history: 3 paired months, need 12"


def test_constant_series_and_range_measures_are_not_judged(make_spec):
    spec = make_spec(
        {"training": {}, "revenue": {}, "mix": {"direction": "range"}},
        links=[
            {"driver": "training", "outcome": "revenue"},
            {"driver": "training", "outcome": "mix"},
        ],
    )
    history = _history(
        {
            "training": [float(i) for i in range(12)],
            "revenue": [0.1 * 3] * 12,
            "mix": [float(i % 5) for i in range(12)],
        }
    )
    health = link_health(spec, history)
    assert pd.isna(health["holds"]).all()
    assert health["note"].iloc[0] == "driver or outcome did not vary over the paired months"
    assert pd.isna(health["expected_sign"].iloc[1])
    assert "range measure" in health["note"].iloc[1]


def test_history_with_period_type_keeps_month_rows(make_spec):
    spec = make_spec(
        {"training": {}, "revenue": {}},
        links=[{"driver": "training", "outcome": "revenue"}],
    )
    history = _history({"training": [1.0, 2.0, 3.0], "revenue": [1.0, 3.0, 2.0]})
    history["period_type"] = "month"
    quarter = pd.DataFrame(
        {
            "measure_id": ["training"],
            "period": ["FY2023-Q1"],
            "value": [9.0],
            "period_type": "quarter",
        }
    )
    health = link_health(spec, pd.concat([history, quarter]), min_points=3).iloc[0]
    assert health["correlation"] == pytest.approx(0.5)


def test_bad_history_is_an_error(make_spec):
    spec = make_spec({"a": {}, "b": {}}, links=[{"driver": "a", "outcome": "b"}])
    with pytest.raises(ScoringError, match="'2025-13'"):
        link_health(spec, pd.DataFrame({"measure_id": ["a"], "period": ["2025-13"], "value": [1]}))
    twice = _history({"a": [1.0]})
    with pytest.raises(ScoringError, match="more than one value for measure a in 2023-01"):
        link_health(spec, pd.concat([twice, twice]))


def test_no_links_or_no_history_gives_rows_without_judgement(make_spec):
    assert link_health(make_spec({"a": {}}), _history({"a": [1.0]})).empty
    spec = make_spec({"a": {}, "b": {}}, links=[{"driver": "a", "outcome": "b"}])
    empty = pd.DataFrame({"measure_id": [], "period": [], "value": []})
    health = link_health(spec, empty).iloc[0]
    assert health["n"] == 0
    assert health["note"] == "too little history: 0 paired months, need 12"
