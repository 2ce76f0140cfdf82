"""The measure engine: every measure of a spec for every period of one monthly run.

Plain, typed pandas/numpy. Each measure is evaluated over a *window*: the months of a period up
to the run's month (a quarter as of February is its first two months). Values are memoized per
measure and window, so ratios, derived and change measures reuse their parts, and the prior
period / prior year comparisons are the same evaluation on a shifted window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from bsc_pipeline.frames import MEASURE_VALUE_COLUMNS, UPDATES_DATASET
from bsc_pipeline.measures.aggregations import (
    NUMERIC_AGGREGATIONS,
    MonthRows,
    column_values,
    month_index,
)
from bsc_pipeline.measures.dependencies import BUDGET_AMOUNT, MeasureGraph
from bsc_pipeline.measures.errors import MeasureError
from bsc_pipeline.measures.filters import filter_columns, filter_mask
from bsc_pipeline.measures.loading import LOST_PREFIX, FrameLoader, StagedData, dataset_infos
from bsc_pipeline.measures.targets import TargetBook
from bsc_pipeline.periods import FiscalCalendar, Month, Period, month_range
from bsc_pipeline.spec.evaluation import evaluate
from bsc_pipeline.spec.models import (
    BaseMeasure,
    BudgetTarget,
    ChangeMeasure,
    DerivedMeasure,
    ManualMeasure,
    Measure,
    RatioMeasure,
    RetentionMeasure,
    SnapshotMeasure,
    Spec,
)

NAN = float("nan")
BUDGET_DATASET = "budget"


@dataclass(frozen=True)
class Window:
    """The months of `period` counted as of a run: through `through`, never past the period."""

    period: Period
    through: Month

    @classmethod
    def of(cls, period: Period, as_of: Month) -> Window:
        through = as_of if as_of.index < period.last.index else period.last
        return cls(period, through)

    @property
    def months(self) -> list[Month]:
        return self.period.months_through(self.through)

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.period.first.index, self.period.last.index, self.through.index)


@dataclass(frozen=True)
class Evaluation:
    """A measure's value over a window and what the data behind it looked like."""

    value: float
    numerator: float = NAN
    denominator: float = NAN
    held: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()
    reason: str | None = None
    not_started: bool = False
    """No value because a source had not started yet (data_state `not_started`)."""


def compute_measure_values(
    spec: Spec,
    month: str,
    loader: FrameLoader,
    *,
    contracts: Mapping[str, Any],
    targets: TargetBook | None = None,
) -> pd.DataFrame:
    """Measure values of every measure × period of the run of `month` (MEASURE_VALUE_COLUMNS)."""
    engine = MeasureEngine(spec, Month.parse(month), loader, contracts=contracts)
    return engine.measure_values(targets or TargetBook.from_spec(spec))


class MeasureEngine:
    """Evaluates measures over windows for one run month, reading each staged frame once."""

    def __init__(
        self, spec: Spec, as_of: Month, loader: FrameLoader, *, contracts: Mapping[str, Any]
    ) -> None:
        self.spec = spec
        self.as_of = as_of
        self.calendar = FiscalCalendar(spec.scorecard.fiscal_year_start_month)
        self.data = StagedData(loader, dataset_infos(contracts))
        self.graph = MeasureGraph.from_spec(spec)
        self.measures: dict[str, Measure] = self.graph.measures
        self.horizon = self._horizon()
        self._memo: dict[tuple[str, tuple[int, int, int], str], Evaluation] = {}
        self._rows: dict[str, MonthRows] = {}
        self._month_idx: dict[tuple[str, str], np.ndarray] = {}
        self._ends: dict[tuple[str, int], float | None] = {}
        self._aggregates: dict[tuple[str, int, int], tuple[float, int]] = {}
        self._columns: dict[tuple[str, str, object], tuple[np.ndarray, Any]] = {}
        self._reported: dict[str, dict[int, float]] | None = None

    def measure_values(self, targets: TargetBook) -> pd.DataFrame:
        """One row per measure (spec order) × period type of the run month."""
        periods = self.calendar.periods_for(self.as_of)
        rows = [
            self._row(mid, Window.of(p, self.as_of), targets)
            for mid in self.measures
            for p in periods
        ]
        frame = pd.DataFrame(rows, columns=list(MEASURE_VALUE_COLUMNS))
        for column in ("period_start", "period_end"):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
        frame["is_partial"] = frame["is_partial"].astype(bool)
        return frame

    def evaluate(self, measure_id: str, window: Window) -> Evaluation:
        """The measure over the window, memoized."""
        measure = self.measures[measure_id]
        key = (measure_id, window.key, _compares_with(measure, window))
        if key not in self._memo:
            self._memo[key] = self._compute(measure, window)
        return self._memo[key]

    def prior(self, window: Window, versus: str) -> Window:
        """The comparison window: prior period or same period last year, as of the same point."""
        if versus == "prior_period":
            period = self.calendar.prior_period(window.period)
        else:
            period = self.calendar.prior_year(window.period)
        offset = period.first.index - window.period.first.index
        return Window.of(period, window.through.shift(offset))

    def comparison(self, measure_id: str, window: Window, versus: str) -> float:
        """The measure over the comparison window; NaN unless that window's data is whole.

        A trailing twelve months of which nine were never staged is not last year's figure.
        """
        base = self.evaluate(measure_id, self.prior(window, versus))
        return NAN if base.gaps else base.value

    def _row(self, measure_id: str, window: Window, targets: TargetBook) -> dict[str, Any]:
        result = self._with_lost_comparisons(measure_id, window)
        period = window.period
        prior_year = self.comparison(measure_id, window, "prior_year")
        target = targets.resolve(
            measure_id,
            period,
            prior_year_value=prior_year,
            budget=lambda rule: self._budget(rule, window),
        )
        state, notes = _state(result, period, self.as_of, window)
        measure = self.measures[measure_id]
        if target.note and measure.objective is not None:
            notes.append(target.note)
        return {
            "measure_id": measure_id,
            "period_type": period.period_type,
            "period": period.label,
            "period_start": period.start,
            "period_end": period.end,
            "as_of_month": str(self.as_of),
            "is_partial": period.is_partial(self.as_of),
            "numerator": result.numerator,
            "denominator": result.denominator,
            "value": result.value,
            "target": target.target,
            "target_high": target.target_high,
            "green_bound": target.green_bound,
            "amber_bound": target.amber_bound,
            "threshold_basis": target.threshold_basis,
            "prior_period_value": self.comparison(measure_id, window, "prior_period"),
            "prior_year_value": prior_year,
            "data_state": state,
            "data_note": "; ".join(notes) if notes else None,
        }

    def _with_lost_comparisons(self, measure_id: str, window: Window) -> Evaluation:
        """The evaluation, held too when a comparison window reads a month that is lost.

        Its prior-period and prior-year figures would otherwise move to nothing unannounced.
        """
        result = self.evaluate(measure_id, window)
        lost = [
            note
            for versus in ("prior_period", "prior_year")
            for note in self.evaluate(measure_id, self.prior(window, versus)).held
            if note.startswith(LOST_PREFIX)
        ]
        if not lost:
            return result
        return replace(result, held=tuple(dict.fromkeys((*result.held, *lost))))

    def _compute(self, measure: Measure, window: Window) -> Evaluation:
        match measure:
            case BaseMeasure():
                return self._base(measure, window)
            case RatioMeasure():
                return self._ratio(measure, window)
            case SnapshotMeasure():
                return self._snapshot(measure, window)
            case RetentionMeasure():
                return self._retention(measure, window)
            case DerivedMeasure():
                return self._derived(measure, window)
            case ChangeMeasure():
                return self._change(measure, window)
            case ManualMeasure():
                return self._manual(measure, window)
        raise MeasureError(f"measure {measure.id}: unknown kind")

    def _base(self, measure: BaseMeasure, window: Window) -> Evaluation:
        source = measure.source
        months = window.months
        held = self._held(source, months)
        missing, gaps = self._unstaged(source, months)
        if len(missing) == len(months):
            return self._nothing(source, months, held, gaps)
        value, rows = self._aggregate(measure, months[0].index, months[-1].index)
        reason = None
        if math.isnan(value):
            reason = "no rows" if rows == 0 else f"no values in {measure.column}"
        value *= measure.scale
        return Evaluation(value, value, NAN, held, gaps, reason)

    def _ratio(self, measure: RatioMeasure, window: Window) -> Evaluation:
        num = self.evaluate(measure.numerator, window)
        den = self.evaluate(measure.denominator, window)
        held, gaps = _merge(num, den)
        if math.isnan(den.value):
            why = f"no denominator ({measure.denominator}: {den.reason or 'no value'})"
            early = den.not_started
            return Evaluation(NAN, num.value, den.value, held, gaps, why, early)
        if den.value == 0:
            why = f"zero denominator ({measure.denominator})"
            return Evaluation(NAN, num.value, den.value, held, gaps, why)
        if math.isnan(num.value):
            why = f"no numerator ({measure.numerator}: {num.reason or 'no value'})"
            early = num.not_started
            return Evaluation(NAN, num.value, den.value, held, gaps, why, early)
        value = num.value / den.value * measure.scale
        if measure.annualise:
            value *= 12 / len(window.months)
        return Evaluation(value, num.value, den.value, held, gaps)

    def _snapshot(self, measure: SnapshotMeasure, window: Window) -> Evaluation:
        months = window.months
        source = measure.source
        held = self._held(source, months)
        early = self._early(source, months)
        ends = [(m, None if m in early else self._month_end(measure, m)) for m in months]
        with_data = [(m, v) for m, v in ends if v is not None]
        missing = [m for m, v in ends if v is None and m not in early]
        if not with_data:
            none = (*_not_started(source, early), *_not_staged(source, missing))
            return self._nothing(source, months, held, none)
        gaps: list[str] = []
        if measure.rollup == "period_end":
            # Earlier month ends do not enter a period-end value, so only a missing end matters.
            last, value = with_data[-1]
            if last != months[-1]:
                gaps.extend(_not_staged(source, [m for m in missing if m > last]))
                gaps.append(f"period-end value taken at the end of {last}")
        else:
            gaps.extend(_not_started(source, early))
            gaps.extend(_not_staged(source, missing))
            present = [v for _, v in with_data if not math.isnan(v)]
            value = sum(present) / len(present) if present else NAN
        reason = None if not math.isnan(value) else "no rows active at month end"
        return Evaluation(value, value, NAN, held, tuple(gaps), reason)

    def _retention(self, measure: RetentionMeasure, window: Window) -> Evaluation:
        """Keys active in the window and in the whole previous period, over those of the latter."""
        source = measure.source
        before = self.previous_whole(window)
        months, earlier = window.months, before.months
        held = self._held(source, [*earlier, *months])
        missing_now, gaps_now = self._unstaged(source, months)
        missing_before, gaps_before = self._unstaged(source, earlier)
        gaps = (*gaps_before, *gaps_now)
        for missing, span in ((missing_before, earlier), (missing_now, months)):
            if len(missing) == len(span):
                return self._nothing(source, span, held, gaps)
        rows = self._key_rows(measure)
        previous = rows.distinct_codes(earlier[0].index, earlier[-1].index)
        if previous.size == 0:
            why = f"zero denominator (no {measure.key} active in {before.period.label})"
            return Evaluation(NAN, NAN, 0.0, held, gaps, why)
        current = rows.distinct_codes(months[0].index, months[-1].index)
        retained = float(np.intersect1d(previous, current, assume_unique=True).size)
        value = retained / previous.size * measure.scale
        return Evaluation(value, retained, float(previous.size), held, gaps)

    def previous_whole(self, window: Window) -> Window:
        """The whole period a retention compares with: the previous period of the same type,
        or for a year to date the whole previous fiscal year."""
        if window.period.period_type == "ytd":
            period = self.calendar.year(window.period.first.shift(-1))
        else:
            period = self.calendar.prior_period(window.period)
        return Window(period, period.last)

    def _derived(self, measure: DerivedMeasure, window: Window) -> Evaluation:
        formula = self.graph.formulas[measure.id]
        inputs = {name: self.evaluate(name, window) for name in sorted(formula.names)}
        result = evaluate(formula, {name: e.value for name, e in inputs.items()})
        value = float(result) if not isinstance(result, pd.Series) else NAN
        held, gaps = _merge(*inputs.values())
        reason, early = None, False
        if math.isnan(value):
            missing = [name for name, e in inputs.items() if math.isnan(e.value)]
            reason = (
                f"no value for {', '.join(missing)}"
                if missing
                else "formula has no value (division by zero)"
            )
            why_early = [inputs[name].reason for name in missing if inputs[name].not_started]
            early = bool(why_early)
            if why_early:
                reason += f" ({why_early[0]})"
        return Evaluation(value, value, NAN, held, gaps, reason, early)

    def _change(self, measure: ChangeMeasure, window: Window) -> Evaluation:
        base_window = self.prior(window, measure.versus)
        current = self.evaluate(measure.of, window)
        base = self.evaluate(measure.of, base_window)
        held, _ = _merge(current, base)
        gaps = current.gaps
        label = base_window.period.label
        versus = measure.versus.replace("_", " ")
        reason = None
        if math.isnan(base.value):
            reason = f"no {versus} value of {measure.of} ({label})"
        elif base.gaps:
            reason = f"{versus} value of {measure.of} ({label}) is incomplete: {base.gaps[0]}"
        elif measure.change_as == "percent" and base.value == 0:
            reason = f"zero base: {measure.of} was 0 in {label}"
        elif math.isnan(current.value):
            reason = f"no value of {measure.of}"
        if reason:
            early = base.not_started or current.not_started
            return Evaluation(NAN, held=held, gaps=gaps, reason=reason, not_started=early)
        value = current.value - base.value
        if measure.change_as == "percent":
            value = value / abs(base.value) * 100
        return Evaluation(value, value, NAN, held, gaps)

    def _manual(self, measure: ManualMeasure, window: Window) -> Evaluation:
        """The owner's reported values over the window; a month not reported is no data, not 0."""
        months = window.months
        held = self._held(UPDATES_DATASET, months)
        reported = self._reported_values().get(measure.id, {})
        present = [(m, reported[m.index]) for m in months if m.index in reported]
        missing = [m for m in months if m.index not in reported]
        if not present:
            why = f"no value reported for {_span(months)}"
            return Evaluation(
                NAN, held=held, gaps=_month_runs("not reported:", missing), reason=why
            )
        gaps: list[str] = []
        if measure.aggregation == "last":
            last, value = present[-1]
            if last != months[-1]:
                gaps.extend(_month_runs("not reported:", [m for m in missing if m > last]))
                gaps.append(f"period-end value taken at {last}")
        else:
            gaps.extend(_month_runs("not reported:", missing))
            values = [v for _, v in present]
            value = sum(values) if measure.aggregation == "sum" else sum(values) / len(values)
        return Evaluation(value, value, NAN, held, tuple(gaps))

    def _reported_values(self) -> dict[str, dict[int, float]]:
        """Each manual measure's reported value per month index, from the staged update files."""
        if self._reported is None:
            self._reported = {}
            frame = self._source_frame(UPDATES_DATASET)
            if frame is not None and len(frame):
                numbers = pd.to_numeric(frame["value"], errors="coerce")
                months = month_index(frame["period"])
                for measure_id, month, number in zip(
                    frame["measure_id"], months, numbers, strict=True
                ):
                    if month >= 0 and not pd.isna(number):
                        self._reported.setdefault(str(measure_id), {})[int(month)] = float(number)
        return self._reported

    def _held(self, dataset: str, months: Iterable[Month]) -> tuple[str, ...]:
        notes = []
        for month in months:
            reason = self.data.gate_failure(dataset, str(month))
            if reason is not None and reason.startswith(LOST_PREFIX):
                notes.append(reason)
            elif reason is not None:
                notes.append(f"gate failed: {dataset} {month}: {reason}")
        return tuple(notes)

    def _source_frame(self, dataset: str) -> pd.DataFrame | None:
        """Rows of a dataset for period measures: the run's snapshot, or every month in reach."""
        if self.data.info(dataset).mode == "snapshot":
            return self.data.frame(dataset, [str(self.as_of)])
        months = [str(m) for m in month_range(self.horizon, self.as_of)]
        return self.data.frame(dataset, months)

    def _dated(self, dataset: str, column: str, frame: pd.DataFrame) -> np.ndarray:
        key = (dataset, column)
        if key not in self._month_idx:
            self._month_idx[key] = month_index(frame[column])
        return self._month_idx[key]

    def _aggregate(self, measure: BaseMeasure, first: int, last: int) -> tuple[float, int]:
        """The aggregation over a span of months; periods with the same months share it."""
        key = (measure.id, first, last)
        if key not in self._aggregates:
            self._aggregates[key] = self._base_rows(measure).aggregate(measure.agg, first, last)
        return self._aggregates[key]

    def _key_rows(self, measure: RetentionMeasure) -> MonthRows:
        """Rows of matching keys by month, with the keys as codes (no key: not active)."""
        if measure.id in self._rows:
            return self._rows[measure.id]
        date_column = self._date_column(measure)
        frame = self._source_frame(measure.source)
        if frame is None:
            self._rows[measure.id] = MonthRows.empty()
            return self._rows[measure.id]
        needed = [date_column, measure.key, *filter_columns(measure.filters)]
        _require_columns(f"measure {measure.id}", measure.source, frame, needed)
        mask = filter_mask(frame, measure.filters, owner=f"measure {measure.id}")
        months = self._dated(measure.source, date_column, frame)[mask]
        codes = pd.factorize(frame[measure.key])[0][mask]
        numbers = np.where(codes >= 0, 1.0, np.nan)
        self._rows[measure.id] = MonthRows.build(months, numbers, codes)
        return self._rows[measure.id]

    def _date_column(self, measure: BaseMeasure | RetentionMeasure) -> str:
        date_column = measure.date_column or self.data.info(measure.source).month_column
        if date_column is None:
            raise MeasureError(
                f"measure {measure.id}: dataset {measure.source} has no month column; "
                "set date_column to the date that places a row in a month"
            )
        return date_column

    def _unstaged(self, source: str, months: list[Month]) -> tuple[list[Month], tuple[str, ...]]:
        """Months of a window without data for a dataset (not started, or not staged), and the
        notes that say so."""
        early = self._early(source, months)
        started = [m for m in months if m not in early]
        info = self.data.info(source)
        if info.mode == "snapshot":
            missing = self._not_covered(source, info.month_column, started)
            notes = _month_runs(f"not covered by the {source} snapshot:", missing)
        else:
            missing = [m for m in started if not self.data.has_month(source, str(m))]
            notes = _not_staged(source, missing)
        return [*early, *missing], (*_not_started(source, early), *notes)

    def _early(self, source: str, months: list[Month]) -> list[Month]:
        """Months of the window before the dataset's source started delivering."""
        return [m for m in months if self.data.not_started(source, str(m)) is not None]

    def _nothing(
        self, source: str, months: list[Month], held: tuple[str, ...], gaps: tuple[str, ...]
    ) -> Evaluation:
        """No data for any month of a span: the source had not started, or nothing was staged."""
        early = self._early(source, months)
        if len(early) == len(months):
            why = self.data.not_started(source, str(months[-1]))
            return Evaluation(NAN, held=held, gaps=gaps, reason=why, not_started=True)
        why = f"no data staged: {source} {_span(months)}"
        return Evaluation(NAN, held=held, gaps=gaps, reason=why)

    def _not_covered(
        self, dataset: str, month_column: str | None, months: list[Month]
    ) -> list[Month]:
        """Months of the window a snapshot has no data for.

        A monthly snapshot (a budget with a month column) holds the months it reaches back to;
        months before its first row have no data, which is not the same as 0. An undated
        snapshot (an HR master file) is the whole truth for every month: a measure dating its
        rows by another column (leavers by termination date) counts 0 in a month none fall in.
        """
        if month_column is None:
            return [] if self._source_frame(dataset) is not None else list(months)
        start = self._coverage_start(dataset, month_column)
        return [m for m in months if start is None or m.index < start]

    def _coverage_start(self, dataset: str, date_column: str) -> int | None:
        """First month (index) a snapshot dataset has a row in, None when it has none."""
        frame = self._source_frame(dataset)
        if frame is None or date_column not in frame.columns:
            return None
        months = self._dated(dataset, date_column, frame)
        dated = months[months >= 0]
        return int(dated.min()) if dated.size else None

    def _base_rows(self, measure: BaseMeasure) -> MonthRows:
        if measure.id in self._rows:
            return self._rows[measure.id]
        date_column = self._date_column(measure)
        if measure.column is None and measure.agg != "count":
            raise MeasureError(f"measure {measure.id}: agg {measure.agg} needs a column")
        frame = self._source_frame(measure.source)
        if frame is None:
            self._rows[measure.id] = MonthRows.empty()
            return self._rows[measure.id]
        needed = [date_column, *([measure.column] if measure.column else [])]
        _require_columns(
            f"measure {measure.id}", measure.source, frame, needed + filter_columns(measure.filters)
        )
        mask = filter_mask(frame, measure.filters, owner=f"measure {measure.id}")
        months = self._dated(measure.source, date_column, frame)[mask]
        if measure.column is None:
            rows = MonthRows.build(months, np.ones(months.size), None)
        else:
            numbers, codes = self._column(measure, frame)
            rows = MonthRows.build(months, numbers[mask], None if codes is None else codes[mask])
        self._rows[measure.id] = rows
        return rows

    def _column(self, measure: BaseMeasure, frame: pd.DataFrame) -> tuple[np.ndarray, Any]:
        """The measure's column as arrays, converted once per dataset, column and use."""
        assert measure.column is not None
        use = "codes" if measure.agg == "count_distinct" else measure.agg in NUMERIC_AGGREGATIONS
        key = (measure.source, measure.column, use)
        if key not in self._columns:
            try:
                self._columns[key] = column_values(frame[measure.column], measure.agg)
            except (TypeError, ValueError) as exc:
                raise MeasureError(
                    f"measure {measure.id}: agg {measure.agg} needs numbers but column "
                    f"{measure.column} of {measure.source} holds {frame[measure.column].dtype}"
                ) from exc
        return self._columns[key]

    def _month_end(self, measure: SnapshotMeasure, month: Month) -> float | None:
        """Value of rows active on the last day of `month`; None when that month has no data."""
        key = (measure.id, month.index)
        if key in self._ends:
            return self._ends[key]
        source = measure.source
        result: float | None = None
        if self.data.has_month(source, str(month)):
            if self.data.info(source).mode == "snapshot":
                frame = self.data.frame(source, [str(month)])
            else:
                frame = self._source_frame(source)
            result = _active_value(measure, frame, pd.Timestamp(month.end))
        self._ends[key] = result
        return result

    def _budget(self, rule: BudgetTarget, window: Window) -> tuple[float, str | None]:
        """Budget amount over the window's months under the rule's filters, × scale."""
        info = self.data.info(BUDGET_DATASET)
        frame = self._source_frame(BUDGET_DATASET)
        if frame is None or info.month_column is None:
            return NAN, f"no {BUDGET_DATASET} staged"
        columns = [info.month_column, BUDGET_AMOUNT, *filter_columns(rule.filters)]
        _require_columns("budget target", BUDGET_DATASET, frame, columns)
        start = self._coverage_start(BUDGET_DATASET, info.month_column)
        if start is None or window.months[0].index < start:
            return NAN, f"the {BUDGET_DATASET} does not reach back to {window.months[0]}"
        mask = filter_mask(frame, rule.filters, owner="budget target")
        months = self._dated(BUDGET_DATASET, info.month_column, frame)
        inside = mask & (months >= window.months[0].index) & (months <= window.through.index)
        amounts = pd.to_numeric(frame[BUDGET_AMOUNT][inside], errors="coerce")
        if amounts.notna().sum() == 0:
            return NAN, f"no {BUDGET_DATASET} rows for {window.period.label}"
        return float(amounts.sum()) * rule.scale, None

    def _horizon(self) -> Month:
        """Earliest month any evaluation of this run can reach (comparisons of comparisons)."""
        levels = 1 + self.graph.change_depth()
        windows = [Window.of(p, self.as_of) for p in self.calendar.periods_for(self.as_of)]
        earliest = min(w.period.first for w in windows)
        for _ in range(levels):
            windows = [self.prior(w, v) for w in windows for v in ("prior_period", "prior_year")]
            earliest = min(earliest, *(w.period.first for w in windows))
        return earliest


def _compares_with(measure: Measure, window: Window) -> str:
    """What besides its months a window's value depends on: a retention's previous period
    depends on the period type (a YTD of one month compares with a year, the month with M−1)."""
    return window.period.period_type if isinstance(measure, RetentionMeasure) else ""


def _require_columns(owner: str, dataset: str, frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise MeasureError(
            f"{owner}: column(s) {missing} not in dataset {dataset}; "
            f"available: {sorted(map(str, frame.columns))}"
        )


def _active_value(measure: SnapshotMeasure, frame: pd.DataFrame | None, end: pd.Timestamp) -> float:
    """Aggregate of rows active at the month's end: started before it, not ended by it."""
    if frame is None:
        return 0.0 if measure.agg != "sum" else NAN
    needed = [measure.active_from, *([measure.active_to] if measure.active_to else [])]
    if measure.column:
        needed.append(measure.column)
    _require_columns(
        f"measure {measure.id}", measure.source, frame, needed + filter_columns(measure.filters)
    )
    mask = filter_mask(frame, measure.filters, owner=f"measure {measure.id}")
    started = pd.to_datetime(frame[measure.active_from], errors="coerce")
    mask &= (started < end).to_numpy(dtype=bool, na_value=False)
    if measure.active_to:
        ended = pd.to_datetime(frame[measure.active_to], errors="coerce")
        mask &= (ended.isna() | (ended >= end)).to_numpy(dtype=bool, na_value=False)
    if measure.agg == "count":
        return float(mask.sum())
    if measure.column is None:
        raise MeasureError(f"measure {measure.id}: agg {measure.agg} needs a column")
    values = frame[measure.column][mask]
    if measure.agg == "count_distinct":
        return float(values.nunique(dropna=True))
    return float(pd.to_numeric(values, errors="coerce").sum(min_count=1))


def _merge(*parts: Evaluation) -> tuple[tuple[str, ...], tuple[str, ...]]:
    held = tuple(dict.fromkeys(n for p in parts for n in p.held))
    gaps = tuple(dict.fromkeys(n for p in parts for n in p.gaps))
    return held, gaps


def _not_started(dataset: str, months: list[Month]) -> tuple[str, ...]:
    """One note naming the months before a source started: `not started: training 2024-01..`."""
    return _month_runs(f"not started: {dataset}", months)


def _not_staged(dataset: str, months: list[Month]) -> tuple[str, ...]:
    """One note naming the missing months as runs: `not staged: gl_lines 2023-04..2023-12`."""
    return _month_runs(f"not staged: {dataset}", months)


def _month_runs(prefix: str, months: list[Month]) -> tuple[str, ...]:
    if not months:
        return ()
    runs: list[list[Month]] = []
    for month in months:
        if runs and runs[-1][-1].shift(1) == month:
            runs[-1].append(month)
        else:
            runs.append([month])
    return (f"{prefix} {', '.join(_span(run) for run in runs)}",)


def _span(months: list[Month]) -> str:
    return str(months[0]) if len(months) == 1 else f"{months[0]}..{months[-1]}"


def _state(
    result: Evaluation, period: Period, as_of: Month, window: Window
) -> tuple[str, list[str]]:
    """Data state of a row and the notes that explain it, worst first."""
    if result.held:
        return "held", list(result.held)
    if math.isnan(result.value):
        state = "not_started" if result.not_started else "no_data"
        return state, [result.reason or "no value"]
    notes = list(result.gaps)
    if period.is_partial(as_of):
        counted, total = len(window.months), len(period.months)
        notes.append(f"period in progress: {counted} of {total} months as of {as_of}")
    return ("partial" if notes else "complete"), notes
