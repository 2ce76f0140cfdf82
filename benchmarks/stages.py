"""One month through the pipeline's plain-Python steps, each step measured in its own child.

Steps hand over through the lake, so each runs in a forked child of a parent that has done the
imports and built the GX context: the child's seconds are the step's work, its peak memory the
step's high-water mark (start-up pages included). The gate is timed inside the staging child by
wrapping `run_gate`; `stage` is the rest of that child (lake reads, quarantine, writes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import Measured, in_child
from bsc_pipeline.settings import Settings

STAGES = ("read", "gate", "stage", "measures", "scoring", "publish", "alerts")


@dataclass
class StageFigure:
    """One stage of one month: wall seconds, rows per second of the month's input, peak RSS."""

    seconds: float
    rows_per_s: float
    peak_mib: float
    error: str | None = None
    shares_child_with: str | None = None


@dataclass
class MonthStages:
    figures: dict[str, StageFigure] = field(default_factory=dict)
    extract_rows: dict[str, int] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Wall seconds of the stages that ran (failed stages count the time until they failed)."""
        return sum(f.seconds for f in self.figures.values())

    @property
    def peak_mib(self) -> float:
        return max((f.peak_mib for f in self.figures.values()), default=float("nan"))


def warm_up() -> None:
    """Import what the steps import and build the GX context once, as a long-lived worker would."""
    import pandas as pd

    import bsc_pipeline.alerts.delivery
    import bsc_pipeline.alerts.transitions
    import bsc_pipeline.measures
    import bsc_pipeline.pipeline
    import bsc_pipeline.quality.gate
    import bsc_pipeline.quality.persistence
    import bsc_pipeline.scoring
    import bsc_pipeline.sources
    import bsc_pipeline.warehouse  # noqa: F401
    from bsc_pipeline.quality.gx_validator import GXExpectation, GXValidator

    frame = pd.DataFrame({"a": [1]})
    GXValidator().check(
        frame, "warm_up", [GXExpectation("warm_up", "ExpectColumnToExist", {"column": "a"})]
    )


def _read(settings: Settings, month: str) -> dict[str, int]:
    from bsc_pipeline.pipeline import Pipeline

    pipeline = Pipeline(settings)
    return {d: pipeline.extract(d, month).row_count for d in pipeline.datasets}


def _gate_and_stage(settings: Settings, month: str) -> dict[str, Any]:
    import bsc_pipeline.quality.gate as gate
    from bsc_pipeline.pipeline import Pipeline
    from bsc_pipeline.quality.gx_validator import GXValidator

    spent = [0.0]
    run_gate = gate.run_gate

    def timed_gate(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return run_gate(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    gate.run_gate = timed_gate  # the child process only: the parent's gate is untouched
    pipeline, validator = Pipeline(settings), GXValidator()
    failed = [d for d in pipeline.datasets if not pipeline.stage(d, month, validator).passed]
    return {"gate_seconds": spent[0], "held": failed}


def _measures(settings: Settings, month: str) -> int:
    from bsc_pipeline.pipeline import Pipeline

    return len(Pipeline(settings).compute_measures(month))


def _scoring(settings: Settings, month: str) -> int:
    from bsc_pipeline.pipeline import Pipeline

    scored, _ = Pipeline(settings).score(month)
    return len(scored)


def _publish(settings: Settings, month: str) -> str:
    from bsc_pipeline.pipeline import Pipeline

    return repr(Pipeline(settings).publish(month, run_id=f"bench-{month}"))[:200]


def _alerts(settings: Settings, month: str) -> str:
    from bsc_pipeline.pipeline import Pipeline

    del month
    return repr(Pipeline(settings).deliver_alerts())[:200]


def migrate(settings: Settings) -> None:
    """Create the run's warehouse before timing: a nightly run finds it at the head revision."""
    from bsc_pipeline.warehouse import upgrade_warehouse

    upgrade_warehouse(settings.warehouse_url)


def run_stages(settings: Settings, month: str, input_rows: int) -> MonthStages:
    """Every step of `month` in order; a failed step is recorded and the later ones still run."""
    in_child(migrate, settings)
    result = MonthStages()

    def figure(measured: Measured, seconds: float | None = None) -> StageFigure:
        spent = measured.seconds if seconds is None else seconds
        rate = input_rows / spent if spent > 0 else float("nan")
        return StageFigure(spent, rate, measured.peak_mib, _first_line(measured.error))

    read = in_child(_read, settings, month)
    result.figures["read"] = figure(read)
    result.extract_rows = read.result or {}
    staged = in_child(_gate_and_stage, settings, month)
    gate_seconds = (staged.result or {}).get("gate_seconds", 0.0)
    result.held = (staged.result or {}).get("held", [])
    result.figures["gate"] = figure(staged, gate_seconds)
    result.figures["stage"] = figure(staged, staged.seconds - gate_seconds)
    result.figures["stage"].shares_child_with = "gate"
    for name, work in (
        ("measures", _measures),
        ("scoring", _scoring),
        ("publish", _publish),
        ("alerts", _alerts),
    ):
        result.figures[name] = figure(in_child(work, settings, month))
    return result


def fastest(runs: list[MonthStages]) -> MonthStages:
    """Each stage's quickest of repeated runs (noise only ever adds time), its highest peak."""
    best = MonthStages(extract_rows=runs[-1].extract_rows, held=runs[-1].held)
    for name in runs[-1].figures:
        figures = [r.figures[name] for r in runs if name in r.figures]
        quickest = min(figures, key=lambda f: f.seconds)
        best.figures[name] = StageFigure(
            quickest.seconds,
            quickest.rows_per_s,
            max(f.peak_mib for f in figures),
            quickest.error,
            quickest.shares_child_with,
        )
    return best


def _first_line(error: str | None) -> str | None:
    return None if error is None else error.strip().splitlines()[0][:300]


def dagster_month(settings: Settings, month: str) -> dict[str, Any]:
    """The month through the real Dagster job: definitions load, then the run."""
    import dagster as dg

    from bsc_pipeline.defs import build_definitions
    from bsc_pipeline.defs.jobs import NIGHTLY_JOB

    start = time.perf_counter()
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    loaded = time.perf_counter()
    result = job.execute_in_process(
        partition_key=month, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    done = time.perf_counter()
    failures = [
        f"{e.step_key}: {e.step_failure_data.error.message.strip()[:160]}"
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.error
    ]
    return {
        "definitions_seconds": loaded - start,
        "run_seconds": done - loaded,
        "success": result.success,
        "failures": failures,
        "step_seconds": step_seconds(result),
    }


def step_seconds(result: Any) -> dict[str, float]:
    """Dagster's own duration of each successful step of a finished in-process run."""
    return {
        str(e.step_key): e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.is_step_success
    }


def lake_month_values(lake: Path, month: str) -> dict[str, float]:
    """The pipeline's month values from the lake (measure id → value)."""
    import pandas as pd

    path = lake / "measures" / f"{month}.parquet"
    if not path.exists():
        return {}
    frame = pd.read_parquet(path, columns=["measure_id", "period_type", "value"])
    month_rows = frame[frame["period_type"] == "month"]
    return dict(zip(month_rows["measure_id"], month_rows["value"].astype(float), strict=True))
