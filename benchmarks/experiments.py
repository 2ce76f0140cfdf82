"""Changes proposed for other packages, tried in the benchmark's children only (`--try NAME`).

The harness may not change the pipeline; these patches show, measured in the same run, what a
proposed change would gain. Each is applied in the parent before the stages fork, so only the
benchmark's children see it. The code each stands for is described in docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.workload import DEMO_SPEC


def _arrow_in_reference(
    rule: Any, frame: pd.DataFrame, month: Any, known: pd.Series | None
) -> np.ndarray:
    """`in_reference` with pyarrow's hash lookup instead of pandas' per-value scalar list.

    pandas' ArrowStringArray.isin builds a Python `pa.scalar` for every reference value (1.5 M
    account ids at the large month), which is where the gate spends most of its time.
    """
    values = frame[rule.columns[0]]
    present = values.notna().to_numpy(dtype=bool)
    if known is None or not len(known):
        return present
    column = pa.array(values, from_pandas=True)
    reference = pa.array(known, from_pandas=True).drop_null().unique()
    if reference.type != column.type:
        reference = reference.cast(column.type)
    found = pc.fill_null(pc.is_in(column, value_set=reference), False)
    return present & ~found.to_numpy(zero_copy_only=False)


def arrow_in_reference() -> None:
    """Gate: `quality/masks.py::_in_reference` through `pyarrow.compute.is_in`."""
    from bsc_pipeline.quality import masks

    masks._CHECKS["in_reference"] = _arrow_in_reference


def needed_columns(spec: Any, contracts: dict[str, Any]) -> dict[str, list[str]]:
    """Per dataset, the columns the spec's measures, budget targets and deduplication read."""
    from bsc_pipeline.spec.models import BaseMeasure, BudgetTarget, SnapshotMeasure

    needed: dict[str, set[str]] = {name: set() for name in contracts}
    for measure in spec.measures:
        if isinstance(measure, BaseMeasure | SnapshotMeasure):
            cols = needed[measure.source]
            cols.update(f.column for f in measure.filters)
            if measure.column:
                cols.add(measure.column)
        if isinstance(measure, BaseMeasure):
            month_column = contracts[measure.source].month_column
            needed[measure.source].add(measure.date_column or month_column)
        if isinstance(measure, SnapshotMeasure):
            needed[measure.source].update(c for c in (measure.active_from, measure.active_to) if c)
        if isinstance(measure.target, BudgetTarget) and "budget" in needed:
            needed["budget"].update({"amount", contracts["budget"].month_column})
            needed["budget"].update(f.column for f in measure.target.filters)
    for name, contract in contracts.items():
        if needed[name] and contract.mode == "incremental":
            needed[name].update(contract.keys)
            needed[name].update(c for c in [contract.version_column] if c)
    return {name: sorted(c for c in cols if c) for name, cols in needed.items()}


def staged_columns() -> None:
    """Measures: `pipeline.py::LakeFrameLoader` reads only the columns the spec uses."""
    from bsc_pipeline import pipeline
    from bsc_pipeline.spec.loader import load_spec

    original = pipeline.LakeFrameLoader._month
    chosen: dict[int, dict[str, list[str]]] = {}

    def month(self: Any, dataset: str, month: str) -> pd.DataFrame | None:
        key = (dataset, month)
        if key in self._cache:
            return self._cache[key]
        if id(self.contracts) not in chosen:
            spec = load_spec(DEMO_SPEC)
            chosen[id(self.contracts)] = needed_columns(spec, self.contracts)
        columns = chosen[id(self.contracts)].get(dataset)
        if not columns:
            return original(self, dataset, month)
        self._cache[key] = self.lake.read_frame("staged", month, dataset, columns=columns)
        return self._cache[key]

    pipeline.LakeFrameLoader._month = month  # type: ignore[method-assign]


def preload_gx() -> None:
    """Backfill: `runner.py::PRELOAD_MODULES` also names `great_expectations` (forkserver)."""
    from bsc_pipeline import runner

    modules: tuple[str, ...] = runner.PRELOAD_MODULES
    if "great_expectations" not in modules:
        setattr(runner, "PRELOAD_MODULES", (*modules, "great_expectations"))  # noqa: B010


EXPERIMENTS: dict[str, Callable[[], None]] = {
    "arrow_in_reference": arrow_in_reference,
    "staged_columns": staged_columns,
    "preload_gx": preload_gx,
}
