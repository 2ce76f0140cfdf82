"""Wall time of whole `bsc` processes beside a bare `python -c pass`, measured in the same run.

Start-up is what a person waits for before `bsc` does anything: interpreter, imports, building
the command tree. Each command runs as a fresh process (the harness has everything imported),
`repeat` times; the figures are the quickest and the median wall time, and the least CPU time
(user + system of the child: on a busy machine wall time is mostly waiting for a core, CPU time
is what the command costs). `bsc show` reads the warehouse
given (default BSC_WAREHOUSE_URL); with nothing published it still measures its start-up and the
read that finds nothing.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table

from bsc_pipeline.settings import PROJECT_ROOT


@dataclass(frozen=True)
class CliFigure:
    """Seconds of one command line, quickest and median of the repeats, and its exit status."""

    command: str
    best: float
    median: float
    cpu: float
    exit_code: int


def _bsc() -> list[str]:
    """The installed `bsc` script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("bsc")
    if script.exists():
        return [str(script)]
    found = shutil.which("bsc")
    return [found] if found else [sys.executable, "-m", "bsc_pipeline.cli"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(
    argv: list[str], env: dict[str, str], repeat: int
) -> tuple[list[float], list[float], int]:
    """Wall and CPU seconds of each of `repeat` runs, and the last exit status."""
    seconds, cpu = [], []
    code = 0
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), _cpu()
        done = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, capture_output=True, check=False)
        seconds.append(time.perf_counter() - start)
        cpu.append(_cpu() - cpu_start)
        code = done.returncode
    return seconds, cpu, code


def measure_cli(repeat: int, warehouse_url: str | None = None) -> list[CliFigure]:
    """`python -c pass`, `bsc --help`, `bsc spec check` and `bsc show`, piped as in a script."""
    env = dict(os.environ)
    if warehouse_url:
        env["BSC_WAREHOUSE_URL"] = warehouse_url
    bsc = _bsc()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "bsc --help": [*bsc, "--help"],
        "bsc no-such-command (usage error)": [*bsc, "no-such-command"],
        "bsc spec check": [*bsc, "spec", "check"],
        "bsc show": [*bsc, "show"],
    }
    figures = []
    for name, argv in commands.items():
        seconds, cpu, code = _time(argv, env, repeat)
        figures.append(CliFigure(name, min(seconds), statistics.median(seconds), min(cpu), code))
    return figures


def cli_table(figures: list[CliFigure]) -> Table:
    base = figures[0].best
    table = Table(title="bsc start-up, whole processes (quickest and median of the repeats)")
    for column in ("command", "best s", "median s", "− python -c pass", "CPU s", "exit"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for f in figures:
        extra = "" if f is figures[0] else f"{f.best - base:.3f}"
        table.add_row(
            f.command, f"{f.best:.3f}", f"{f.median:.3f}", extra, f"{f.cpu:.3f}", str(f.exit_code)
        )
    return table


def write_cli_json(figures: list[CliFigure], load_average: list[float], directory: Path) -> Path:
    """The figures as `cli-<time>.json` beside the other results."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    payload = {
        "written_at": stamp.isoformat(timespec="seconds"),
        "load_average": load_average,
        "figures": [asdict(f) for f in figures],
    }
    path = directory / f"cli-{stamp:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path
