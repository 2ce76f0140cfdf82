"""Frames in and out of warehouse tables, typed by the table's own column types.

Publishing compares what a run computed with what is stored; both sides go through the same
canonical dtypes so a number read back from SQLite or PostgreSQL equals the one written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from bsc_pipeline.warehouse.errors import PublishInputError
from bsc_pipeline.warehouse.schema import UtcDateTime


def _kind(column: sa.Column[Any]) -> str:
    column_type = column.type
    if isinstance(column_type, UtcDateTime):
        return "timestamp"
    if isinstance(column_type, sa.Boolean):
        return "bool"
    if isinstance(column_type, sa.Date):
        return "date"
    if isinstance(column_type, sa.Integer):
        return "int"
    if isinstance(column_type, sa.Float):
        return "float"
    if isinstance(column_type, sa.JSON):
        return "json"
    return "text"


_DTYPES: dict[str, Any] = {"bool": "boolean", "int": "Int64", "float": "float64", "text": "string"}


def canonical(
    frame: pd.DataFrame, table: sa.Table, columns: Sequence[str], what: str
) -> pd.DataFrame:
    """`columns` of `frame` in the dtypes of `table`'s columns; NaN/None/NA all become missing."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PublishInputError(
            f"{what}: missing column(s) {missing}; expected the columns {list(columns)}"
        )
    out: dict[str, pd.Series[Any]] = {}
    for name in columns:
        kind = _kind(table.c[name])
        series = frame[name].reset_index(drop=True)
        try:
            if kind == "date":
                dates = pd.to_datetime(series, format="ISO8601")
                out[name] = dates.dt.normalize().astype("datetime64[ns]")
            elif kind == "timestamp":
                out[name] = pd.to_datetime(series, utc=True)
            elif kind == "float":
                out[name] = pd.to_numeric(series).astype("float64")
            elif kind == "json":
                out[name] = series.astype(object)
            else:
                out[name] = series.astype(_DTYPES[kind])
        except (TypeError, ValueError) as exc:
            raise PublishInputError(
                f"{what}: column {name!r} does not convert to {kind}: {exc}"
            ) from exc
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def changed_mask(left: pd.DataFrame, right: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    """Rows where any column differs; two missing values count as equal."""
    mask = pd.Series(False, index=left.index)
    for name in columns:
        a, b = left[name], right[name]
        same = (a == b).fillna(False).astype(bool) | (a.isna() & b.isna())
        mask |= ~same
    return mask


def _python(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def jsonable(value: Any) -> Any:
    """A structure PostgreSQL's JSON type accepts: no NaN/inf, no numpy scalars, dates as text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, date | datetime | pd.Timestamp):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame, table: sa.Table) -> list[dict[str, Any]]:
    """Plain Python values the database drivers accept (dates, bools, ints, None)."""
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        kind = _kind(table.c[name])
        series = frame[name]
        if kind == "date":
            values = [None if pd.isna(v) else v.date() for v in series.tolist()]
        elif kind == "timestamp":
            values = [None if pd.isna(v) else v.to_pydatetime() for v in series.tolist()]
        else:
            values = [_python(v) for v in series.tolist()]
        columns[name] = values
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def read_table(connection: sa.Connection, query: sa.Select[Any], table: sa.Table) -> pd.DataFrame:
    """Rows of a query over one table, in canonical dtypes."""
    result = connection.execute(query)
    names = list(result.keys())
    frame = pd.DataFrame(result.fetchall(), columns=names, dtype=object)
    return canonical(frame, table, names, table.name)
