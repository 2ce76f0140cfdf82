"""Run months through the real Dagster job from the command line, with progress and a summary."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.lake import Lake
from bsc_pipeline.settings import Settings

_MONTH_IN_NAME = re.compile(r"(\d{4}-(?:0[1-9]|1[0-2]))")


@dataclass
class MonthOutcome:
    month: str
    succeeded: bool
    run_id: str
    held_datasets: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunReport:
    outcomes: list[MonthOutcome]

    @property
    def ok(self) -> bool:
        return all(o.succeeded for o in self.outcomes)


def dagster_instance() -> dg.DagsterInstance:
    """The instance under DAGSTER_HOME when set (runs show in the UI), else a throwaway one."""
    try:
        return dg.DagsterInstance.get()
    except dg.DagsterInvariantViolationError:
        return dg.DagsterInstance.ephemeral()


def landed_months(settings: Settings) -> list[str]:
    """Months named by the landing zone's monthly files (`<dataset>_<YYYY-MM>.<ext>`)."""
    months = {
        match.group(1)
        for path in settings.landing_dir.rglob("*")
        if path.is_file() and (match := _MONTH_IN_NAME.search(path.name))
    }
    return sorted(months)


def run_months(
    months: Sequence[str],
    *,
    console: Console,
    jobs: int = 1,
    settings: Settings | None = None,
    instance: dg.DagsterInstance | None = None,
) -> RunReport:
    """Materialize every asset for each month in turn; a failed month does not stop the rest."""
    settings = settings or Settings.from_env()
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    instance = instance or dagster_instance()
    lake = Lake(settings.lake_dir)
    outcomes: list[MonthOutcome] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("months", total=len(months))
        for month in months:
            progress.update(task, description=f"month {month}")
            result = job.execute_in_process(
                partition_key=month, instance=instance, raise_on_error=False
            )
            outcomes.append(_outcome(month, result, lake))
            progress.advance(task)
    console.print(_summary_table(outcomes))
    return RunReport(outcomes)


def _outcome(month: str, result: dg.ExecuteInProcessResult, lake: Lake) -> MonthOutcome:
    held = sorted(
        d.parent.name
        for d in (lake.root / "gate").glob(f"*/{month}.json")
        if not (lake.read_json("gate", month, d.parent.name) or {}).get("passed", True)
    )
    error = None
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        error = (
            "; ".join(
                f"{e.step_key}: {e.step_failure_data.error.message.strip()}"
                for e in failures
                if e.step_failure_data.error
            )
            or "run failed"
        )
    return MonthOutcome(month, result.success, result.run_id, held, error)


def _summary_table(outcomes: list[MonthOutcome]) -> Table:
    published = sum(o.succeeded and not o.held_datasets for o in outcomes)
    held = sum(o.succeeded and bool(o.held_datasets) for o in outcomes)
    failed = sum(not o.succeeded for o in outcomes)
    table = Table(
        title=f"{published} published, {held} published with held measures, {failed} failed"
    )
    for name in ("month", "outcome", "held datasets", "run id", "error"):
        table.add_column(name)
    for o in outcomes:
        if o.succeeded and not o.held_datasets:
            continue
        outcome = "[red]failed[/]" if not o.succeeded else "[yellow]held[/]"
        table.add_row(o.month, outcome, ", ".join(o.held_datasets), o.run_id[:8], o.error or "")
    return table
