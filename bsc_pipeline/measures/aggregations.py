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

    `numbers` holds floats (NaN where missing) for numeric aggregations and counts; `codes`
    holds factorized values (-1 where missing) for distinct counts.
    """

    month: np.ndarray
    numbers: np.ndarray
    codes: np.ndarray | None

    @classmethod
    def build(cls, months: np.ndarray, values: pd.Series | None, agg: Aggregation) -> MonthRows:
        """Sort once by month; rows without a month (no date) are dropped."""
        keep = months >= 0
        order = np.argsort(months[keep], kind="stable")
        sorted_months = months[keep][order]
        if values is None:
            numbers = np.ones(len(sorted_months))
            return cls(sorted_months, numbers, None)
        kept = values[keep].iloc[order].reset_index(drop=True)
        codes = pd.factorize(kept)[0] if agg == "count_distinct" else None
        if agg in NUMERIC_AGGREGATIONS:
            numbers = pd.to_numeric(kept, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        else:
            numbers = np.where(kept.notna().to_numpy(dtype=bool), 1.0, np.nan)
        return cls(sorted_months, numbers, codes)

    @classmethod
    def empty(cls) -> MonthRows:
        """No rows: the dataset has nothing staged in reach of the run."""
        return cls(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int64))

    def span(self, first: int, last: int) -> slice:
        """Positions of rows whose month index is within [first, last]."""
        lo = int(np.searchsorted(self.month, first, side="left"))
        hi = int(np.searchsorted(self.month, last, side="right"))
        return slice(lo, hi)

    def aggregate(self, agg: Aggregation, first: int, last: int) -> tuple[float, int]:
        """The aggregate over months [first, last] and the number of rows that went into it.

        Counts of no rows are 0; every other aggregation of no values is NaN.
        """
        rows = self.span(first, last)
        if agg == "count_distinct":
            assert self.codes is not None
            codes = self.codes[rows]
            return float(np.unique(codes[codes >= 0]).size), codes.size
        numbers = self.numbers[rows]
        present = numbers[~np.isnan(numbers)]
        if agg == "count":
            return float(present.size), numbers.size
        if present.size == 0:
            return float("nan"), numbers.size
        match agg:
            case "sum":
                result = present.sum()
            case "mean":
                result = present.mean()
            case "median":
                result = np.median(present)
            case "p90":
                result = np.percentile(present, 90)
            case "min":
                result = present.min()
            case "max":
                result = present.max()
        return float(result), numbers.size
