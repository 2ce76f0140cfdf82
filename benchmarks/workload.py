"""Landing zones and lake history for benchmark runs, generated once and cached by scale and seed.

A measured month needs the months its measures read (up to three years back for trailing and
prior-year comparisons). Generating those at the large scale would cost an hour, so a workload is
the demo history at a small scale with only the measured month replaced by a month generated at
the chosen scale. The history's staged lake is built once per history and copied into each run.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import in_child
from bsc_pipeline.periods import Month
from bsc_pipeline.settings import PROJECT_ROOT, Settings

DEMO_SPEC = PROJECT_ROOT / "specs" / "demo.yaml"
DEFAULT_MONTH = "2026-06"
DEFAULT_SEED = 7
HISTORY_SCALE = 1.0
PROBE_SCALE = 40.0
LARGE_TARGETS: dict[str, int] = {
    "gl_lines": 5_000_000,
    "tickets": 500_000,
    "opportunities": 200_000,
    "survey_responses": 200_000,
    "employees": 50_000,
}
"""Rows of the large month per dataset (issue 9): the scale is the smallest that reaches all."""

_MONTH_IN_NAME = re.compile(r"_(\d{4}-\d{2})\.csv$")
_DONE = ".complete.json"


@dataclass(frozen=True)
class Workload:
    """A landing zone whose month `month` is measured, and the staged lake of its earlier months."""

    name: str
    month: str
    scale: float
    seed: int
    landing: Path
    history_lake: Path
    first_month: str

    def month_files(self) -> dict[str, list[Path]]:
        """The files named for the measured month, by dataset."""
        return {
            d.name: sorted(d.glob(f"{d.name}_{self.month}.csv"))
            for d in sorted(self.landing.iterdir())
            if d.is_dir()
        }


def default_cache() -> Path:
    return Path(os.environ.get("BSC_BENCH_CACHE", Path(tempfile.gettempdir()) / "bsc-bench-cache"))


def bench_settings(landing: Path, lake: Path, warehouse: Path, first_month: str) -> Settings:
    """Project defaults for spec, contracts and sources; landing, lake and warehouse of the run."""
    return Settings(
        warehouse_url=f"sqlite:///{warehouse}",
        landing_dir=landing,
        lake_dir=lake,
        spec_path=DEMO_SPEC,
        contracts_path=PROJECT_ROOT / "sources" / "contracts.yaml",
        sources_config=PROJECT_ROOT / "sources" / "sources.yaml",
        timezone="UTC",
        partitions_start=first_month,
    )


def file_month(path: Path) -> str | None:
    match = _MONTH_IN_NAME.search(path.name)
    return match.group(1) if match else None


def count_rows(path: Path) -> int:
    """Data rows of a demo CSV (one header line, no quoted line breaks in the demo format)."""
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


def generated(cache: Path, *, scale: float, seed: int, months: int, end: str) -> Path:
    """The generator's output for these arguments, written once under the cache (in a child)."""
    out = cache / "generated" / f"scale{scale:g}-seed{seed}-months{months}-end{end}"
    if (out / _DONE).exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    made = in_child(_generate, out, months, seed, scale, end)
    if made.error:
        raise RuntimeError(f"generating {out} failed: {made.error}")
    (out / _DONE).write_text(json.dumps(made.result), encoding="utf-8")
    return out


def _generate(out: Path, months: int, seed: int, scale: float, end: str) -> dict[str, int]:
    from bsc_pipeline.sources.demo_data import generate_demo

    return generate_demo(out, months=months, seed=seed, scale=scale, end=end).rows


def rows_per_scale(cache: Path, *, seed: int, month: str) -> dict[str, float]:
    """Rows of one month per unit of scale, from a probe month generated at PROBE_SCALE."""
    probe = generated(cache, scale=PROBE_SCALE, seed=seed, months=2, end=month)
    return {
        d.name: sum(count_rows(p) for p in d.glob(f"{d.name}_{month}.csv")) / PROBE_SCALE
        for d in probe.iterdir()
        if d.is_dir()
    }


def scale_for(per_scale: dict[str, float], targets: dict[str, int], margin: float = 1.03) -> float:
    """The smallest whole scale whose month reaches every target (rows grow about linearly)."""
    needed = [targets[d] / per_scale[d] for d in targets if per_scale.get(d)]
    return float(math.ceil(max(needed) * margin))


def history_months(month: str, horizon: str) -> list[str]:
    first, last = Month.parse(horizon), Month.parse(month)
    return [str(first.shift(i)) for i in range(last.index - first.index + 1)]


def measure_horizon(month: str) -> str:
    """Earliest month the demo spec's measures read as of `month` (comparisons included)."""
    from bsc_pipeline.measures.engine import MeasureEngine
    from bsc_pipeline.sources import load_contracts
    from bsc_pipeline.spec.loader import load_spec

    settings = bench_settings(Path(), Path(), Path("unused.db"), month)
    engine = MeasureEngine(
        load_spec(settings.spec_path),
        Month.parse(month),
        loader=None,  # type: ignore[arg-type]  # the horizon reads only the spec's calendar
        contracts=load_contracts(settings.contracts_path),
    )
    return str(engine.horizon)


def overlay(cache: Path, history: Path, month_run: Path, month: str) -> Path:
    """History files for every month but `month`, whose files come from `month_run` (hard links)."""
    target = cache / "landing" / f"{history.name}+{month_run.name}"
    if (target / _DONE).exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    for source, keep in ((history, lambda m: m != month), (month_run, lambda m: m == month)):
        for path in sorted(source.glob("*/*.csv")):
            if keep(file_month(path)):
                dest = target / path.parent.name / path.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                _link(path, dest)
    (target / _DONE).write_text("{}", encoding="utf-8")
    return target


def _link(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def history_lake(cache: Path, landing: Path, months: list[str]) -> Path:
    """The lake after extracting and staging every month in `months` (built once, then cached).

    Built in a child process, so the harness's own memory stays that of its imports.
    """
    target = cache / "lake" / f"{landing.name}-{months[0]}..{months[-1]}"
    if (target / _DONE).exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    built = in_child(_stage_months, landing, target, months)
    if built.error:
        raise RuntimeError(f"building the history lake {target} failed: {built.error}")
    (target / _DONE).write_text("{}", encoding="utf-8")
    return target


def _stage_months(landing: Path, lake: Path, months: list[str]) -> None:
    from bsc_pipeline.pipeline import Pipeline
    from bsc_pipeline.quality.gx_validator import GXValidator

    settings = bench_settings(landing, lake, lake / "unused.db", months[0])
    pipeline, validator = Pipeline(settings), GXValidator()
    for month in months:
        for dataset in pipeline.datasets:
            pipeline.extract(dataset, month)
        for dataset in pipeline.datasets:
            pipeline.stage(dataset, month, validator)


def prepare_lake(workload: Workload, lake: Path, volume_months: int = 6) -> None:
    """Copy the history into a run's lake, with recent volumes sized like the measured month.

    The gate compares a month's rows with the median of recent months; a large month over a small
    history would fail that check, which no real company's month would.
    """
    shutil.rmtree(lake, ignore_errors=True)
    shutil.copytree(workload.history_lake, lake, ignore=shutil.ignore_patterns(_DONE, "*.db"))
    sizes = {d: sum(count_rows(p) for p in files) for d, files in workload.month_files().items()}
    this = Month.parse(workload.month)
    for back in range(1, volume_months + 1):
        month = str(this.shift(-back))
        for dataset, rows in sizes.items():
            meta_path = lake / "raw" / dataset / f"{month}.json"
            if meta_path.exists() and rows:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                meta["row_count"] = rows
                meta_path.write_text(json.dumps(meta), encoding="utf-8")


def build_workload(
    cache: Path,
    *,
    name: str,
    month: str,
    seed: int,
    scale: float,
    history_scale: float = HISTORY_SCALE,
    history: int | None = None,
) -> Workload:
    """The demo history at `history_scale` with `month` generated at `scale`.

    `history` months (the measured one included) default to every month the measures read.
    """
    first = (
        measure_horizon(month) if history is None else str(Month.parse(month).shift(1 - history))
    )
    months = history_months(month, first)
    past = generated(cache, scale=history_scale, seed=seed, months=len(months), end=month)
    if scale == history_scale:
        landing = past
    else:
        month_run = generated(cache, scale=scale, seed=seed, months=2, end=month)
        landing = overlay(cache, past, month_run, month)
    lake = history_lake(cache, past, months[:-1])
    return Workload(name, month, scale, seed, landing, lake, months[0])
