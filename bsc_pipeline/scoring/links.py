"""Link health: does each cause-and-effect link of the strategy map show up in the history?

For a link driver → outcome with lag L, the outcome of month m is paired with the driver of
month m − L, and the Pearson correlation of the pairs is compared with the expected sign.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bsc_pipeline.scoring.errors import ScoringError
from bsc_pipeline.scoring.labels import first_match
from bsc_pipeline.scoring.spec_frames import measure_attributes, require_columns
from bsc_pipeline.spec.models import Spec

MIN_ABS_CORRELATION = 0.3
"""Weaker than this, a link is not considered to hold even with the right sign."""

LINK_HEALTH_COLUMNS = [
    "driver",
    "outcome",
    "lag_months",
    "expected_sign",
    "n",
    "correlation",
    "holds",
    "note",
]

_MONTH_PATTERN = r"^(\d{4})-(0[1-9]|1[0-2])$"


def link_health(spec: Spec, history: pd.DataFrame, min_points: int = 12) -> pd.DataFrame:
    """One row per spec link: paired months `n`, `correlation`, `expected_sign`, `holds`, `note`.

    `holds` is null (with a note) when there are fewer than `min_points` pairs, a series is
    constant, or no sign is expected; otherwise true when the sign matches and |r| ≥ 0.3.
    """
    links = _links(spec)
    pairs = _pairs(links, _monthly(history))
    stats = _correlations(pairs).reindex(links.index)
    n = stats["n"].fillna(0).astype(int)
    r = stats["correlation"].where(n >= min_points)
    sign = links["expected_sign"]
    enough = n >= min_points
    constant = enough & r.isna()
    sign_known = sign.notna()
    rated = enough & ~constant & sign_known
    holds = (np.sign(r) == sign) & (r.abs() >= MIN_ABS_CORRELATION)

    note = first_match(
        [
            ~enough,
            constant,
            ~sign_known,
            rated & (np.sign(r) != sign),
            rated & (r.abs() < MIN_ABS_CORRELATION),
        ],
        [
            "too little history: " + n.astype(str) + f" paired months, need {min_points}",
            "driver or outcome did not vary over the paired months",
            "no expected sign: a range measure needs expected_sign on the link",
            "correlation has the opposite sign to the expected one",
            f"correlation weaker than {MIN_ABS_CORRELATION}",
        ],
        None,
    )
    return pd.DataFrame(
        {
            "driver": links["driver"],
            "outcome": links["outcome"],
            "lag_months": links["lag_months"],
            "expected_sign": sign.astype("Int64"),
            "n": n,
            "correlation": r.astype(float),
            "holds": pd.array(holds.where(rated, None), dtype="boolean"),
            "note": pd.Series(note, index=links.index, dtype=object),
        }
    ).reset_index(drop=True)[LINK_HEALTH_COLUMNS]


def _links(spec: Spec) -> pd.DataFrame:
    """Spec links with their expected sign: explicit, else +1 when directions agree, −1 if not.

    A link touching a `range` measure gets no derived sign: more is neither better nor worse.
    """
    direction = measure_attributes(spec)["direction"]
    links = pd.DataFrame(
        {
            "driver": pd.Series([lk.driver for lk in spec.links], dtype=object),
            "outcome": pd.Series([lk.outcome for lk in spec.links], dtype=object),
            "lag_months": pd.Series([lk.lag_months for lk in spec.links], dtype=int),
            "explicit": pd.Series([lk.expected_sign for lk in spec.links], dtype=object),
        }
    )
    d_dir = links["driver"].map(direction)
    o_dir = links["outcome"].map(direction)
    derived = np.where(
        (d_dir == "range") | (o_dir == "range") | d_dir.isna() | o_dir.isna(),
        np.nan,
        np.where(d_dir == o_dir, 1.0, -1.0),
    )
    explicit = links["explicit"].map({"positive": 1.0, "negative": -1.0})
    links["expected_sign"] = explicit.fillna(pd.Series(derived, index=links.index))
    links.index.name = "link"
    return links


def _monthly(history: pd.DataFrame) -> pd.DataFrame:
    """measure_id, month index, value; month rows only when a period_type column is present."""
    require_columns(history, ["measure_id", "period", "value"], "link history")
    if "period_type" in history.columns:
        history = history[history["period_type"] == "month"]
    history = history.reset_index(drop=True)
    parts = history["period"].astype(str).str.extract(_MONTH_PATTERN)
    bad = parts[0].isna()
    if bad.any():
        raise ScoringError(
            f"link history period {history.loc[bad, 'period'].iloc[0]!r} "
            f"(measure {history.loc[bad, 'measure_id'].iloc[0]}) is not a month YYYY-MM"
        )
    monthly = pd.DataFrame(
        {
            "measure_id": history["measure_id"].astype(object),
            "month": parts[0].astype(int) * 12 + parts[1].astype(int) - 1,
            "value": pd.to_numeric(history["value"]).astype(float),
        }
    ).dropna(subset=["value"])
    dupes = monthly.duplicated(["measure_id", "month"], keep=False)
    if dupes.any():
        first = history.loc[dupes[dupes].index[0]]
        raise ScoringError(
            f"link history has more than one value for measure {first['measure_id']} "
            f"in {first['period']}; pass one row per measure and month"
        )
    return monthly


def _pairs(links: pd.DataFrame, monthly: pd.DataFrame) -> pd.DataFrame:
    """Driver of month m − lag beside outcome of month m, per link."""
    edges = links[["driver", "outcome", "lag_months"]].reset_index()
    drivers = edges.merge(monthly, left_on="driver", right_on="measure_id")
    drivers = pd.DataFrame(
        {
            "link": drivers["link"],
            "month": drivers["month"] + drivers["lag_months"],
            "x": drivers["value"],
        }
    )
    outcomes = edges.merge(monthly, left_on="outcome", right_on="measure_id")
    outcomes = pd.DataFrame(
        {"link": outcomes["link"], "month": outcomes["month"], "y": outcomes["value"]}
    )
    return drivers.merge(outcomes, on=["link", "month"])


def _correlations(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pearson r per link from centred sums; NaN when either series is (numerically) constant."""
    grouped = pairs.groupby("link")
    dx = pairs["x"] - grouped["x"].transform("mean")
    dy = pairs["y"] - grouped["y"].transform("mean")
    sums = pd.DataFrame(
        {
            "link": pairs["link"],
            "sxy": dx * dy,
            "sxx": dx * dx,
            "syy": dy * dy,
            "x_scale": pairs["x"].abs(),
            "y_scale": pairs["y"].abs(),
        }
    ).groupby("link")
    totals = sums[["sxy", "sxx", "syy"]].sum()
    n = sums.size()
    # Rounding in the mean leaves a constant series a tiny spread: treat that as no spread.
    noise_x = n * (1e-9 * sums["x_scale"].max()) ** 2 + 1e-300
    noise_y = n * (1e-9 * sums["y_scale"].max()) ** 2 + 1e-300
    varies = (totals["sxx"] > noise_x) & (totals["syy"] > noise_y)
    r: pd.Series = (totals["sxy"] / np.sqrt(totals["sxx"] * totals["syy"])).where(varies)
    return pd.DataFrame({"n": n, "correlation": r.clip(-1.0, 1.0)})
