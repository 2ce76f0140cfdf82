"""Growth: the same month at 1/16, 1/4 and all of the large month's rows, against a tiny month.

A run costs a fixed part plus a part that grows with the rows. The fixed part is the tiny (demo)
month's pipeline seconds; the growing part of a bigger month is what it costs beyond that, per
million input rows beyond the tiny month's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks.month import MonthResult

GROWTH_FRACTIONS = (1 / 16, 1 / 4, 1.0)
GROWTH_LIMIT = 4.4 / 4
"""Each 4× of rows may cost at most 4.4× the growing part: 1.1 × the growth of the rows."""


@dataclass(frozen=True)
class GrowthStep:
    """One size of the month, compared with the tiny month and with the step before it."""

    name: str
    rows: int
    pipeline_seconds: float
    growing_seconds: float
    growing_per_million: float
    floor_per_million: float
    peer_per_million: float
    peak_mib: float
    rows_ratio: float
    cost_ratio: float

    @property
    def times_floor(self) -> float:
        return self.growing_per_million / self.floor_per_million

    @property
    def near_linear(self) -> bool:
        return math.isnan(self.cost_ratio) or self.cost_ratio <= GROWTH_LIMIT * self.rows_ratio


def fitted_per_million(months: list[MonthResult], seconds: str = "pipeline") -> float:
    """Least-squares slope of seconds over input rows across the growth runs (s per M rows).

    Less sensitive to one noisy run than any single difference; NaN with fewer than two runs.
    """
    if len(months) < 2:
        return math.nan
    xs = [m.input_rows / 1e6 for m in months]
    ys = [m.pipeline_seconds if seconds == "pipeline" else m.floor.seconds for m in months]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return math.nan
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def growth_steps(tiny: MonthResult, months: list[MonthResult]) -> list[GrowthStep]:
    """Growing part of each month beyond the tiny one, and its ratio to the previous step's."""
    steps: list[GrowthStep] = []
    for result in sorted(months, key=lambda r: r.input_rows):
        extra_rows = result.input_rows - tiny.input_rows
        growing = result.pipeline_seconds - tiny.pipeline_seconds
        before = steps[-1] if steps else None
        steps.append(
            GrowthStep(
                name=result.name,
                rows=result.input_rows,
                pipeline_seconds=result.pipeline_seconds,
                growing_seconds=growing,
                growing_per_million=growing / extra_rows * 1e6 if extra_rows > 0 else math.nan,
                floor_per_million=result.per_million(result.floor.seconds),
                peer_per_million=result.per_million(result.peer.seconds),
                peak_mib=result.stages.peak_mib,
                rows_ratio=(extra_rows / (before.rows - tiny.input_rows)) if before else math.nan,
                cost_ratio=(growing / before.growing_seconds) if before else math.nan,
            )
        )
    return steps
