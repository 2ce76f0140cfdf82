"""Declarative row filters of measures, applied as vectorized boolean masks.

A filter is data (column, operator, value), never code: no `eval`, `pandas.eval` or
`DataFrame.query` ever sees spec text. Missing values match only `is_null`, as in SQL, so a
`ne` filter never sweeps in rows whose column is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bsc_pipeline.measures.errors import FilterError
from bsc_pipeline.spec.models import TEXT_OPS, Filter, filter_pattern


def filter_columns(filters: Sequence[Filter]) -> list[str]:
    """Columns the filters read, in order, without repeats."""
    return list(dict.fromkeys(f.column for f in filters))


def filter_mask(frame: pd.DataFrame, filters: Sequence[Filter], *, owner: str) -> np.ndarray:
    """Rows of `frame` that pass every filter (AND), as a boolean array."""
    mask = np.ones(len(frame), dtype=bool)
    for item in filters:
        if item.column not in frame.columns:
            raise FilterError(
                f"{owner}: filter column {item.column!r} is not in the dataset; "
                f"expected one of {sorted(map(str, frame.columns))}"
            )
        mask &= _one_mask(frame[item.column], item, owner)
    return mask


def _one_mask(column: pd.Series, item: Filter, owner: str) -> np.ndarray:
    present = column.notna().to_numpy(dtype=bool)
    if item.op == "is_null":
        return ~present
    if item.op == "not_null":
        return present
    if item.op in TEXT_OPS:
        return present & _text_mask(column, item, owner)
    if item.op in ("in", "not_in"):
        if item.values is None:
            raise FilterError(
                f"{owner}: filter on {item.column!r} with op {item.op!r} needs values"
            )
        values = [_coerce(column, v, owner) for v in item.values]
        hits = column.isin(values).to_numpy(dtype=bool, na_value=False)
        return present & (hits if item.op == "in" else ~hits)
    if item.value is None:
        raise FilterError(f"{owner}: filter on {item.column!r} with op {item.op!r} needs a value")
    value = _coerce(column, item.value, owner)
    compared = _COMPARE[item.op](column, value)
    return present & compared.to_numpy(dtype=bool, na_value=False)


def _text_mask(column: pd.Series, item: Filter, owner: str) -> np.ndarray:
    """Prefix or whole-value regular expression tests on the column's text."""
    text = column.astype("string")
    if item.op in ("starts_with", "not_starts_with"):
        prefixes = [item.value] if item.value is not None else list(item.values or [])
        if not prefixes:
            raise FilterError(
                f"{owner}: filter on {item.column!r} with op {item.op!r} needs a prefix"
            )
        hits = text.str.startswith(tuple(str(p) for p in prefixes))
    else:
        try:
            pattern = filter_pattern(str(item.value) if item.value is not None else "")
        except ValueError as exc:
            raise FilterError(f"{owner}: filter on {item.column!r}: {exc}") from None
        hits = text.str.fullmatch(pattern)
    found = hits.to_numpy(dtype=bool, na_value=False)
    return ~found if item.op.startswith("not_") else found


_COMPARE: dict[str, Any] = {
    "eq": lambda s, v: s == v,
    "ne": lambda s, v: s != v,
    "gt": lambda s, v: s > v,
    "ge": lambda s, v: s >= v,
    "lt": lambda s, v: s < v,
    "le": lambda s, v: s <= v,
}


def _coerce(column: pd.Series, value: Any, owner: str) -> Any:
    """Bring a YAML scalar to the column's type (account 4000 matches the text '4000')."""
    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return pd.Timestamp(value)
    if pd.api.types.is_bool_dtype(dtype):
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)
    if pd.api.types.is_numeric_dtype(dtype) and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise FilterError(
                f"{owner}: filter on numeric column {column.name!r} expects a number, "
                f"seen {value!r}"
            ) from None
    if pd.api.types.is_numeric_dtype(dtype):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
