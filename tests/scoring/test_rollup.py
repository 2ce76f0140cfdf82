"""Roll-ups checked by hand: weights, missing and held children, cut-offs, several periods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsc_pipeline.scoring import roll_up
from bsc_pipeline.scoring.rollup import rolled_status

MEASURES = {
    "revenue": {"objective": "grow", "weight": 2},
    "margin": {"objective": "grow", "weight": 1},
    "training": {"objective": "learn"},
    "engagement": {"objective": "learn"},
}
PERSPECTIVES = [
    {"id": "financial", "name": "Financial", "weight": 3},
    {"id": "people", "name": "People", "weight": 1},
]


def _scored(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """(measure_id, period, score) rows of an already scored frame; status is irrelevant here."""
    return pd.DataFrame(
        {
            "measure_id": [r[0] for r in rows],
            "period_type": "month",
            "period": [r[1] for r in rows],
            "as_of_month": [r[1] for r in rows],
            "score": [r[2] for r in rows],
        }
    )


def _row(rollups: pd.DataFrame, level: str, node: str, period: str = "2025-03") -> pd.Series:
    match = rollups[
        (rollups["level"] == level) & (rollups["node_id"] == node) & (rollups["period"] == period)
    ]
    assert len(match) == 1
    return match.iloc[0]


def test_weighted_roll_up_with_a_held_child(make_spec):
    spec = make_spec(MEASURES, perspectives=PERSPECTIVES)
    # engagement is held: its score is NaN and it must not count, least of all as green.
    rollups = roll_up(
        spec,
        _scored(
            [
                ("revenue", "2025-03", 9.0),
                ("margin", "2025-03", 3.0),
                ("training", "2025-03", 6.0),
                ("engagement", "2025-03", np.nan),
            ]
        ),
    )
    grow = _row(rollups, "objective", "grow")
    assert grow["score"] == pytest.approx((2 * 9 + 1 * 3) / 3)  # 7.0
    assert grow["status"] == "green"
    assert (grow["data_confidence"], grow["children"], grow["children_with_data"]) == (1.0, 2, 2)

    learn = _row(rollups, "objective", "learn")
    assert learn["score"] == pytest.approx(6.0)
    assert learn["status"] == "amber"
    assert learn["data_confidence"] == pytest.approx(0.5)
    assert (learn["children"], learn["children_with_data"]) == (2, 1)

    assert _row(rollups, "perspective", "financial")["score"] == pytest.approx(7.0)
    assert _row(rollups, "perspective", "people")["score"] == pytest.approx(6.0)
    whole = _row(rollups, "scorecard", "scorecard")
    assert whole["score"] == pytest.approx((3 * 7 + 1 * 6) / 4)  # 6.75
    assert whole["status"] == "green"
    assert whole["data_confidence"] == pytest.approx(1.0)


def test_child_without_a_row_counts_as_without_data(make_spec):
    spec = make_spec(MEASURES, perspectives=PERSPECTIVES)
    rollups = roll_up(spec, _scored([("revenue", "2025-03", 2.0), ("training", "2025-03", 5.0)]))
    grow = _row(rollups, "objective", "grow")
    assert grow["score"] == pytest.approx(2.0)
    assert grow["status"] == "red"
    assert grow["data_confidence"] == pytest.approx(2 / 3)  # margin's weight 1 of 3 is missing


def test_no_child_with_data_is_no_data(make_spec):
    spec = make_spec(MEASURES, perspectives=PERSPECTIVES)
    rollups = roll_up(
        spec,
        _scored(
            [
                ("revenue", "2025-03", 8.0),
                ("training", "2025-03", np.nan),
                ("engagement", "2025-03", np.nan),
            ]
        ),
    )
    learn = _row(rollups, "objective", "learn")
    assert learn["status"] == "no_data"
    assert np.isnan(learn["score"])
    assert (learn["data_confidence"], learn["children_with_data"]) == (0.0, 0)
    people = _row(rollups, "perspective", "people")
    assert people["status"] == "no_data"
    whole = _row(rollups, "scorecard", "scorecard")
    assert whole["score"] == pytest.approx(8.0)
    assert whole["data_confidence"] == pytest.approx(0.75)  # people's weight 1 of 4 has no data


def test_objective_without_measures_is_no_data(make_spec):
    objectives = [
        {"id": "grow", "name": "Grow", "perspective": "financial"},
        {"id": "learn", "name": "Learn", "perspective": "people"},
        {"id": "empty", "name": "Empty", "perspective": "people"},
    ]
    spec = make_spec(MEASURES, objectives=objectives)
    rollups = roll_up(spec, _scored([("training", "2025-03", 9.0)]))
    empty = _row(rollups, "objective", "empty")
    assert (empty["status"], empty["children"], empty["data_confidence"]) == ("no_data", 0, 0.0)
    people = _row(rollups, "perspective", "people")
    assert people["score"] == pytest.approx(9.0)
    assert people["data_confidence"] == pytest.approx(0.5)


def test_all_zero_weights_count_as_equal(make_spec):
    measures = {"a": {"weight": 0}, "b": {"weight": 0}}
    spec = make_spec(measures)
    rollups = roll_up(spec, _scored([("a", "2025-03", 2.0), ("b", "2025-03", 6.0)]))
    assert _row(rollups, "objective", "grow")["score"] == pytest.approx(4.0)


def test_each_period_rolls_up_on_its_own(make_spec):
    spec = make_spec(MEASURES, perspectives=PERSPECTIVES)
    rollups = roll_up(
        spec,
        _scored(
            [
                ("revenue", "2025-02", 10.0),
                ("margin", "2025-02", 10.0),
                ("revenue", "2025-03", 1.0),
                ("margin", "2025-03", 4.0),
            ]
        ),
    )
    assert _row(rollups, "objective", "grow", "2025-02")["score"] == pytest.approx(10.0)
    assert _row(rollups, "objective", "grow", "2025-03")["score"] == pytest.approx(2.0)
    assert len(rollups) == 2 * (2 + 2 + 1)


@pytest.mark.parametrize(
    ("score", "status"),
    [
        (20 / 3, "green"),
        ((10 + 10 / 3) / 2, "green"),  # mean of 10 and 3.33 is exactly the goal
        (6.66, "amber"),
        (10 / 3, "amber"),
        (3.33, "red"),
        (0.0, "red"),
        (np.nan, "no_data"),
    ],
)
def test_rolled_status_cut_offs(score, status):
    assert rolled_status(pd.Series([score])).iloc[0] == status


def test_duplicate_rows_are_an_error(make_spec):
    from bsc_pipeline.scoring import ScoringError

    spec = make_spec(MEASURES)
    scored = _scored([("revenue", "2025-03", 1.0), ("revenue", "2025-03", 2.0)])
    with pytest.raises(ScoringError, match="measure revenue month 2025-03"):
        roll_up(spec, scored)


def test_empty_input_gives_empty_frame(make_spec):
    rollups = roll_up(make_spec(MEASURES), _scored([]))
    assert rollups.empty
    assert "data_confidence" in rollups.columns
