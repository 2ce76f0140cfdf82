"""Which measures and datasets each measure reads, and an order that computes parts first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from bsc_pipeline.frames import UPDATES_DATASET
from bsc_pipeline.measures.errors import MeasureError
from bsc_pipeline.measures.loading import dataset_infos
from bsc_pipeline.spec.formula import Formula, parse_formula
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

BUDGET_AMOUNT = "amount"
"""The budget dataset's column a budget target sums."""

UPDATES_COLUMNS_READ = ("measure_id", "period", "value")
"""The update file columns a manual measure's value comes from."""


@dataclass(frozen=True)
class MeasureGraph:
    """Measures by id, their parsed formulas, direct inputs and a topological order."""

    measures: dict[str, Measure]
    formulas: dict[str, Formula]
    inputs: dict[str, tuple[str, ...]]
    order: tuple[str, ...]

    @classmethod
    def from_spec(cls, spec: Spec) -> MeasureGraph:
        """Check every reference and refuse cycles before any data is read."""
        measures = {m.id: m for m in spec.measures}
        formulas = {m.id: _parse(m) for m in spec.measures if isinstance(m, DerivedMeasure)}
        inputs = {m.id: _inputs(m, formulas) for m in spec.measures}
        for measure_id, names in inputs.items():
            unknown = sorted(n for n in names if n not in measures)
            if unknown:
                raise MeasureError(f"measure {measure_id}: refers to unknown measure(s) {unknown}")
        try:
            order = tuple(TopologicalSorter(inputs).static_order())
        except CycleError as exc:
            raise MeasureError(f"measures depend on each other in a cycle: {exc.args[1]}") from exc
        return cls(measures, formulas, inputs, order)

    def sources(self, measure_id: str) -> list[str]:
        """Datasets the measure reads, directly or through its parts, in first-seen order."""
        seen: dict[str, None] = {}
        stack, visited = [measure_id], set()
        while stack:
            current = stack.pop()
            if current in visited:
                continue
            visited.add(current)
            measure = self.measures[current]
            if isinstance(measure, BaseMeasure | SnapshotMeasure | RetentionMeasure):
                seen.setdefault(measure.source)
            elif isinstance(measure, ManualMeasure):
                seen.setdefault(UPDATES_DATASET)
            stack.extend(reversed(self.inputs[current]))
        return list(seen)

    def change_depth(self) -> int:
        """Longest chain of measures reading an earlier period (change, retention): how many
        comparisons deep a run can reach."""
        depth: dict[str, int] = {}
        for measure_id in self.order:
            below = max((depth[d] for d in self.inputs[measure_id]), default=0)
            reaches_back = isinstance(self.measures[measure_id], ChangeMeasure | RetentionMeasure)
            depth[measure_id] = below + reaches_back
        return max(depth.values(), default=0)


def measure_sources(spec: Spec, measure_id: str) -> list[str]:
    """Datasets a measure of the spec reads (e.g. to tell their owner it is held)."""
    return MeasureGraph.from_spec(spec).sources(measure_id)


def _field(contract: Any, name: str) -> Any:
    return contract.get(name) if isinstance(contract, Mapping) else getattr(contract, name, None)


def _parse(measure: DerivedMeasure) -> Formula:
    try:
        return parse_formula(measure.formula)
    except ValueError as exc:
        raise MeasureError(f"measure {measure.id}: {exc}") from exc


def _inputs(measure: Measure, formulas: dict[str, Formula]) -> tuple[str, ...]:
    """Measures read directly, numerator before denominator."""
    match measure:
        case RatioMeasure():
            return (measure.numerator, measure.denominator)
        case DerivedMeasure():
            return tuple(sorted(formulas[measure.id].names))
        case ChangeMeasure():
            return (measure.of,)
    return ()


def columns_read(spec: Spec, contracts: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per dataset, the staged columns the spec's measures, budget targets and de-duplication read.

    The lake holds every canonical column; reading only these keeps a long history affordable
    (three of the general ledger's nine columns, for instance).
    """
    infos = dataset_infos(contracts)
    needed: dict[str, set[str]] = {name: set() for name in infos}
    for measure in spec.measures:
        if isinstance(measure, BaseMeasure | SnapshotMeasure):
            columns = needed.setdefault(measure.source, set())
            columns.update(f.column for f in measure.filters)
            if measure.column:
                columns.add(measure.column)
        if isinstance(measure, RetentionMeasure):
            needed.setdefault(measure.source, set()).add(measure.key)
            needed[measure.source].update(f.column for f in measure.filters)
        if isinstance(measure, BaseMeasure | RetentionMeasure):
            month_column = infos[measure.source].month_column if measure.source in infos else None
            needed[measure.source].update(c for c in (measure.date_column, month_column) if c)
        if isinstance(measure, SnapshotMeasure):
            needed[measure.source].update(c for c in (measure.active_from, measure.active_to) if c)
        if isinstance(measure, ManualMeasure):
            needed.setdefault(UPDATES_DATASET, set()).update(UPDATES_COLUMNS_READ)
        if isinstance(measure.target, BudgetTarget) and "budget" in infos:
            budget = needed["budget"]
            budget.update(c for c in (BUDGET_AMOUNT, infos["budget"].month_column) if c)
            budget.update(f.column for f in measure.target.filters)
    bodies = contracts.get("datasets", contracts) if isinstance(contracts, Mapping) else contracts
    for name, info in infos.items():
        if needed.get(name) and info.mode == "incremental":
            needed[name].update(_field(bodies[name], "keys") or ())
            needed[name].update(c for c in [_field(bodies[name], "version_column")] if c)
    return {name: sorted(columns) for name, columns in needed.items() if columns}
