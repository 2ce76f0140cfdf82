"""Profile one pipeline step with pyinstrument on a benchmark month (pyinstrument not required
by the harness: `pip install pyinstrument` into the venv to use this).

`python -m benchmarks.profile --size 1/16 --step measures` runs the steps before `measures`
unprofiled on a fresh copy of the month's lake, then the step under the profiler, and prints the
call tree (and writes it as HTML next to the run).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks.stages import STAGES
from benchmarks.workload import (
    DEFAULT_MONTH,
    DEFAULT_SEED,
    HISTORY_SCALE,
    LARGE_TARGETS,
    bench_settings,
    build_workload,
    default_cache,
    prepare_lake,
    rows_per_scale,
    scale_for,
)
from bsc_pipeline.settings import Settings

SIZES = {"tiny": 0.0, "1/16": 1 / 16, "1/4": 1 / 4, "large": 1.0}
STEPS = tuple(s for s in STAGES if s != "gate")


def _step(pipeline: Any, step: str, month: str, validator: Any) -> None:
    if step == "read":
        for dataset in pipeline.datasets:
            pipeline.extract(dataset, month)
    elif step == "stage":
        for dataset in pipeline.datasets:
            pipeline.stage(dataset, month, validator)
    elif step == "measures":
        pipeline.compute_measures(month)
    elif step == "scoring":
        pipeline.score(month)
    elif step == "publish":
        pipeline.publish(month, run_id=f"profile-{month}")
    else:
        pipeline.deliver_alerts()


def profile_step(settings: Settings, month: str, step: str, html: Path) -> str:
    """Run the steps before `step`, then `step` under pyinstrument; the text call tree."""
    from pyinstrument import Profiler

    from bsc_pipeline.pipeline import Pipeline
    from bsc_pipeline.quality.gx_validator import GXValidator
    from bsc_pipeline.warehouse import upgrade_warehouse

    upgrade_warehouse(settings.warehouse_url)
    pipeline, validator = Pipeline(settings), GXValidator()
    for earlier in STEPS[: STEPS.index(step)]:
        _step(pipeline, earlier, month, validator)
    profiler = Profiler(interval=0.001)
    with profiler:
        _step(Pipeline(settings), step, month, validator)
    html.write_text(profiler.output_html(), encoding="utf-8")
    text: str = profiler.output_text(unicode=True, show_all=False)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--size", choices=SIZES, default="1/16")
    parser.add_argument("--step", choices=STEPS, required=True)
    parser.add_argument("--month", default=DEFAULT_MONTH)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    cache = args.cache or default_cache()
    fraction = SIZES[args.size]
    scale = HISTORY_SCALE
    if fraction:
        per_scale = rows_per_scale(cache, seed=args.seed, month=args.month)
        scale = scale_for(per_scale, LARGE_TARGETS) * fraction
    workload = build_workload(cache, name=args.size, month=args.month, seed=args.seed, scale=scale)
    run = cache / "profile" / args.size.replace("/", "_of_")
    prepare_lake(workload, run / "lake")
    (run / "warehouse.db").unlink(missing_ok=True)
    settings = bench_settings(
        workload.landing, run / "lake", run / "warehouse.db", workload.first_month
    )
    html = run / f"{args.step}.html"
    print(profile_step(settings, args.month, args.step, html))
    print(f"HTML: {html}")


if __name__ == "__main__":
    main()
