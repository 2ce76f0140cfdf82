"""`python -m benchmarks`: measure a nightly run against the floor and DuckDB, print, write JSON.

The default run (a few minutes, data cached after the first) measures start-up, the tiny demo
month and a month of 1/16 of the large month's rows. Flags add the large month, the growth series
and the twelve-month backfill. `--cli` alone times whole `bsc` processes (`--help`, `spec check`,
`show`) against `python -c pass` (seconds, no data cache). `--micro` alone times three single
operations (reading 1M GL lines, refusing a power tower and a YAML alias bomb) against baselines
(under a minute, no data cache).
`--history` alone reads 36 months of one full-history file, parsed once against parsed each month.
Exit status 2 when DuckDB and the pipeline disagree on a value.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from benchmarks.backfill import Backfill, run_backfill
from benchmarks.cli import cli_table, measure_cli, write_cli_json
from benchmarks.experiments import EXPERIMENTS
from benchmarks.growth import fitted_per_million, growth_steps
from benchmarks.history import LINES as HISTORY_LINES
from benchmarks.history import history_table, measure_history
from benchmarks.micro import measure_micro, micro_table, write_micro_json
from benchmarks.month import MonthResult, bench_month
from benchmarks.report import RESULTS_DIR, Report, print_report, targets, write_json
from benchmarks.stages import warm_up
from benchmarks.startup import measure_startup
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


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--month", default=DEFAULT_MONTH, help="measured month (YYYY-MM)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--cache", type=Path, default=None, help="generated data (default tmp)")
    parser.add_argument("--large", action="store_true", help="also the large month (≥5M GL)")
    parser.add_argument("--growth", action="store_true", help="1/16, 1/4 and all of the large")
    parser.add_argument("--backfill", action="store_true", help="12 months, 1 and 2 processes")
    parser.add_argument("--all", action="store_true", help="--large --growth --backfill")
    parser.add_argument(
        "--cli",
        action="store_true",
        help="only bsc start-up: --help, a usage error, spec check, show vs python -c pass",
    )
    parser.add_argument(
        "--warehouse-url",
        default=None,
        help="warehouse `bsc show` reads in --cli (default BSC_WAREHOUSE_URL)",
    )
    parser.add_argument(
        "--micro",
        action="store_true",
        help="only the micro figures: 1M GL lines read, formula and alias-bomb refusals",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="only a 36-month backfill over one full-history file: parsed once vs every month",
    )
    parser.add_argument("--history-lines", type=int, default=None, help="lines of that file")
    parser.add_argument(
        "--large-scale", type=float, default=None, help="generator scale of the large month"
    )
    parser.add_argument(
        "--backfill-scale",
        type=float,
        default=None,
        help="generator scale of the backfill months (default: the large scale)",
    )
    parser.add_argument("--backfill-months", type=int, default=12)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of every month but the large one; each figure is the quickest (default 3)",
    )
    parser.add_argument(
        "--try",
        dest="experiments",
        action="append",
        choices=sorted(EXPERIMENTS),
        default=[],
        help="apply a change proposed for another package in the benchmark's children",
    )
    parser.add_argument("--no-dagster", action="store_true", help="skip the Dagster job runs")
    parser.add_argument("--out", type=Path, default=None, help="results folder")
    args = parser.parse_args(argv)
    if args.all:
        args.large = args.growth = args.backfill = True
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=150)
    cache = args.cache or default_cache()
    runs = cache / "runs"
    started = time.perf_counter()
    load_before = os.getloadavg()[0]

    def note(text: str) -> None:
        console.print(f"[dim]{time.perf_counter() - started:7.1f}s[/] {text}")

    if args.micro:
        return run_micro(console, args.repeat, args.out or RESULTS_DIR, note)
    if args.history:
        return run_history(console, args.history_lines or HISTORY_LINES, note)
    if args.cli:
        return run_cli(console, args.repeat, args.warehouse_url, args.out or RESULTS_DIR, note)

    note(f"cache {cache}")
    scale = args.large_scale or scale_for(
        rows_per_scale(cache, seed=args.seed, month=args.month), LARGE_TARGETS
    )
    fractions = {"1/16": 1 / 16}
    if args.growth:
        fractions |= {"1/4": 1 / 4, "large": 1.0}
    elif args.large:
        fractions["large"] = 1.0
    workloads = [
        build_workload(cache, name="tiny", month=args.month, seed=args.seed, scale=HISTORY_SCALE)
    ]
    for name, fraction in fractions.items():
        note(f"data for {name} (scale {scale * fraction:g})")
        workloads.append(
            build_workload(
                cache, name=name, month=args.month, seed=args.seed, scale=scale * fraction
            )
        )

    tiny = workloads[0]
    startup_lake = runs / "startup" / "lake"
    prepare_lake(tiny, startup_lake)
    note("start-up and tiny month in a fresh interpreter")
    startup = measure_startup(
        bench_settings(tiny.landing, startup_lake, runs / "startup" / "w.db", tiny.first_month),
        args.month,
    )
    warm_up()
    for name in args.experiments:
        note(f"trying {name}: {EXPERIMENTS[name].__doc__}")
        EXPERIMENTS[name]()
    months: list[MonthResult] = []
    for workload in workloads:
        dagster = not args.no_dagster and workload.name in ("tiny", "1/16")
        note(f"month {workload.name}: floor, steps, DuckDB" + (", Dagster job" if dagster else ""))
        repeat = args.repeat if workload.name != "large" else 1
        months.append(
            bench_month(workload, runs / _slug(workload.name), dagster=dagster, repeat=repeat)
        )

    backfill: Backfill | None = None
    if args.backfill:
        backfill_scale = args.backfill_scale or scale
        note(f"backfill of {args.backfill_months} months at scale {backfill_scale:g}")
        backfill = run_backfill(
            cache,
            runs,
            seed=args.seed,
            month=args.month,
            scale=backfill_scale,
            count=args.backfill_months,
        )
    steps = growth_steps(months[0], months[1:])
    large = next((m for m in months if m.name == "large"), None)
    command = "python -m benchmarks " + shlex.join(argv)
    report = Report(
        command.strip(),
        startup,
        months,
        steps,
        backfill,
        targets(
            startup,
            months[0],
            large,
            steps,
            backfill,
            (fitted_per_million(months[1:]), fitted_per_million(months[1:], "floor")),
        ),
        args.experiments,
        [load_before, os.getloadavg()[0]],
    )
    print_report(console, report)
    path = write_json(report, args.out) if args.out else write_json(report)
    note(f"JSON written to {path}")
    disagreements = [m for m in months if m.differences or m.peer.error]
    if disagreements:
        console.print(
            "[red]DuckDB and the pipeline disagree: the comparison is not like for like[/]"
        )
        return 2
    return 0


def run_cli(
    console: Console,
    repeat: int,
    warehouse_url: str | None,
    out: Path,
    note: Callable[[str], None],
) -> int:
    """`--cli`: start-up of whole `bsc` processes, printed and written as JSON."""
    load_before = os.getloadavg()[0]
    note(f"bsc start-up, {repeat} runs of each command")
    figures = measure_cli(repeat, warehouse_url)
    load = [load_before, os.getloadavg()[0]]
    console.print(cli_table(figures))
    console.print(f"load average: {' → '.join(f'{v:.1f}' for v in load)} on {os.cpu_count()} CPUs")
    note(f"JSON written to {write_cli_json(figures, load, out)}")
    return 0


def run_micro(console: Console, repeat: int, out: Path, note: Callable[[str], None]) -> int:
    """`--micro`: the micro figures, printed and written as JSON."""
    load_before = os.getloadavg()[0]
    note(f"micro figures, quickest of {repeat}")
    figures = measure_micro(repeat)
    load = [load_before, os.getloadavg()[0]]
    console.print(micro_table(figures))
    console.print(f"load average: {' → '.join(f'{v:.1f}' for v in load)} on {os.cpu_count()} CPUs")
    note(f"JSON written to {write_micro_json(figures, load, out)}")
    return 0


def run_history(console: Console, lines: int, note: Callable[[str], None]) -> int:
    """`--history`: one full-history file read for 36 months, once and once per month."""
    note(f"backfill over one full-history file of {lines:,} lines")
    with tempfile.TemporaryDirectory(prefix="bsc-history-") as folder:
        figure = measure_history(Path(folder), lines=lines)
    console.print(history_table(figure))
    return 0


def _slug(name: str) -> str:
    return name.replace("/", "_of_")


if __name__ == "__main__":
    raise SystemExit(main())
