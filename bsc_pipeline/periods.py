"""Months, fiscal quarters and fiscal years: the calendar every finance rule hangs on.

A month is the unit of work. Longer periods are half-open date ranges `[start, end)` built from
whole months, so a neighbouring month is never touched. A fiscal year may start in any month and
is named by the calendar year in which it ends (FY2025 starting in April 2024 ends in March 2025).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

PeriodType = Literal["month", "quarter", "fiscal_year", "ytd", "ttm"]

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    """A month or period text that is not of the expected form."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH_RE.match(text.strip())
        if not match:
            raise PeriodError(f"expected a month as YYYY-MM (e.g. 2025-03), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """First day of the next month (exclusive end)."""
        return self.shift(1).start

    @property
    def index(self) -> int:
        """Months since year 0: differences of indexes count months."""
        return self.year * 12 + self.month - 1

    def shift(self, months: int) -> Month:
        i = self.index + months
        return Month(i // 12, i % 12 + 1)


def month_range(first: Month, last: Month) -> list[Month]:
    """Every month from `first` to `last`, both included."""
    return [first.shift(i) for i in range(last.index - first.index + 1)]


@dataclass(frozen=True)
class Period:
    """A span of whole months with its type and label."""

    period_type: PeriodType
    label: str
    first: Month
    last: Month

    @property
    def start(self) -> date:
        return self.first.start

    @property
    def end(self) -> date:
        return self.last.end

    @property
    def months(self) -> list[Month]:
        return month_range(self.first, self.last)

    def is_partial(self, as_of: Month) -> bool:
        """True when the period has not ended by the end of `as_of`."""
        return as_of.index < self.last.index

    def months_through(self, as_of: Month) -> list[Month]:
        """The months of the period up to and including `as_of`."""
        return [m for m in self.months if m.index <= as_of.index]


@dataclass(frozen=True)
class FiscalCalendar:
    """Quarters and years of a fiscal year that starts in `start_month` (1 = January)."""

    start_month: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.start_month <= 12:
            raise PeriodError(f"fiscal_year_start_month must be 1..12, got {self.start_month}")

    def fiscal_year(self, month: Month) -> int:
        """The calendar year in which the fiscal year containing `month` ends."""
        if self.start_month == 1:
            return month.year
        return month.year + 1 if month.month >= self.start_month else month.year

    def year_start(self, month: Month) -> Month:
        fy = self.fiscal_year(month)
        return Month(fy, 1) if self.start_month == 1 else Month(fy - 1, self.start_month)

    def quarter_number(self, month: Month) -> int:
        return (month.index - self.year_start(month).index) // 3 + 1

    def quarter(self, month: Month) -> Period:
        q = self.quarter_number(month)
        first = self.year_start(month).shift((q - 1) * 3)
        label = f"FY{self.fiscal_year(month)}-Q{q}"
        return Period("quarter", label, first, first.shift(2))

    def year(self, month: Month) -> Period:
        first = self.year_start(month)
        return Period("fiscal_year", f"FY{self.fiscal_year(month)}", first, first.shift(11))

    def ytd(self, month: Month) -> Period:
        """Fiscal year to date through `month`: resets at each fiscal year start."""
        return Period("ytd", f"FY{self.fiscal_year(month)}-YTD", self.year_start(month), month)

    def periods_for(self, month: Month) -> list[Period]:
        """Every period a monthly run of `month` computes: month, quarter, year, YTD, TTM."""
        return [
            Period("month", str(month), month, month),
            self.quarter(month),
            self.year(month),
            self.ytd(month),
            Period("ttm", f"TTM-{month}", month.shift(-11), month),
        ]

    def prior_period(self, period: Period) -> Period:
        """The period of the same type and length just before `period`."""
        length = period.last.index - period.first.index + 1
        first = period.first.shift(-length)
        return self._relabel(period, first, first.shift(length - 1))

    def prior_year(self, period: Period) -> Period:
        """The same period one year earlier, aligned to calendar months."""
        return self._relabel(period, period.first.shift(-12), period.last.shift(-12))

    def _relabel(self, period: Period, first: Month, last: Month) -> Period:
        match period.period_type:
            case "month":
                return Period("month", str(first), first, last)
            case "quarter":
                return Period("quarter", self.quarter(first).label, first, last)
            case "fiscal_year":
                return Period("fiscal_year", self.year(first).label, first, last)
            case "ytd":
                return Period("ytd", self.ytd(last).label, first, last)
            case "ttm":
                return Period("ttm", f"TTM-{last}", first, last)
