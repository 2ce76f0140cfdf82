"""Computed columns: an allow-list of operations, or a checked row-level expression."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from bsc_pipeline.sources.contracts import ComputedColumn, DatasetContract
from bsc_pipeline.sources.row_evaluation import evaluate_rows


def _operand(frame: pd.DataFrame, arg: Any) -> Any:
    """A contract column name is that column; anything else is a literal."""
    if isinstance(arg, str) and arg in frame.columns:
        return frame[arg]
    return arg


def _numeric(value: Any) -> Any:
    return value.astype("Float64") if isinstance(value, pd.Series) else value


def _between(frame: pd.DataFrame, args: list[Any]) -> pd.Series:
    value, low, high = (_numeric(_operand(frame, a)) for a in args)
    return ((value >= low) & (value <= high)).astype("boolean")


def _hours_between(frame: pd.DataFrame, args: list[Any]) -> pd.Series:
    start, end = (_operand(frame, a) for a in args)
    return ((end - start).dt.total_seconds() / 3600.0).astype("float64")


def _not_after(frame: pd.DataFrame, args: list[Any]) -> pd.Series:
    left, right = (_operand(frame, a) for a in args)
    result = pd.Series(left <= right, index=frame.index, dtype="boolean")
    missing = pd.isna(left) | pd.isna(right)
    result[missing] = pd.NA
    return result


def _greater_than(frame: pd.DataFrame, args: list[Any]) -> pd.Series:
    left, right = (_numeric(_operand(frame, a)) for a in args)
    return pd.Series(left > right, index=frame.index).astype("boolean")


OPERATIONS: dict[str, Callable[[pd.DataFrame, list[Any]], pd.Series]] = {
    "between": _between,
    "hours_between": _hours_between,
    "not_after": _not_after,
    "greater_than": _greater_than,
}


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of the frame; one the frame lacks is missing on every row."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="object", name=name)


def compute_column(frame: pd.DataFrame, column: ComputedColumn) -> pd.Series:
    if column.expression is not None:
        evaluated = evaluate_rows(column.expression, lambda name: _column(frame, name), frame.index)
        return evaluated.values
    assert column.op is not None
    return OPERATIONS[column.op](frame, list(column.args))


def add_computed(frame: pd.DataFrame, contract: DatasetContract) -> pd.DataFrame:
    """The frame with the contract's computed columns added (missing inputs give missing)."""
    if not contract.computed:
        return frame
    out = frame.copy()
    for name, column in contract.computed.items():
        out[name] = compute_column(out, column)
    return out
