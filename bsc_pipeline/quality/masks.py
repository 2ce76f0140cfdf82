"""Row rules as vectorized pandas masks, each with the reason a failing row was set aside.

GX `COMPLETE` results would name every failing row too, but are far slower on big frames; a
boolean mask costs one pass over a column and gives the quarantine exactly the rows it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bsc_pipeline.periods import Month
from bsc_pipeline.quality.json_safe import json_safe
from bsc_pipeline.quality.suites import RowRule
from bsc_pipeline.sources.pii import mask_columns

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class RowFailures:
    """Which rows fail a rule (positional mask), why, and a few offending values."""

    mask: np.ndarray
    reasons: pd.Series
    sample: list[object]

    @property
    def count(self) -> int:
        return int(self.mask.sum())


def evaluate_row_rule(
    rule: RowRule,
    frame: pd.DataFrame,
    month: Month,
    known: pd.Series | None,
    pii: Collection[str] = (),
) -> RowFailures:
    """Apply one row rule; `known` holds the reference values for `in_reference` rules.

    Reasons and samples show the values of `pii` columns masked.
    """
    check = _CHECKS[rule.kind]
    mask = np.asarray(check(rule, frame, month, known), dtype=bool)
    bad = frame.iloc[np.flatnonzero(mask)]
    shown = mask_columns(bad, pii)
    return RowFailures(
        mask=mask,
        reasons=_reason(rule, bad, shown, month),
        sample=_sample(rule, shown),
    )


def _not_null(rule: RowRule, frame: pd.DataFrame, month: Month, known: object) -> np.ndarray:
    values = frame[rule.columns[0]]
    missing = values.isna().to_numpy()
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        missing = missing | values.str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    return missing


def _unique(rule: RowRule, frame: pd.DataFrame, month: Month, known: object) -> np.ndarray:
    keys = frame[list(rule.columns)]
    complete = keys.notna().all(axis=1).to_numpy()
    return complete & keys.duplicated(keep=False).to_numpy()


def _allowed(rule: RowRule, frame: pd.DataFrame, month: Month, known: object) -> np.ndarray:
    values = frame[rule.columns[0]]
    return (values.notna() & ~values.isin(rule.allowed)).to_numpy(dtype=bool)


def _range(rule: RowRule, frame: pd.DataFrame, month: Month, known: object) -> np.ndarray:
    values = pd.to_numeric(frame[rule.columns[0]], errors="coerce").to_numpy(dtype=float)
    bad = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if rule.min_value is not None:
            bad |= values < rule.min_value
        if rule.max_value is not None:
            bad |= values > rule.max_value
    return bad


def _finite(rule: RowRule, frame: pd.DataFrame, month: Month, known: object) -> np.ndarray:
    values = pd.to_numeric(frame[rule.columns[0]], errors="coerce").to_numpy(dtype=float)
    return np.isinf(values)


def _in_reference(
    rule: RowRule, frame: pd.DataFrame, month: Month, known: pd.Series | None
) -> np.ndarray:
    values = frame[rule.columns[0]]
    present = values.notna().to_numpy(dtype=bool)
    if known is None or not len(known):
        return present
    # pyarrow's hash lookup: pandas' isin on Arrow strings builds a Python scalar per reference
    # value, which took most of the gate's time on a month with 1.5 M accounts.
    column = pa.array(values, from_pandas=True)
    reference = pa.array(known, from_pandas=True).drop_null().unique()
    if reference.type != column.type:
        reference = reference.cast(column.type)
    found = pc.fill_null(pc.is_in(column, value_set=reference), False)
    return present & ~found.to_numpy(zero_copy_only=False)


def _in_month(rule: RowRule, frame: pd.DataFrame, month: Month, known: object) -> np.ndarray:
    values = frame[rule.columns[0]]
    start, end = pd.Timestamp(month.start), pd.Timestamp(month.end)
    return (values.notna() & ((values < start) | (values >= end))).to_numpy(dtype=bool)


def _not_before(rule: RowRule, frame: pd.DataFrame, month: Month, known: object) -> np.ndarray:
    later, earlier = frame[rule.columns[0]], frame[str(rule.other_column)]
    return (later.notna() & earlier.notna() & (later < earlier)).to_numpy(dtype=bool)


_CHECKS: dict[str, Callable[..., np.ndarray]] = {
    "not_null": _not_null,
    "unique": _unique,
    "allowed": _allowed,
    "range": _range,
    "finite": _finite,
    "in_reference": _in_reference,
    "in_month": _in_month,
    "not_before": _not_before,
}


def _text(values: pd.Series) -> pd.Series:
    """Values as display text, vectorized; timestamps at midnight show as dates."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        at_midnight = bool((values.dropna() == values.dropna().dt.normalize()).all())
        return values.dt.strftime("%Y-%m-%d" if at_midnight else "%Y-%m-%d %H:%M:%S").astype(str)
    return values.astype(str)


def _reason(rule: RowRule, bad: pd.DataFrame, masked: pd.DataFrame, month: Month) -> pd.Series:
    """Why each row failed, naming values as `masked` shows them (counts from the real values)."""
    column = rule.columns[0]
    if bad.empty:
        return pd.Series([], dtype=str)
    if rule.kind == "not_null":
        return pd.Series(f"{column} is empty (required)", index=bad.index)
    if rule.kind == "unique":
        label = pd.Series("", index=bad.index, dtype=str)
        for i, name in enumerate(rule.columns):
            label = label + ("" if i == 0 else ", ") + f"{name}=" + _text(masked[name])
        keys = bad[list(rule.columns)]
        group = keys.groupby(list(rule.columns), dropna=False).ngroup()
        counts = group.map(group.value_counts())
        return "key " + label + " appears " + counts.astype(str) + " times"
    shown = _text(masked[column])
    if rule.kind == "allowed":
        return f"{column} '" + shown + f"' is not one of: {', '.join(rule.allowed)}"
    if rule.kind == "range":
        low = "-inf" if rule.min_value is None else f"{rule.min_value:g}"
        high = "inf" if rule.max_value is None else f"{rule.max_value:g}"
        return f"{column} " + shown + f" is outside [{low}, {high}]"
    if rule.kind == "finite":
        return f"{column} is " + shown + ", expected a finite number"
    if rule.kind == "in_reference":
        return f"{column} '" + shown + f"' is not in {rule.reference}"
    if rule.kind == "in_month":
        return f"{column} " + shown + f" is outside the partition month {month}"
    other = str(rule.other_column)
    return f"{column} " + shown + f" is before {other} " + _text(masked[other])


def _sample(rule: RowRule, bad: pd.DataFrame) -> list[object]:
    if bad.empty:
        return []
    if rule.kind == "not_null":
        return [None]
    if rule.kind == "unique":
        keys = bad[list(rule.columns)].drop_duplicates().head(SAMPLE_SIZE)
        return [json_safe(list(row)) for row in keys.itertuples(index=False)]
    column = bad[rule.columns[0]]
    values = column.drop_duplicates().head(SAMPLE_SIZE)
    return [json_safe(v) for v in values.tolist()]
