"""Balance flags: a lagging outcome green while a leading driver of it is red.

That pattern is the future sold for the present (results met by starving what produces them),
so both rows carry a flag naming the other measure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bsc_pipeline.scoring.spec_frames import (
    measure_attributes,
    require_columns,
    require_known_measures,
)
from bsc_pipeline.spec.models import Spec

PERIOD_KEYS = ["period_type", "period", "as_of_month"]


def balance_flags(spec: Spec, scored: pd.DataFrame) -> pd.DataFrame:
    """Return `scored` with a `balance_flag` column: text on flagged rows, null elsewhere.

    Only direct links count whose driver is tagged `leading` and outcome `lagging`; rows are
    paired within the same period type, period and as_of_month. Several flags join with "; ".
    """
    require_columns(scored, ["measure_id", "status", *PERIOD_KEYS], "scored measures")
    require_known_measures(scored["measure_id"], spec, "scored measures")
    rows = scored[["measure_id", "status", *PERIOD_KEYS]].astype({"measure_id": object})
    rows = rows.assign(_row=np.arange(len(scored)))
    pairs = (
        rows[rows["status"] == "green"]
        .merge(_leading_to_lagging(spec), left_on="measure_id", right_on="outcome")
        .merge(
            rows[rows["status"] == "red"],
            left_on=[*PERIOD_KEYS, "driver"],
            right_on=[*PERIOD_KEYS, "measure_id"],
            suffixes=("_outcome", "_driver"),
        )
    )
    texts = pd.concat(
        [
            pd.DataFrame(
                {
                    "_row": pairs["_row_outcome"],
                    "text": pairs["outcome"] + " green while driver " + pairs["driver"] + " is red",
                }
            ),
            pd.DataFrame(
                {
                    "_row": pairs["_row_driver"],
                    "text": pairs["driver"]
                    + " red while outcome "
                    + pairs["outcome"]
                    + " is green",
                }
            ),
        ],
        ignore_index=True,
    )
    joined = (
        texts.drop_duplicates().sort_values(["_row", "text"]).groupby("_row")["text"].agg("; ".join)
    )
    flag = np.full(len(scored), None, dtype=object)
    flag[joined.index.to_numpy(dtype=int)] = joined.to_numpy(dtype=object)
    out = scored.copy()
    out["balance_flag"] = pd.Series(flag, index=scored.index, dtype=object)
    return out


def _leading_to_lagging(spec: Spec) -> pd.DataFrame:
    """Links from a leading driver to a lagging outcome, one row per distinct pair."""
    lead_lag = measure_attributes(spec)["lead_lag"]
    links = pd.DataFrame(
        {
            "driver": pd.Series([link.driver for link in spec.links], dtype=object),
            "outcome": pd.Series([link.outcome for link in spec.links], dtype=object),
        }
    )
    keep = (links["driver"].map(lead_lag) == "leading") & (
        links["outcome"].map(lead_lag) == "lagging"
    )
    return links[keep].drop_duplicates()
