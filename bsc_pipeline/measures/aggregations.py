"""Aggregations of one column over the rows of a span of months.

Rows are prepared once per measure (filtered, placed in a month, sorted by month), so any
period's rows are a contiguous slice: non-additive aggregations (median, p90, distinct counts)
are recomputed from the rows of the whole period instead of being combined from months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bsc_pipeline.spec.models import Aggregation

NUMERIC_AGGREGATIONS: frozenset[str] = frozenset({"sum", "mean", "median", "p90", "min", "max"})

_EPOCH_MONTH_INDEX = 1970 * 12


def column_values(
    column: pd.Series | None, agg: Aggregation
) -> tuple[np.ndarray, np.ndarray | None]:
    """A column as the arrays an aggregation reads: floats (or 1/NaN presence) and codes."""
    if column is None:
        return np.ones(0), None
    codes = pd.factorize(column)[0] if agg == "count_distinct" else None
    if agg in NUMERIC_AGGREGATIONS:
        numbers = pd.to_numeric(column, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    else:
        numbers = np.where(column.notna().to_numpy(dtype=bool), 1.0, np.nan)
    return numbers, codes


def month_index(dates: pd.Series) -> np.ndarray:
    """Months since year 0 (`Month.index`) of each date; -1 where the date is missing."""
    values = pd.to_datetime(dates, errors="coerce").to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(values)
    index = values.astype("datetime64[M]").astype(np.int64) + _EPOCH_MONTH_INDEX
    index[missing] = -1
    return index


@dataclass(frozen=True)
class MonthRows:
    """Values of matching rows sorted by the month they fall in.

    `numbers` holds the floats of rows that have a value (1.0 per row for counts), `codes` their
    factorized values for distinct counts; `month` places them. `row_month` places every
    matching row, with or without a value, so "no rows" and "no values" can be told apart.
    """

    month: np.ndarray
    numbers: np.ndarray
    codes: np.ndarray | None
    row_month: np.ndarray

    @classmethod
    def build(cls, months: np.ndarray, numbers: np.ndarray, codes: np.ndarray | None) -> MonthRows:
        """Sort once by month (a counting sort: months span a small range); drop undated rows."""
        keep = months >= 0
        if not keep.all():
            months, numbers = months[keep], numbers[keep]
            codes = None if codes is None else codes[keep]
        if months.size and not (months[:-1] <= months[1:]).all():
            offsets = (months - months.min()).astype(np.uint16)
            order = np.argsort(offsets, kind="stable")
            months, numbers = months[order], numbers[order]
            codes = None if codes is None else codes[order]
        valued = ~np.isnan(numbers)
        if valued.all():
            return cls(months, numbers, codes, months)
        return cls(
            months[valued], numbers[valued], None if codes is None else codes[valued], months
        )

    @classmethod
    def empty(cls) -> MonthRows:
        """No rows: the dataset has nothing staged in reach of the run."""
        nothing = np.empty(0, dtype=np.int64)
        return cls(nothing, np.empty(0), nothing, nothing)

    def aggregate(self, agg: Aggregation, first: int, last: int) -> tuple[float, int]:
        """The aggregate over months [first, last] and the number of matching rows in them.

        Counts of no rows are 0; every other aggregation of no values is NaN.
        """
        rows = _span(self.row_month, first, last)
        valued = _span(self.month, first, last)
        row_count = rows.stop - rows.start
        if agg == "count":
            return float(valued.stop - valued.start), row_count
        if agg == "count_distinct":
            assert self.codes is not None
            codes = self.codes[valued]
            # Codes are 0..k-1, so counting occupied bins is a linear-time distinct count.
            distinct = np.count_nonzero(np.bincount(codes)) if codes.size else 0
            return float(distinct), row_count
        numbers = self.numbers[valued]
        if numbers.size == 0:
            return float("nan"), row_count
        match agg:
            case "sum":
                result = numbers.sum()
            case "mean":
                result = numbers.mean()
            case "median":
                result = np.median(numbers)
            case "p90":
                result = np.percentile(numbers, 90)
            case "min":
                result = numbers.min()
            case "max":
                result = numbers.max()
        return float(result), row_count

    def distinct_codes(self, first: int, last: int) -> np.ndarray:
        """The distinct codes of valued rows in months [first, last], sorted."""
        assert self.codes is not None
        return np.unique(self.codes[_span(self.month, first, last)])


def _span(months: np.ndarray, first: int, last: int) -> slice:
    """Positions of sorted rows whose month index is within [first, last]."""
    lo = int(np.searchsorted(months, first, side="left"))
    hi = int(np.searchsorted(months, last, side="right"))
    return slice(lo, hi)
