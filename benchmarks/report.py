"""The figures as rich tables and as JSON under benchmarks/results/, with the issue's targets."""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.backfill import Backfill
from benchmarks.growth import GROWTH_LIMIT, GrowthStep
from benchmarks.month import MonthResult
from benchmarks.stages import STAGES

RESULTS_DIR = Path(__file__).resolve().parent / "results"
GIB = 1024.0


@dataclass(frozen=True)
class Target:
    """One target of issue 9: the figure, the limit, and whether the figure meets it."""

    name: str
    figure: float
    limit: float
    unit: str
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if math.isnan(self.figure) else self.figure <= self.limit


@dataclass
class Report:
    command: str
    startup: dict[str, Any]
    months: list[MonthResult]
    growth: list[GrowthStep]
    backfill: Backfill | None
    targets: list[Target]
    experiments: list[str] = field(default_factory=list)
    load_average: list[float] = field(default_factory=list)
    """1-minute load average at the start and the end: other work on the machine adds time."""


def _num(value: float, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1e5:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def targets(
    startup: dict[str, Any],
    tiny: MonthResult | None,
    large: MonthResult | None,
    growth: list[GrowthStep],
    backfill: Backfill | None,
    fitted: tuple[float, float] = (float("nan"), float("nan")),
) -> list[Target]:
    """The issue's targets from the figures that were measured (NaN: not measured in this run)."""
    nan = float("nan")
    imports = startup.get("imports_seconds", nan) + startup.get("definitions_seconds", nan)
    found = [
        Target("imports + definitions", imports, 5.0, "s", "fresh interpreter"),
        Target("tiny month end to end (Dagster)", startup.get("month_seconds", nan), 6.0, "s"),
    ]
    biggest = growth[-1] if growth else None
    if biggest is not None:
        found.append(
            Target(
                f"growing part / floor ({biggest.name})",
                biggest.times_floor,
                5.0,
                "×",
                f"{_num(biggest.growing_per_million)} vs "
                f"{_num(biggest.floor_per_million)} s/M rows",
            )
        )
    pipeline_slope, floor_slope = fitted
    if len(growth) >= 3 and not math.isnan(pipeline_slope):
        found.append(
            Target(
                "growing part / floor, fitted over the growth runs",
                pipeline_slope / floor_slope,
                5.0,
                "×",
                f"{_num(pipeline_slope)} vs {_num(floor_slope)} s/M rows (least squares)",
            )
        )
    peak = large.stages.peak_mib / GIB if large is not None else nan
    found.append(Target("peak memory, large month", peak, 3.0, "GiB", "largest stage child"))
    for step in growth[1:]:
        found.append(
            Target(
                f"growth to {step.name}",
                step.cost_ratio / step.rows_ratio * 4,
                GROWTH_LIMIT * 4,
                "× per 4× rows",
                f"cost ×{_num(step.cost_ratio)} for rows ×{_num(step.rows_ratio)}",
            )
        )
    if backfill is not None:
        found.append(
            Target(
                "backfill 2 processes / 1",
                backfill.speedup(),
                0.65,
                "×",
                "" if backfill.jobs_supported else "run_months ignores jobs",
            )
        )
    return found


def month_table(result: MonthResult) -> Table:
    table = Table(
        title=f"{result.name}: {result.month} at scale {result.scale:g}, "
        f"{result.input_rows:,} input rows"
    )
    for column in ("step", "seconds", "rows/s", "peak MiB", "s per M rows", "× floor", "note"):
        table.add_column(column, justify="left" if column in ("step", "note") else "right")
    floor = result.floor.seconds

    def row(name: str, seconds: float, peak: float, note: str = "") -> None:
        rate = result.input_rows / seconds if seconds > 0 else float("nan")
        table.add_row(
            name,
            _num(seconds),
            _num(rate, 0),
            _num(peak, 0),
            _num(result.per_million(seconds)),
            _num(seconds / floor if floor else float("nan")),
            note,
        )

    row("floor (pyarrow read)", floor, result.floor.peak_mib, result.floor.error or "")
    for name in STAGES:
        figure = result.stages.figures.get(name)
        if figure is None:
            continue
        note = figure.error or ""
        if figure.shares_child_with:
            note = note or f"memory shared with {figure.shares_child_with}"
        row(name, figure.seconds, figure.peak_mib, note)
    held = f"held: {', '.join(result.stages.held)}" if result.stages.held else ""
    row("pipeline (sum of steps)", result.pipeline_seconds, result.stages.peak_mib, held)
    agree = (
        f"{len(result.differences)} measure(s) differ"
        if result.differences
        else f"equal on {len(result.peer.result or {})} measures"
    )
    row("DuckDB peer", result.peer.seconds, result.peer.peak_mib, result.peer.error or agree)
    if result.dagster is not None:
        info = result.dagster.result or {}
        run = info.get("run_seconds", float("nan"))
        note = result.dagster.error or (
            "ok" if info.get("success") else "; ".join(info.get("failures", []))[:120]
        )
        row("Dagster job (all steps)", run, result.dagster.peak_mib, note)
    return table


def startup_table(startup: dict[str, Any]) -> Table:
    table = Table(title="Start-up (fresh interpreter) and a tiny month through Dagster")
    table.add_column("part")
    table.add_column("seconds", justify="right")
    for key, label in (
        ("imports_seconds", "imports (dagster, bsc_pipeline.defs)"),
        ("definitions_seconds", "load definitions"),
        ("month_seconds", "tiny month, Dagster job"),
        ("process_seconds", "whole child process"),
    ):
        table.add_row(label, _num(startup.get(key, float("nan"))))
    steps = sorted(startup.get("step_seconds", {}).items(), key=lambda kv: -kv[1])
    if steps:
        slowest = ", ".join(f"{name} {seconds:.2f}" for name, seconds in steps[:4])
        table.add_row("slowest Dagster steps", slowest)
    if startup.get("failed_steps"):
        table.add_row("failed steps", ", ".join(startup["failed_steps"]))
    if startup.get("error"):
        table.add_row("error", str(startup["error"]))
    return table


def growth_table(steps: list[GrowthStep]) -> Table:
    table = Table(title="Growth: growing part = pipeline seconds beyond the tiny month")
    for column in (
        "month",
        "input rows",
        "pipeline s",
        "growing s",
        "growing s/M",
        "floor s/M",
        "peer s/M",
        "× floor",
        "rows ×",
        "cost ×",
        "peak MiB",
    ):
        table.add_column(column, justify="left" if column == "month" else "right")
    for s in steps:
        table.add_row(
            s.name,
            f"{s.rows:,}",
            _num(s.pipeline_seconds),
            _num(s.growing_seconds),
            _num(s.growing_per_million),
            _num(s.floor_per_million),
            _num(s.peer_per_million),
            _num(s.times_floor),
            _num(s.rows_ratio),
            _num(s.cost_ratio),
            _num(s.peak_mib, 0),
        )
    return table


def backfill_table(backfill: Backfill) -> Table:
    table = Table(
        title=f"Backfill: {len(backfill.months)} months at scale {backfill.scale:g} "
        f"({backfill.input_rows:,} landing rows) through runner.run_months"
    )
    columns = ("path", "processes", "seconds", "peak MiB", "all processes MiB", "months ok")
    for column in (*columns, "failed", "error"):
        table.add_column(column, justify="left" if column in ("path", "error") else "right")
    for run in backfill.runs:
        table.add_row(
            run.path,
            str(run.jobs),
            _num(run.seconds),
            _num(run.peak_mib, 0),
            _num(run.peak_total_mib, 0),
            str(run.succeeded),
            str(run.failed),
            (run.error or "")[:120],
        )
    return table


def target_table(found: list[Target]) -> Table:
    table = Table(title="Targets (issue 9, 2 cores)")
    for column in ("target", "figure", "limit", "met", "note"):
        table.add_column(column, justify="right" if column in ("figure", "limit") else "left")
    for t in found:
        verdict = {True: "[green]yes[/]", False: "[red]no[/]", None: "not measured"}[t.met]
        table.add_row(
            t.name, f"{_num(t.figure)} {t.unit}", f"{_num(t.limit)} {t.unit}", verdict, t.note
        )
    return table


def print_report(console: Console, report: Report) -> None:
    console.print(startup_table(report.startup))
    for result in report.months:
        console.print(month_table(result))
        for difference in result.differences:
            console.print(f"[red]DuckDB disagrees[/] {difference}")
    if report.growth:
        console.print(growth_table(report.growth))
    if report.backfill is not None:
        console.print(backfill_table(report.backfill))
    console.print(target_table(report.targets))
    console.print(f"command: {report.command}")
    tried = ", ".join(report.experiments) or "none"
    load = " → ".join(f"{v:.1f}" for v in report.load_average)
    console.print(f"changes tried: {tried}; load average: {load} on {os.cpu_count()} CPUs")


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        data = {k: _plain(v) for k, v in asdict(value).items()}
        if isinstance(value, Target):
            data["met"] = value.met
        return data
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(report: Report, directory: Path = RESULTS_DIR) -> Path:
    """The report as JSON, named by time; `latest.json` points at the newest."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    payload = {
        "written_at": stamp.isoformat(timespec="seconds"),
        "command": report.command,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "experiments": report.experiments,
        "load_average": report.load_average,
        "startup": _plain(report.startup),
        "months": [_month_json(m) for m in report.months],
        "growth": _plain(report.growth),
        "backfill": _plain(report.backfill),
        "targets": _plain(report.targets),
    }
    text = json.dumps(payload, indent=2, default=str)
    path = directory / f"bench-{stamp:%Y%m%dT%H%M%SZ}.json"
    path.write_text(text, encoding="utf-8")
    (directory / "latest.json").write_text(text, encoding="utf-8")
    return path


def _month_json(result: MonthResult) -> dict[str, Any]:
    data = _plain(result)
    data["pipeline_seconds"] = result.pipeline_seconds
    data["peak_mib"] = result.stages.peak_mib
    data["differences"] = [str(d) for d in result.differences]
    return dict(data)
