"""Status, score, variance, trend and officialness of each measure row.

Every rule is a vectorized expression over the measure-values frame: no loop per row. The
rules, with worked examples, are in `docs/scoring.md`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from bsc_pipeline.scoring.errors import ScoringError
from bsc_pipeline.scoring.labels import first_match
from bsc_pipeline.scoring.spec_frames import (
    measure_attributes,
    require_columns,
    require_known_measures,
)
from bsc_pipeline.spec.models import Spec

MAX_SCORE = 10.0
GOAL_SCORE = 20.0 / 3.0
"""Score of a value exactly on the green bound (≈ 6.67)."""
RED_FLAG_SCORE = 10.0 / 3.0
"""Score of a value exactly on the amber bound, where red starts (≈ 3.33)."""

SCORE_TOLERANCE = 1e-9
"""Slack when comparing rolled scores with the cut-offs, so 3 × (20/3) / 3 is still green."""

TREND_TOLERANCE = 0.005
"""A change within half a percent of the prior value is `flat`."""

VALUE_COLUMNS = (
    "measure_id",
    "period_type",
    "period",
    "period_end",
    "as_of_month",
    "is_partial",
    "value",
    "target",
    "target_high",
    "green_bound",
    "amber_bound",
    "threshold_basis",
    "prior_period_value",
    "data_state",
)
BASES = ("relative", "absolute")

_REL_TOL = 1e-9
_ABS_TOL = 1e-12


def score_measures(
    spec: Spec, values: pd.DataFrame, *, trend_tolerance: float = TREND_TOLERANCE
) -> pd.DataFrame:
    """Scorecard rows of `values` with status, score, variance(_pct), trend and is_official.

    Component rows (measures without an objective) are dropped: they have no status to publish.
    """
    require_columns(values, VALUE_COLUMNS, "measure values")
    require_known_measures(values["measure_id"], spec, "measure values")
    attrs = measure_attributes(spec)
    values = values[values["measure_id"].astype(object).map(attrs["objective"]).notna()]
    ids = values["measure_id"].astype(object)
    direction = ids.map(attrs["direction"]).to_numpy(dtype=object)
    basis = _threshold_basis(values)

    v = _floats(values["value"])
    rating = _rating(
        direction,
        basis,
        v,
        _floats(values["target"]),
        _floats(values["target_high"]),
        _floats(values["green_bound"]),
        _floats(values["amber_bound"]),
    )
    state = values["data_state"].astype(object).to_numpy()
    held = state == "held"
    no_data = ~held & ((state == "no_data") | ~rating.ratable)
    status = first_match(
        [held, no_data, rating.is_green, rating.is_amber],
        ["held", "no_data", "green", "amber"],
        default="red",
    )
    rated = ~held & ~no_data

    out = values.copy()
    out["status"] = pd.Series(status, index=values.index, dtype=object)
    out["score"] = np.where(rated, np.clip(rating.score, 0.0, MAX_SCORE), np.nan)
    variance, reference = _variance(
        v, _floats(values["target"]), _floats(values["target_high"]), direction == "range"
    )
    out["variance"] = variance
    with np.errstate(divide="ignore", invalid="ignore"):
        out["variance_pct"] = np.where(reference == 0, np.nan, variance / np.abs(reference) * 100)
    out["trend"] = pd.Series(
        _trend(v, _floats(values["prior_period_value"]), trend_tolerance),
        index=values.index,
        dtype=object,
    )
    out["is_official"] = _is_official(values, ids.map(attrs["review"]).to_numpy(dtype=object), spec)
    return out


class _Rating(NamedTuple):
    """Green and amber tests plus the unclipped score; `ratable` when every input is there."""

    is_green: np.ndarray
    is_amber: np.ndarray
    score: np.ndarray
    ratable: np.ndarray


def _rating(
    direction: np.ndarray,
    basis: np.ndarray,
    v: np.ndarray,
    t: np.ndarray,
    h: np.ndarray,
    g: np.ndarray,
    a: np.ndarray,
) -> _Rating:
    """Rate every row by its direction; a row missing the target or a bound it needs is unratable.

    A range ignores `green_bound`; the others ignore `target_high`.
    """
    is_range = direction == "range"
    hl = _higher_lower_rating(v, t, g, a, basis, np.where(direction == "lower", -1.0, 1.0))
    rg = _range_rating(v, t, h, a, basis)
    return _Rating(*(np.where(is_range, r, o) for r, o in zip(rg, hl, strict=True)))


def _higher_lower_rating(
    v: np.ndarray, t: np.ndarray, g: np.ndarray, a: np.ndarray, basis: np.ndarray, sign: np.ndarray
) -> _Rating:
    """Rate on a 'goodness' axis (value × sign) so `lower` is `higher` mirrored.

    Relative bounds are placed at target + (bound − 1) × |target|, which is bound × target for a
    positive target and keeps green on the right side of amber for a negative one.
    """
    relative = basis == "relative"
    green_at = np.where(relative, t + (g - 1.0) * np.abs(t), g) * sign
    amber_at = np.where(relative, t + (a - 1.0) * np.abs(t), a) * sign
    x = v * sign
    is_green = _at_or_above(x, green_at)
    is_amber = _at_or_above(x, amber_at)
    width = green_at - amber_at
    with np.errstate(divide="ignore", invalid="ignore"):
        linear = RED_FLAG_SCORE + (x - amber_at) / width * (GOAL_SCORE - RED_FLAG_SCORE)
    # An empty amber band gives no scale to interpolate on: the score becomes a step.
    step = np.where(is_green, GOAL_SCORE, 0.0)
    ratable = ~np.isnan(x + t + green_at + amber_at) & ~pd.isna(basis)
    return _Rating(is_green, is_amber, np.where(width > 0, linear, step), ratable)


def _range_rating(
    v: np.ndarray, t: np.ndarray, h: np.ndarray, a: np.ndarray, basis: np.ndarray
) -> _Rating:
    """Green inside [low, high]; amber within the widening; 10 at the middle, 6.67 at the edges."""
    low = np.minimum(t, h)
    high = np.maximum(t, h)
    middle = (low + high) / 2.0
    half = (high - low) / 2.0
    widening = np.where(basis == "relative", a * np.abs(middle), a)
    outside = np.maximum(np.maximum(low - v, v - high), 0.0)
    tol = _tolerance(np.fmax(np.abs(low), np.abs(high)))
    is_green = outside <= tol
    is_amber = outside <= widening + tol
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = GOAL_SCORE + (MAX_SCORE - GOAL_SCORE) * (1.0 - np.abs(v - middle) / half)
        outer = GOAL_SCORE - outside / widening * (GOAL_SCORE - RED_FLAG_SCORE)
    inner = np.where(half > 0, inner, MAX_SCORE)
    outer = np.where(widening > 0, outer, 0.0)
    score = np.where(is_green, np.minimum(inner, MAX_SCORE), outer)
    ratable = ~np.isnan(v + t + h + a) & ~pd.isna(basis)
    return _Rating(is_green, is_amber, score, ratable)


def _variance(
    v: np.ndarray, t: np.ndarray, h: np.ndarray, is_range: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Actual − target, and the target it is measured against (for a range: the edge crossed)."""
    low = np.minimum(t, h)
    high = np.maximum(t, h)
    below = v < low
    above = v > high
    range_variance = np.where(below, v - low, np.where(above, v - high, 0.0))
    range_reference = np.where(below, low, np.where(above, high, (low + high) / 2.0))
    range_variance = np.where(np.isnan(v + low + high), np.nan, range_variance)
    return (
        np.where(is_range, range_variance, v - t),
        np.where(is_range, range_reference, t),
    )


def _trend(v: np.ndarray, prior: np.ndarray, tolerance: float) -> np.ndarray:
    """Raw direction of movement vs the prior period (not whether it is good)."""
    change = v - prior
    flat = np.abs(change) <= np.maximum(tolerance * np.abs(prior), _ABS_TOL)
    return first_match([np.isnan(change), flat, change > 0], [None, "flat", "up"], "down")


def _is_official(values: pd.DataFrame, review: np.ndarray, spec: Spec) -> np.ndarray:
    """Monthly measures: always. Quarterly: complete periods that end when a fiscal quarter does."""
    last_month = (pd.to_datetime(values["period_end"]) - pd.Timedelta(days=1)).dt.month
    start = spec.scorecard.fiscal_year_start_month
    closes_quarter = ((last_month.to_numpy() - start) % 3 == 2) & last_month.notna().to_numpy()
    complete = ~values["is_partial"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    not_month = values["period_type"].astype(object).to_numpy() != "month"
    return np.where(review == "quarterly", not_month & complete & closes_quarter, True)


def _threshold_basis(values: pd.DataFrame) -> np.ndarray:
    """The basis of each row; an unknown basis is a contract breach, not missing data."""
    basis = values["threshold_basis"].astype(object)
    bad = basis.notna() & ~basis.isin(BASES)
    if bad.any():
        first = values.loc[bad].iloc[0]
        raise ScoringError(
            f"threshold_basis {first['threshold_basis']!r} for measure {first['measure_id']} "
            f"period {first['period']} is not one of {', '.join(BASES)}"
        )
    return basis.where(basis.notna(), None).to_numpy(dtype=object)


def _at_or_above(x: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """x ≥ bound, forgiving float noise such as 0.9 × 100 = 90.00000000000001."""
    return x >= bound - _tolerance(np.abs(bound))


def _tolerance(scale: np.ndarray) -> np.ndarray:
    return np.maximum(_REL_TOL * scale, _ABS_TOL)


def _floats(column: pd.Series) -> np.ndarray:
    try:
        numbers = pd.to_numeric(column)
    except (TypeError, ValueError) as exc:
        raise ScoringError(f"column {column.name} must hold numbers or nulls: {exc}") from exc
    return numbers.to_numpy(dtype=float, na_value=np.nan)
