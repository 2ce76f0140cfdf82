"""Changes proposed for other packages, tried in the benchmark's children only (`--try NAME`).

The harness may not change the pipeline; these patches show, measured in the same run, what a
proposed change would gain. Each is applied in the parent before the work forks, so only the
benchmark's children see it. docs/benchmarks.md describes the code each stands for. The first
three tried (pyarrow `is_in` in the gate, staged columns in the measures, GX preloaded in the
backfill's forkserver) have been applied to the packages.
"""

from __future__ import annotations

from collections.abc import Callable

EXPERIMENTS: dict[str, Callable[[], None]] = {}
"""None pending: add a proposal here to measure it before changing the package."""
