"""Changes proposed for other packages, tried in the benchmark's children only (`--try NAME`).

The harness may not change the pipeline; these patches show, measured in the same run, what a
proposed change would gain. Each is applied in the parent before the work forks, so only the
benchmark's children see it. docs/benchmarks.md describes the code each stands for. The first
two tried (pyarrow `is_in` in the gate, staged columns in the measures) were applied in 0f720f3.
"""

from __future__ import annotations

from collections.abc import Callable


def preload_gx() -> None:
    """Backfill: `runner.py::PRELOAD_MODULES` also names `great_expectations` (forkserver)."""
    from bsc_pipeline import runner

    modules: tuple[str, ...] = runner.PRELOAD_MODULES
    if "great_expectations" not in modules:
        setattr(runner, "PRELOAD_MODULES", (*modules, "great_expectations"))  # noqa: B010


EXPERIMENTS: dict[str, Callable[[], None]] = {"preload_gx": preload_gx}
