"""Targets and thresholds per measure and period: the finance targets file over spec rules.

Finance maintains a CSV (`measure_id,period,target[,target_high,green,amber]`, period labels such
as `2025-03`, `FY2025-Q1`, `FY2025`); a row there overrides the measure's rule in the spec for
that period. Rules that need data (prior year × factor, budget) are resolved by the engine, which
passes the prior-year value and a budget lookup in.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bsc_pipeline.periods import Month, Period
from bsc_pipeline.spec.models import (
    BudgetTarget,
    ConstantTarget,
    PriorYearTarget,
    RangeTarget,
    Spec,
    Target,
    Thresholds,
)

NAN = float("nan")
TARGET_COLUMNS = ("measure_id", "period", "target")
OPTIONAL_COLUMNS = ("target_high", "green", "amber")
PERIOD_LABEL = re.compile(
    r"^(\d{4}-(0[1-9]|1[0-2])|FY\d{4}(-Q[1-4]|-YTD)?|TTM-\d{4}-(0[1-9]|1[0-2]))$"
)


class TargetsFileError(ValueError):
    """A targets file row that cannot be used: names file, line, column, expected and seen."""


@dataclass(frozen=True)
class FileTarget:
    """One row of the targets file; NaN where the file leaves a column empty."""

    target: float
    target_high: float = NAN
    green: float = NAN
    amber: float = NAN


@dataclass(frozen=True)
class ResolvedTarget:
    """What a measure-values row carries about its target; `note` says why one is missing."""

    target: float = NAN
    target_high: float = NAN
    green_bound: float = NAN
    amber_bound: float = NAN
    threshold_basis: str | None = None
    note: str | None = None


BudgetLookup = Callable[[BudgetTarget], tuple[float, str | None]]
"""Sum of the budget for the period under a rule: (value, why NaN)."""


class TargetBook:
    """Every measure's target rule and thresholds, with the targets file's rows on top."""

    def __init__(
        self,
        rules: Mapping[str, Target | None],
        thresholds: Mapping[str, list[Thresholds]],
        file_rows: Mapping[tuple[str, str], FileTarget] | None = None,
    ) -> None:
        self._rules = dict(rules)
        self._thresholds = dict(thresholds)
        self._file = dict(file_rows or {})

    @classmethod
    def from_spec(cls, spec: Spec, targets_file: Path | str | None = None) -> TargetBook:
        """Rules and thresholds from the spec, plus the targets file when one is given."""
        rules = {m.id: m.target for m in spec.measures}
        thresholds = {m.id: list(m.thresholds) for m in spec.measures}
        rows = read_targets_file(Path(targets_file), set(rules)) if targets_file else {}
        return cls(rules, thresholds, rows)

    def file_row(self, measure_id: str, period_label: str) -> FileTarget | None:
        return self._file.get((measure_id, period_label))

    def rule(self, measure_id: str) -> Target | None:
        return self._rules.get(measure_id)

    def thresholds_for(self, measure_id: str, last_month: Month) -> Thresholds | None:
        """The entry in force: the latest `from_period` at or before the period's last month."""
        in_force = [
            t
            for t in self._thresholds.get(measure_id, [])
            if t.from_period is None or Month.parse(t.from_period).index <= last_month.index
        ]
        if not in_force:
            return None
        return max(
            in_force,
            key=lambda t: -1 if t.from_period is None else Month.parse(t.from_period).index,
        )

    def resolve(
        self,
        measure_id: str,
        period: Period,
        *,
        prior_year_value: float,
        budget: BudgetLookup,
    ) -> ResolvedTarget:
        """Target, range and bounds of one measure for one period."""
        bounds = self.thresholds_for(measure_id, period.last)
        green = bounds.green if bounds else NAN
        amber = bounds.amber if bounds else NAN
        basis = bounds.basis if bounds else None
        row = self.file_row(measure_id, period.label)
        if row is not None:
            return ResolvedTarget(
                target=row.target,
                target_high=row.target_high,
                green_bound=green if math.isnan(row.green) else row.green,
                amber_bound=amber if math.isnan(row.amber) else row.amber,
                threshold_basis=basis,
            )
        target, high, note = _from_rule(self.rule(measure_id), prior_year_value, budget)
        return ResolvedTarget(target, high, green, amber, basis, note)


def _from_rule(
    rule: Target | None, prior_year_value: float, budget: BudgetLookup
) -> tuple[float, float, str | None]:
    match rule:
        case None:
            return NAN, NAN, "no target"
        case ConstantTarget():
            return rule.value, NAN, None
        case RangeTarget():
            return rule.low, rule.high, None
        case PriorYearTarget():
            if math.isnan(prior_year_value):
                return NAN, NAN, "no target: no prior-year value for prior_year_factor"
            return prior_year_value * rule.factor, NAN, None
        case BudgetTarget():
            value, why = budget(rule)
            return value, NAN, None if not math.isnan(value) else f"no target: {why}"
    raise TypeError(f"unknown target rule {rule!r}")


def read_targets_file(path: Path, measure_ids: set[str]) -> dict[tuple[str, str], FileTarget]:
    """Rows of a targets CSV keyed by (measure_id, period label); every problem is reported."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TargetsFileError(f"{path}: cannot read the targets file: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in TARGET_COLUMNS if c not in header]
    if missing:
        raise TargetsFileError(
            f"{path}, line 1: missing column(s) {missing}; expected header "
            f"{','.join(TARGET_COLUMNS + OPTIONAL_COLUMNS)} (last three optional), seen {header}"
        )
    rows: dict[tuple[str, str], FileTarget] = {}
    problems: list[str] = []
    for line, raw in enumerate(reader, start=2):
        record = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        where = f"{path}, line {line}"
        measure_id, label = record.get("measure_id", ""), record.get("period", "")
        if measure_id not in measure_ids:
            problems.append(f"{where}, column measure_id: unknown measure {measure_id!r}")
        if not PERIOD_LABEL.match(label):
            problems.append(
                f"{where}, column period: expected a label like 2025-03, FY2025-Q1 or FY2025, "
                f"seen {label!r}"
            )
        numbers: dict[str, float] = {}
        for column in ("target", *OPTIONAL_COLUMNS):
            cell = record.get(column, "")
            if cell == "" and column != "target":
                numbers[column] = NAN
                continue
            try:
                numbers[column] = float(cell)
            except ValueError:
                problems.append(f"{where}, column {column}: expected a number, seen {cell!r}")
                numbers[column] = NAN
        if (measure_id, label) in rows:
            problems.append(f"{where}: duplicate target for {measure_id} {label}")
        rows[(measure_id, label)] = FileTarget(**numbers)
    if problems:
        raise TargetsFileError("\n".join(problems))
    return rows


def load_targets(spec: Spec, targets_file: Path | str | None = None) -> TargetBook:
    """The spec's target rules with the finance targets file (if any) on top."""
    return TargetBook.from_spec(spec, targets_file)
