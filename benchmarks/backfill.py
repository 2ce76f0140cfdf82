"""Backfill: twelve months through `runner.run_months` with one and with two processes."""

from __future__ import annotations

import inspect
import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import TreeMemory, in_child
from benchmarks.stages import migrate
from benchmarks.workload import bench_settings, count_rows, generated, history_months
from bsc_pipeline.periods import Month
from bsc_pipeline.settings import Settings


@dataclass
class BackfillRun:
    jobs: int
    seconds: float
    peak_mib: float
    succeeded: int
    failed: int
    error: str | None = None
    path: str = "run_months"
    peak_total_mib: float = float("nan")
    """Largest sum of RSS over the run's processes (sampled every 0.25 s)."""


@dataclass
class Backfill:
    scale: float
    months: list[str]
    input_rows: int
    runs: list[BackfillRun] = field(default_factory=list)
    jobs_supported: bool = True

    def speedup(self) -> float:
        """Seconds with two processes over seconds with one (target at most 0.65)."""
        by_jobs = {r.jobs: r.seconds for r in self.runs if r.path == "run_months"}
        return by_jobs.get(2, float("nan")) / by_jobs.get(1, float("nan"))


def jobs_supported() -> bool:
    """Whether `run_months` takes `jobs` and runs months in parallel with it."""
    from bsc_pipeline import runner

    if "jobs" not in inspect.signature(runner.run_months).parameters:
        return False
    return "jobs > 1" in inspect.getsource(runner.run_months)


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as BSC_* variables: the backfill job's worker processes read them."""
    return {
        "BSC_WAREHOUSE_URL": settings.warehouse_url,
        "BSC_LANDING_DIR": str(settings.landing_dir),
        "BSC_LAKE_DIR": str(settings.lake_dir),
        "BSC_SPEC": str(settings.spec_path),
        "BSC_CONTRACTS": str(settings.contracts_path),
        "BSC_SOURCES_CONFIG": str(settings.sources_config),
        "BSC_TIMEZONE": settings.timezone,
        "BSC_PARTITIONS_START": settings.partitions_start,
    }


def _run(settings: Settings, months: list[str], jobs: int, backfill_job: bool) -> dict[str, Any]:
    import dagster as dg
    from rich.console import Console

    from bsc_pipeline import runner

    os.environ.update(settings_env(settings))
    os.environ.pop("DAGSTER_HOME", None)  # a temporary instance per run, nothing left behind
    console = Console(file=io.StringIO(), width=200)
    with TreeMemory() as memory:
        if backfill_job:
            report = runner.run_backfill(months, console=console, jobs=jobs, settings=settings)
        elif jobs > 1:
            report = runner.run_months(months, console=console, jobs=jobs, settings=settings)
        else:
            instance = dg.DagsterInstance.ephemeral()
            report = runner.run_months(
                months, console=console, settings=settings, instance=instance
            )
    failed = [o for o in report.outcomes if not o.succeeded]
    return {
        "succeeded": len(report.outcomes) - len(failed),
        "failed": len(failed),
        "error": failed[0].error if failed else None,
        "peak_total_mib": memory.peak_total_mib,
        "peak_process_mib": memory.peak_process_mib,
    }


def run_backfill(
    cache: Path, run_root: Path, *, seed: int, month: str, scale: float, count: int = 12
) -> Backfill:
    """`count` months ending at `month`, all generated at `scale`, with jobs=1 then jobs=2."""
    first = str(Month.parse(month).shift(-(count - 1)))
    months = history_months(month, first)
    landing = generated(cache, scale=scale, seed=seed, months=count, end=month)
    result = Backfill(scale, months, _landing_rows(landing), jobs_supported=jobs_supported())
    for jobs, backfill_job in ((1, False), (2, False), (1, True)):
        if backfill_job and not result.jobs_supported:
            continue
        label = f"jobs{jobs}" + ("-backfill-job" if backfill_job else "")
        run_dir = run_root / f"backfill-{label}"
        shutil.rmtree(run_dir, ignore_errors=True)
        settings = bench_settings(landing, run_dir / "lake", run_dir / "warehouse.db", first)
        in_child(migrate, settings)
        measured = in_child(_run, settings, months, jobs, backfill_job, log=run_dir / "dagster.log")
        outcome = measured.result or {}
        result.runs.append(
            BackfillRun(
                jobs,
                measured.seconds,
                max(measured.peak_mib, outcome.get("peak_process_mib", 0.0)),
                outcome.get("succeeded", 0),
                outcome.get("failed", len(months)),
                measured.error or outcome.get("error"),
                "backfill_months job" if backfill_job else "run_months",
                outcome.get("peak_total_mib", float("nan")),
            )
        )
    return result


def _landing_rows(landing: Path) -> int:
    return sum(count_rows(p) for p in landing.glob("*/*.csv"))
