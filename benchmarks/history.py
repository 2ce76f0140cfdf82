"""A backfill over one full-history file: reading it once per run against once per month.

`python -m benchmarks --history` writes a `gl_lines` export holding `months` months in one file
(`split_by_month`), then reads every month through `read_dataset` twice: as a run does now (the
file parsed once, the process keeps the parsed frame) and as the baseline, timed in the same run,
that parses the file for every month (the cache emptied before each read). Both runs must give
each month the same rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from bsc_pipeline.periods import Month
from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources import dataset, load_contracts, parsed, read_dataset

MONTHS = 36
LINES = 360_000
FIRST = "2022-01"


@dataclass(frozen=True)
class HistoryFigure:
    """Seconds to read every month of one full-history file, parsed once and parsed each time."""

    months: int
    lines: int
    once_seconds: float
    each_seconds: float
    parses_once: int
    parses_each: int

    @property
    def speedup(self) -> float:
        return self.each_seconds / self.once_seconds if self.once_seconds else float("nan")


def month_list(first: str, count: int) -> list[str]:
    month = Month.parse(first)
    months = []
    for _ in range(count):
        months.append(str(month))
        month = month.shift(1)
    return months


def write_history(landing: Path, months: list[str], lines: int) -> Path:
    """Balanced two-line GL entries spread evenly over `months`, in one file naming no month."""
    rng = np.random.default_rng(7)
    days = np.array([f"{m}-15" for m in months])
    frame = pd.DataFrame(
        {
            "entry_id": np.char.add("E", (np.arange(lines) // 2).astype(str)),
            "line_no": np.arange(lines) % 2 + 1,
            "posting_date": days[(np.arange(lines) // 2) % len(months)],
            "account": "4000",
            "amount": rng.integers(-100_000, 100_000, lines) / 100,
        }
    )
    path = landing / "gl_lines" / "gl_lines_history.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def write_config(folder: Path) -> Path:
    config = folder / "sources.yaml"
    config.write_text(
        "settle_seconds: 0\ndatasets:\n  gl_lines:\n"
        f"    mapping: '{PROJECT_ROOT / 'sources' / 'mappings' / 'demo.yaml'}'\n"
        "    file_pattern: '^{dataset}(_(?P<month>\\d{4}-\\d{2})|_history)\\.csv$'\n"
        "    split_by_month: true\n",
        encoding="utf-8",
    )
    return config


def measure_history(work: Path, months: int = MONTHS, lines: int = LINES) -> HistoryFigure:
    """Read all `months` months twice: the file parsed once, then parsed for every month."""
    landing = work / "landing"
    names = month_list(FIRST, months)
    write_history(landing, names, lines)
    config = write_config(work)
    contracts = load_contracts(PROJECT_ROOT / "sources" / "contracts.yaml")
    parses: list[str] = []
    real = dataset.read_raw

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        parses.append(args[1])
        return real(*args, **kwargs)

    def backfill(parse_each_month: bool) -> tuple[float, list[int]]:
        parsed.clear()
        counts = []
        start = time.perf_counter()
        for month in names:
            if parse_each_month:
                parsed.clear()
            read = read_dataset(
                "gl_lines", month, landing_dir=landing, contracts=contracts, sources_config=config
            )
            counts.append(len(read.frame))
        return time.perf_counter() - start, counts

    dataset.read_raw = counting  # type: ignore[assignment]
    try:
        once, rows_once = backfill(parse_each_month=False)
        parses_once = len(parses)
        each, rows_each = backfill(parse_each_month=True)
        parses_each = len(parses) - parses_once
    finally:
        dataset.read_raw = real  # type: ignore[assignment]
        parsed.clear()
    if rows_once != rows_each or sum(rows_once) != lines:
        raise RuntimeError(f"months differ: {rows_once} vs {rows_each} of {lines} lines")
    return HistoryFigure(months, lines, once, each, parses_once, parses_each)


def history_table(figure: HistoryFigure) -> Table:
    table = Table(
        title=f"Backfill of {figure.months} months over one file of {figure.lines:,} GL lines"
    )
    for column in ("reads", "file parses", "seconds", "× parsed once"):
        table.add_column(column, justify="left" if column == "reads" else "right")
    table.add_row(
        "parsed once per run (now)", str(figure.parses_once), f"{figure.once_seconds:.2f}", "1.0"
    )
    table.add_row(
        "baseline: parsed for every month",
        str(figure.parses_each),
        f"{figure.each_seconds:.2f}",
        f"{figure.speedup:.1f}",
    )
    return table
