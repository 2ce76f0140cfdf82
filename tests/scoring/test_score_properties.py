"""Properties every rated row keeps: the score agrees with the status, and better scores higher."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from bsc_pipeline.scoring import score_measures
from bsc_pipeline.scoring.rollup import rolled_status
from bsc_pipeline.spec.models import Spec

SPEC = Spec.model_validate(
    {
        "scorecard": {"name": "Props"},
        "owners": [],
        "perspectives": [{"id": "p", "name": "P"}],
        "objectives": [{"id": "o", "name": "O", "perspective": "p"}],
        "measures": [
            {
                "kind": "base",
                "id": direction,
                "name": direction,
                "unit": "EUR",
                "source": "gl_lines",
                "agg": "sum",
                "column": "amount",
                "objective": "o",
                "direction": direction,
            }
            for direction in ("higher", "lower", "range")
        ],
    }
)

whole = st.integers(min_value=-1000, max_value=1000).map(float)


def _frame(direction: str, values: list[float], target: float, green: float, amber: float):
    n = len(values)
    high = target + abs(green) if direction == "range" else np.nan
    return pd.DataFrame(
        {
            "measure_id": [direction] * n,
            "period_type": "month",
            "period": "2025-03",
            "period_end": pd.Timestamp("2025-04-01"),
            "as_of_month": "2025-03",
            "is_partial": False,
            "value": values,
            "target": target,
            "target_high": high,
            "green_bound": green,
            "amber_bound": amber,
            "threshold_basis": "absolute",
            "prior_period_value": np.nan,
            "data_state": "complete",
        }
    )


@settings(max_examples=50, deadline=None)
@given(
    direction=st.sampled_from(["higher", "lower", "range"]),
    values=st.lists(whole, min_size=1, max_size=20),
    target=whole,
    green=whole,
    gap=st.integers(min_value=1, max_value=200).map(float),
)
def test_score_agrees_with_status_and_rises_with_goodness(direction, values, target, green, gap):
    amber = {"higher": green - gap, "lower": green + gap, "range": gap}[direction]
    scored = score_measures(SPEC, _frame(direction, sorted(values), target, green, amber))
    assert scored["status"].tolist() == rolled_status(scored["score"]).tolist()
    assert scored["score"].between(0, 10).all()
    scores = scored["score"].to_numpy()
    if direction == "higher":
        assert (np.diff(scores) >= -1e-9).all()
    elif direction == "lower":
        assert (np.diff(scores) <= 1e-9).all()
