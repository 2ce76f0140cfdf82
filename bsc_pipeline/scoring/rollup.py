"""Weighted roll-ups of measure scores to objectives, perspectives and the whole scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bsc_pipeline.scoring.errors import ScoringError
from bsc_pipeline.scoring.labels import first_match
from bsc_pipeline.scoring.spec_frames import require_columns
from bsc_pipeline.scoring.status import GOAL_SCORE, RED_FLAG_SCORE, SCORE_TOLERANCE
from bsc_pipeline.spec.models import Spec

PERIOD_KEYS = ["period_type", "period", "as_of_month"]
SCORECARD_NODE = "scorecard"
"""node_id of the single scorecard-level row per period."""

ROLLUP_COLUMNS = [
    "level",
    "node_id",
    *PERIOD_KEYS,
    "score",
    "status",
    "data_confidence",
    "children",
    "children_with_data",
]


def roll_up(spec: Spec, scored: pd.DataFrame) -> pd.DataFrame:
    """The Roll-ups frame: objective, perspective and scorecard rows for every period in `scored`.

    Children come from the spec, so a measure with no row for a period counts as without data.
    """
    require_columns(scored, ["measure_id", "score", *PERIOD_KEYS], "scored measures")
    keys = scored[PERIOD_KEYS].drop_duplicates().reset_index(drop=True)
    if keys.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ROLLUP_COLUMNS})
    _require_one_row_per_measure_and_period(scored)

    measures = pd.DataFrame(
        [(m.id, m.objective, float(m.weight)) for m in spec.scored_measures()],
        columns=["child", "parent", "weight"],
    )
    measure_scores = scored[["measure_id", *PERIOD_KEYS, "score"]].rename(
        columns={"measure_id": "child"}
    )
    objectives = _level(
        "objective",
        _children(measures, keys).merge(measure_scores, on=["child", *PERIOD_KEYS], how="left"),
        [o.id for o in spec.objectives],
        keys,
    )

    objective_edges = pd.DataFrame(
        [(o.id, o.perspective, float(o.weight)) for o in spec.objectives],
        columns=["child", "parent", "weight"],
    )
    perspectives = _level(
        "perspective",
        _with_scores(_children(objective_edges, keys), objectives),
        [p.id for p in spec.perspectives],
        keys,
    )

    perspective_edges = pd.DataFrame(
        [(p.id, SCORECARD_NODE, float(p.weight)) for p in spec.perspectives],
        columns=["child", "parent", "weight"],
    )
    scorecard = _level(
        "scorecard",
        _with_scores(_children(perspective_edges, keys), perspectives),
        [SCORECARD_NODE],
        keys,
    )
    return pd.concat([objectives, perspectives, scorecard], ignore_index=True)[ROLLUP_COLUMNS]


def rolled_status(score: pd.Series) -> pd.Series:
    """Status of a rolled score: the measure cut-offs, `no_data` when nothing had data."""
    s = score.to_numpy(dtype=float, na_value=np.nan)
    status = first_match(
        [np.isnan(s), s >= GOAL_SCORE - SCORE_TOLERANCE, s >= RED_FLAG_SCORE - SCORE_TOLERANCE],
        ["no_data", "green", "amber"],
        "red",
    )
    return pd.Series(status, index=score.index, dtype=object)


def _children(edges: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """Every parent-child edge in every period, so absent children are visible."""
    return edges.astype({"child": object, "parent": object}).merge(keys, how="cross")


def _with_scores(children: pd.DataFrame, lower_level: pd.DataFrame) -> pd.DataFrame:
    scores = lower_level[["node_id", *PERIOD_KEYS, "score"]].rename(columns={"node_id": "child"})
    return children.merge(scores, on=["child", *PERIOD_KEYS], how="left")


def _level(
    level: str, children: pd.DataFrame, parents: list[str], keys: pd.DataFrame
) -> pd.DataFrame:
    """Weighted mean over children with a score; weights all zero in a group count as equal.

    Every parent gets a row per period, a childless one with no score and confidence 0.
    """
    group = ["parent", *PERIOD_KEYS]
    total = children.groupby(group, sort=False)["weight"].transform("sum")
    weight = children["weight"].where(total > 0, 1.0)
    has_data = children["score"].notna()
    parts = pd.DataFrame(
        {
            "parent": children["parent"],
            **{k: children[k] for k in PERIOD_KEYS},
            "weight": weight,
            "weight_with_data": weight.where(has_data, 0.0),
            "weighted_score": (weight * children["score"]).where(has_data, 0.0),
            "has_data": has_data.astype(int),
        }
    )
    sums = parts.groupby(group, sort=True).agg(
        weight=("weight", "sum"),
        weight_with_data=("weight_with_data", "sum"),
        weighted_score=("weighted_score", "sum"),
        children=("weight", "size"),
        children_with_data=("has_data", "sum"),
    )
    every_parent = pd.DataFrame({"parent": pd.Series(parents, dtype=object)}).merge(
        keys, how="cross"
    )
    sums = every_parent.merge(sums.reset_index(), on=group, how="left")
    totals = list(sums.columns.difference(group))
    sums[totals] = sums[totals].fillna(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(
            sums["weight_with_data"] > 0, sums["weighted_score"] / sums["weight_with_data"], np.nan
        )
        confidence = np.where(sums["weight"] > 0, sums["weight_with_data"] / sums["weight"], 0.0)
    out = pd.DataFrame(
        {
            "level": level,
            "node_id": sums["parent"].astype(object),
            **{k: sums[k] for k in PERIOD_KEYS},
            "score": score,
            "data_confidence": confidence,
            "children": sums["children"].astype(int),
            "children_with_data": sums["children_with_data"].astype(int),
        }
    )
    out["status"] = rolled_status(out["score"])
    return out


def _require_one_row_per_measure_and_period(scored: pd.DataFrame) -> None:
    dupes = scored.duplicated(["measure_id", *PERIOD_KEYS], keep=False)
    if dupes.any():
        first = scored.loc[dupes].iloc[0]
        raise ScoringError(
            f"scored measures frame has {int(dupes.sum())} rows sharing a measure and period, "
            f"e.g. measure {first['measure_id']} {first['period_type']} {first['period']} "
            f"as of {first['as_of_month']}; roll-ups need one row per measure and period"
        )
