"""Balance flags on a small spec: revenue (lagging) driven by training (leading)."""

from __future__ import annotations

import pandas as pd

from bsc_pipeline.scoring import balance_flags

MEASURES = {
    "revenue": {"objective": "grow", "lead_lag": "lagging"},
    "training": {"objective": "learn", "lead_lag": "leading"},
    "coaching": {"objective": "learn", "lead_lag": "leading"},
    "margin": {"objective": "grow", "lead_lag": "lagging"},
}
LINKS = [
    {"driver": "training", "outcome": "revenue", "lag_months": 3},
    {"driver": "coaching", "outcome": "revenue"},
    {"driver": "margin", "outcome": "revenue"},  # lagging → lagging: never a balance flag
]


def _scored(rows: list[tuple[str, str, str]], period_type: str = "month") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "measure_id": [r[0] for r in rows],
            "period_type": period_type,
            "period": [r[1] for r in rows],
            "as_of_month": "2025-04",
            "status": [r[2] for r in rows],
        }
    )


def test_green_outcome_with_red_driver_flags_both_rows(make_spec):
    spec = make_spec(MEASURES, links=LINKS)
    flagged = balance_flags(
        spec,
        _scored(
            [
                ("revenue", "2025-03", "green"),
                ("training", "2025-03", "red"),
                ("revenue", "2025-04", "green"),
                ("training", "2025-04", "amber"),
            ]
        ),
    )
    assert flagged["balance_flag"].iloc[0] == "revenue green while driver training is red"
    assert flagged["balance_flag"].iloc[1] == "training red while outcome revenue is green"
    assert flagged["balance_flag"].iloc[2:].isna().all()


def test_several_red_drivers_are_joined(make_spec):
    spec = make_spec(MEASURES, links=LINKS)
    flagged = balance_flags(
        spec,
        _scored(
            [
                ("revenue", "2025-03", "green"),
                ("training", "2025-03", "red"),
                ("coaching", "2025-03", "red"),
                ("margin", "2025-03", "red"),
            ]
        ),
    )
    assert flagged["balance_flag"].iloc[0] == (
        "revenue green while driver coaching is red; revenue green while driver training is red"
    )
    assert pd.isna(flagged["balance_flag"].iloc[3])  # margin is lagging, not a leading driver


def test_only_rows_of_the_same_period_pair(make_spec):
    spec = make_spec(MEASURES, links=LINKS)
    scored = pd.concat(
        [
            _scored([("revenue", "2025-03", "green")]),
            _scored([("training", "FY2025-Q1", "red")], period_type="quarter"),
            _scored([("revenue", "FY2025-Q1", "amber")], period_type="quarter"),
        ],
        ignore_index=True,
    )
    assert balance_flags(spec, scored)["balance_flag"].isna().all()


def test_held_or_no_data_driver_does_not_flag(make_spec):
    spec = make_spec(MEASURES, links=LINKS)
    flagged = balance_flags(
        spec,
        _scored([("revenue", "2025-03", "green"), ("training", "2025-03", "held")]),
    )
    assert flagged["balance_flag"].isna().all()
