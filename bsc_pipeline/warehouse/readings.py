"""Reading the published scorecard through its stable views.

Reporting front ends and exports read views, never fact tables, so a change to the tables does
not break them. View and column names are allow-listed here, never taken from user text.
"""

from __future__ import annotations

import re
from typing import Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.periods import Month
from bsc_pipeline.warehouse.choices import ExportPeriodType
from bsc_pipeline.warehouse.errors import WarehouseError

Reading = Literal["first_reported", "restated"]

VIEWS = (
    "v_scorecard_monthly",
    "v_scorecard_period",
    "v_scorecard_period_as_of",
    "v_measure_value_first_reported",
    "v_measure_value_restated",
    "v_rollup_period",
    "v_rollup_period_as_of",
    "v_strategy_map_health",
    "v_strategy_map_health_as_of",
    "v_measure_definition_history",
    "v_measure_commentary",
    "v_measure_commentary_history",
)

_READING_VIEWS: dict[str, str] = {
    "first_reported": "v_measure_value_first_reported",
    "restated": "v_measure_value_restated",
}
_PERIOD_TYPES = ("month", "quarter", "fiscal_year", "ytd", "ttm")
_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
_ORDER = ("perspective_id", "objective_id", "measure_id")
_NUMBERS = frozenset(
    {
        "actual",
        "value",
        "target",
        "target_high",
        "variance",
        "variance_pct",
        "score",
        "numerator",
        "denominator",
        "prior_month_value",
        "same_month_last_year",
        "prior_period_value",
        "prior_year_value",
        "ytd_actual",
        "data_confidence",
    }
)


def _view(name: str) -> sa.TableClause:
    if name not in VIEWS:
        raise WarehouseError(f"unknown view {name!r}; expected one of {VIEWS}")
    return sa.table(name)


def _read(engine: Engine, query: sa.Select[tuple[object, ...]]) -> pd.DataFrame:
    with engine.connect() as connection:
        result = connection.execute(query)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()), dtype=object)
    return frame


def read_scorecard(
    engine: Engine, period: str, period_type: ExportPeriodType = "month"
) -> pd.DataFrame:
    """The scorecard for `period`: a month `YYYY-MM` or, for longer types, a period label.

    With a month and a longer type, the period containing that month as reported at that month's
    close (a quarter as of February is quarter-to-date); with a label (`FY2025-Q1`), its latest
    reading.
    """
    if period_type not in _PERIOD_TYPES:
        raise WarehouseError(
            f"unknown period type {period_type!r}; expected one of {_PERIOD_TYPES}"
        )
    if period_type == "month":
        view = _view("v_scorecard_monthly")
        condition = sa.column("period") == str(Month.parse(period))
    elif _MONTH_RE.match(period):
        view = _view("v_scorecard_period_as_of")
        condition = sa.and_(
            sa.column("period_type") == period_type,
            sa.column("as_of_month") == str(Month.parse(period)),
        )
    else:
        view = _view("v_scorecard_period")
        condition = sa.and_(sa.column("period_type") == period_type, sa.column("period") == period)
    query = (
        sa.select(sa.text("*"))
        .select_from(view)
        .where(condition)
        .order_by(*(sa.column(c) for c in _ORDER))
    )
    return _normalise(_read(engine, query))


def read_readings(
    engine: Engine, month: str, reading: Reading, period_type: ExportPeriodType = "month"
) -> pd.DataFrame:
    """Values of `month`'s run "as first reported" or "as restated" (the latest recorded)."""
    if reading not in _READING_VIEWS:
        raise WarehouseError(f"unknown reading {reading!r}; expected one of {list(_READING_VIEWS)}")
    query = (
        sa.select(sa.text("*"))
        .select_from(_view(_READING_VIEWS[reading]))
        .where(
            sa.column("as_of_month") == str(Month.parse(month)),
            sa.column("period_type") == period_type,
        )
        .order_by(sa.column("measure_id"), sa.column("period"))
    )
    return _normalise(_read(engine, query))


def read_rollups(engine: Engine, month: str) -> pd.DataFrame:
    """Objective, perspective and scorecard rows as reported at `month`'s close, all periods."""
    query = (
        sa.select(sa.text("*"))
        .select_from(_view("v_rollup_period_as_of"))
        .where(sa.column("as_of_month") == str(Month.parse(month)))
        .order_by(sa.column("level"), sa.column("node_id"), sa.column("period_type"))
    )
    return _normalise(_read(engine, query))


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes from SQLite and PostgreSQL: numbers float, flags bool, timestamps UTC."""
    for name in frame.columns:
        if name in _NUMBERS:
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
        elif name == "published_at":
            frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
        elif name in ("period_start", "period_end"):
            frame[name] = pd.to_datetime(frame[name])
        elif name in ("is_partial", "is_official"):
            frame[name] = frame[name].map(_flag).astype("boolean")
    return frame


def _flag(value: object) -> bool | None:
    """SQLite views return booleans as 0/1."""
    if value is None or value is pd.NA:
        return None
    return bool(value)


def read_commentary(engine: Engine) -> pd.DataFrame:
    """Owners' latest commentary per measure and month (`v_measure_commentary`)."""
    query = (
        sa.select(sa.text("measure_id, period, analysis, recommendation"))
        .select_from(_view("v_measure_commentary"))
        .order_by(sa.column("measure_id"), sa.column("period"))
    )
    return _read(engine, query)


def with_commentary(engine: Engine, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` plus a `commentary` column: the owner's analysis and recommendation of the month
    the row was reported at (its `as_of_month`, else its `period`)."""
    said = read_commentary(engine)
    month = frame["as_of_month"] if "as_of_month" in frame.columns else frame["period"]
    text = {
        (r["measure_id"], r["period"]): commentary_line(r["analysis"], r["recommendation"])
        for r in said.to_dict("records")
    }
    keys = zip(frame["measure_id"], month, strict=True)
    column = pd.Series([text.get(key) for key in keys], index=frame.index, dtype=object)
    return frame.assign(commentary=column)


def commentary_line(analysis: object, recommendation: object) -> str | None:
    """`analysis — next: recommendation`, or whichever of the two there is."""
    parts = [str(p) for p in (analysis, recommendation) if isinstance(p, str) and p]
    if len(parts) == 2:
        return f"{parts[0]} — next: {parts[1]}"
    return parts[0] if parts else None
