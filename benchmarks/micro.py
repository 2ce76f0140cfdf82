"""Speed of three single operations, each beside a baseline timed in the same run.

The suite checks what these operations do (the file is read whole, the bomb and the power tower
are refused); how fast they do it depends on the machine and its load, so the figures live here.
Each was once a test's time limit, shown as `limit`; the baseline, timed in the same minutes on
the same machine, says whether a slow figure is the code or the machine.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pa_csv
from rich.table import Table

from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources import load_contracts, read_dataset
from bsc_pipeline.spec.formula import FormulaError, parse_formula
from bsc_pipeline.spec.loader import load_spec
from bsc_pipeline.spec.problems import SpecError

GL_LINES = 1_000_000
POWER_TOWER = "9**9**9**9**9"
ARITHMETIC = "(a - b) / a * 100"


@dataclass(frozen=True)
class MicroFigure:
    """The quickest of `repeat` runs of an operation and of its baseline, in seconds."""

    name: str
    seconds: float
    baseline: str
    baseline_seconds: float
    limit: float
    """The time limit a test once asserted (seconds): a reference, not a pass mark."""

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline_seconds if self.baseline_seconds else float("nan")


def quickest(work: Callable[[], object], repeat: int) -> float:
    """Seconds of the quickest of `repeat` runs: the least disturbed by other work."""
    best = float("inf")
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def write_gl_lines(landing: Path, lines: int, month: str = "2025-03") -> Path:
    """A month of balanced two-line GL entries under `landing/gl_lines`."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "entry_id": np.char.add("E", (np.arange(lines) // 2).astype(str)),
            "line_no": np.arange(lines) % 2 + 1,
            "posting_date": f"{month}-15",
            "account": "4000",
            "amount": rng.integers(-100_000, 100_000, lines) / 100,
        }
    )
    path = landing / "gl_lines" / f"gl_lines_{month}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def gl_read(work: Path, repeat: int, lines: int = GL_LINES) -> MicroFigure:
    """The sources reader on a month of `lines` GL lines against pyarrow's bare CSV read."""
    landing = work / "landing"
    path = write_gl_lines(landing, lines)
    contracts = load_contracts(PROJECT_ROOT / "sources" / "contracts.yaml")

    def read() -> None:
        result = read_dataset(
            "gl_lines",
            "2025-03",
            landing_dir=landing,
            contracts=contracts,
            sources_config=PROJECT_ROOT / "sources" / "sources.yaml",
        )
        if len(result.frame) != lines:
            raise RuntimeError(f"read {len(result.frame)} of {lines} GL lines: {result.reason}")

    return MicroFigure(
        f"read {lines:,} GL lines (read_dataset)",
        quickest(read, repeat),
        "pyarrow.csv.read_csv of the file",
        quickest(lambda: pa_csv.read_csv(path), repeat),
        10.0,
    )


def power_tower(repeat: int) -> MicroFigure:
    """Refusing `9**9**9**9**9` (never evaluated) against parsing an accepted formula."""

    def refuse() -> None:
        try:
            parse_formula(POWER_TOWER)
        except FormulaError:
            return
        raise RuntimeError(f"{POWER_TOWER} was accepted")

    return MicroFigure(
        f"refuse formula {POWER_TOWER}",
        quickest(refuse, repeat),
        f"parse {ARITHMETIC!r}",
        quickest(lambda: parse_formula(ARITHMETIC), repeat),
        0.5,
    )


def alias_bomb_text(levels: int = 8, width: int = 10) -> str:
    """YAML whose aliases expand to width**(levels + 1) values ("billion laughs")."""
    rows = ["a: &a [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels + 1):
        previous, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * width) + "]")
    return "\n".join(rows) + "\n"


def alias_bomb(work: Path, repeat: int) -> MicroFigure:
    """Refusing a spec of 10^9 values once aliases expand, against loading the demo spec."""
    bomb = work / "bomb.yaml"
    bomb.write_text(alias_bomb_text(), encoding="utf-8")

    def refuse() -> None:
        try:
            load_spec(bomb)
        except SpecError:
            return
        raise RuntimeError("the alias bomb was accepted")

    return MicroFigure(
        "refuse a spec of 10^9 aliased values",
        quickest(refuse, repeat),
        "load specs/demo.yaml",
        quickest(lambda: load_spec(PROJECT_ROOT / "specs" / "demo.yaml"), repeat),
        5.0,
    )


def measure_micro(repeat: int = 3, gl_lines: int = GL_LINES) -> list[MicroFigure]:
    """Every micro figure, with its baseline, in this process."""
    with tempfile.TemporaryDirectory(prefix="bsc-micro-") as folder:
        work = Path(folder)
        return [gl_read(work, repeat, gl_lines), power_tower(repeat), alias_bomb(work, repeat)]


def _ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    return f"{milliseconds:,.1f}" if milliseconds >= 1 else f"{milliseconds:.3f}"


def micro_table(figures: list[MicroFigure]) -> Table:
    table = Table(title="Micro figures (quickest of the repeats; limit: a former test's limit)")
    for column in ("operation", "ms", "baseline", "baseline ms", "× baseline", "limit ms"):
        table.add_column(column, justify="left" if column in ("operation", "baseline") else "right")
    for figure in figures:
        table.add_row(
            figure.name,
            _ms(figure.seconds),
            figure.baseline,
            _ms(figure.baseline_seconds),
            f"{figure.ratio:.1f}",
            _ms(figure.limit),
        )
    return table


def write_micro_json(
    figures: list[MicroFigure], load_average: list[float], directory: Path
) -> Path:
    """The figures as `micro-<time>.json` beside the other results."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    payload = {
        "written_at": stamp.isoformat(timespec="seconds"),
        "load_average": load_average,
        "figures": [asdict(f) | {"ratio": f.ratio} for f in figures],
    }
    path = directory / f"micro-{stamp:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path
