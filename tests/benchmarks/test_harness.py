"""The harness end to end at a small scale, and the arithmetic of growth and targets."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from benchmarks.cli import cli_table, measure_cli, write_cli_json
from benchmarks.floor import files_read
from benchmarks.growth import fitted_per_million, growth_steps
from benchmarks.measure import Measured, TreeMemory, in_child
from benchmarks.micro import measure_micro, micro_table, write_micro_json
from benchmarks.month import MonthResult, bench_month
from benchmarks.report import Report, print_report, targets, write_json
from benchmarks.stages import STAGES, MonthStages, StageFigure
from benchmarks.workload import build_workload, scale_for
from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources import load_contracts

MONTH = "2026-06"
HANG_BOUND = 600
"""Seconds that only bound a hang: a busy machine is slow, never this slow."""


def _month(name: str, rows: int, seconds: float, floor: float) -> MonthResult:
    stages = MonthStages({"read": StageFigure(seconds, rows / seconds, 100.0)})
    return MonthResult(
        name, MONTH, 1.0, rows, {}, Measured(floor, 50.0), stages, Measured(0.1, 60.0)
    )


def test_growth_is_cost_beyond_the_tiny_month_per_extra_rows() -> None:
    tiny = _month("tiny", 1_000, 2.0, 0.01)
    steps = growth_steps(
        tiny, [_month("1/4", 4_001_000, 42.0, 2.0), _month("1/16", 1_001_000, 12.0, 0.5)]
    )
    assert [s.name for s in steps] == ["1/16", "1/4"]
    assert steps[0].growing_per_million == pytest.approx(10.0)  # (12 - 2) s / 1 M extra rows
    assert steps[0].floor_per_million == pytest.approx(0.5 / 1.001)
    assert steps[1].rows_ratio == pytest.approx(4.0)
    assert steps[1].cost_ratio == pytest.approx(4.0)  # (42 - 2) / (12 - 2)
    assert steps[1].near_linear
    found = {t.name: t for t in targets({}, tiny, None, steps, None)}
    assert found["growth to 1/4"].figure == pytest.approx(4.0)
    assert found["growth to 1/4"].met
    assert found["growing part / floor (1/4)"].figure == pytest.approx(10.0 / (2.0 / 4.001))
    assert found["imports + definitions"].met is None  # not measured is not a pass


def test_fitted_slope_is_least_squares_over_the_growth_runs() -> None:
    # 1 M rows: 3 s, 2 M: 4 s, 4 M: 8 s; mean (7/3, 5), Sxy = 8, Sxx = 14/3 -> 12/7 s per M
    months = [_month("a", 1_000_000, 3.0, 0.2), _month("b", 2_000_000, 4.0, 0.4)]
    months.append(_month("c", 4_000_000, 8.0, 0.8))
    assert fitted_per_million(months) == pytest.approx(12 / 7)
    assert fitted_per_million(months, "floor") == pytest.approx(0.2)
    assert math.isnan(fitted_per_million(months[:1]))


def test_scale_reaches_every_target() -> None:
    per_scale = {"gl_lines": 2_000.0, "tickets": 300.0, "employees": 1_000.0}
    scale = scale_for(per_scale, {"gl_lines": 5_000_000, "tickets": 500_000}, margin=1.0)
    assert scale == 2_500
    assert scale * per_scale["tickets"] >= 500_000


def test_child_reports_errors_and_peak(tmp_path: Path) -> None:
    def allocate(mib: int) -> int:
        block = bytearray(mib * 1024 * 1024)
        return len(block)

    small, large = in_child(allocate, 1), in_child(allocate, 200)
    assert large.result == 200 * 1024 * 1024
    assert large.peak_mib - small.peak_mib > 150
    failed = in_child(_fails)
    assert failed.error is not None and "ValueError: no such month" in failed.error


def test_tree_memory_counts_grandchildren() -> None:
    # The grandchild holds its block until its stdin closes, which happens once the sampler
    # has seen the block (or, if it never does, after a bound that only stops a hang).
    code = "import sys; block = bytearray(150 * 2**20); sys.stdin.read()"
    with TreeMemory(interval=0.05) as memory:
        shell = subprocess.Popen(
            ["sh", "-c", f'"{sys.executable}" -c "{code}"'], stdin=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + HANG_BOUND
            while memory.peak_process_mib <= 150 and time.monotonic() < deadline:
                if shell.poll() is not None:
                    pytest.fail(f"the grandchild exited early with {shell.returncode}")
                time.sleep(0.05)
        finally:
            assert shell.stdin is not None
            shell.stdin.close()
            assert shell.wait(timeout=HANG_BOUND) == 0
    assert memory.peak_process_mib > 150, f"not seen in {HANG_BOUND} s: {memory.peak_process_mib}"
    assert memory.peak_total_mib >= memory.peak_process_mib


def test_micro_figures_time_the_operation_and_its_baseline(tmp_path: Path) -> None:
    figures = measure_micro(repeat=1, gl_lines=1_000)
    assert [f.limit for f in figures] == [10.0, 0.5, 5.0]
    assert "1,000 GL lines" in figures[0].name
    for figure in figures:
        assert 0 < figure.seconds < math.inf and 0 < figure.baseline_seconds < math.inf
    path = write_micro_json(figures, [1.0, 1.5], tmp_path)
    written = json.loads(path.read_text())
    assert [f["name"] for f in written["figures"]] == [f.name for f in figures]
    assert written["figures"][1]["ratio"] == pytest.approx(figures[1].ratio)
    Console(record=True, width=200).print(micro_table(figures))


def test_cli_figures_time_whole_processes_beside_a_bare_interpreter(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    figures = measure_cli(repeat=1, warehouse_url=url)
    assert [f.command.split(" (")[0] for f in figures] == [
        "python -c pass",
        "bsc --help",
        "bsc no-such-command",
        "bsc spec check",
        "bsc show",
    ]
    codes = {f.command: f.exit_code for f in figures}
    assert codes["bsc --help"] == 0 and codes["bsc no-such-command (usage error)"] == 2
    assert codes["bsc show"] == 1, "nothing published in an empty warehouse"
    assert all(0 < f.best <= f.median < math.inf and f.cpu >= 0 for f in figures)
    written = json.loads(write_cli_json(figures, [1.0], tmp_path).read_text())
    assert [f["command"] for f in written["figures"]] == [f.command for f in figures]
    Console(record=True, width=200).print(cli_table(figures))


def _fails() -> None:
    raise ValueError("no such month")


@pytest.mark.slow
def test_harness_measures_a_small_month_and_duckdb_agrees(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cache = tmp_path_factory.mktemp("cache")
    workload = build_workload(
        cache, name="small", month=MONTH, seed=3, scale=2.0, history_scale=0.3, history=13
    )
    contracts = load_contracts(PROJECT_ROOT / "sources" / "contracts.yaml")
    assert all(files_read(workload.landing, contracts, MONTH).values())
    result = bench_month(workload, cache / "run", dagster=False)
    assert set(result.stages.figures) == set(STAGES)
    assert result.floor.error is None and result.input_rows > 0
    assert result.stages.extract_rows["gl_lines"] > 0
    assert result.peer.error is None
    assert len(result.peer.result) >= 30
    assert result.differences == [], "\n".join(map(str, result.differences))
    for name in ("read", "gate", "measures", "scoring"):
        assert result.stages.figures[name].error is None, result.stages.figures[name].error
        assert result.stages.figures[name].peak_mib > 0

    report = Report("test", {}, [result], growth_steps(result, []), None, [])
    console = Console(record=True, width=160)
    print_report(console, report)
    assert "DuckDB peer" in console.export_text()
    written = json.loads(write_json(report, cache / "results").read_text(encoding="utf-8"))
    month = written["months"][0]
    assert month["input_rows"] == result.input_rows
    assert not math.isnan(month["pipeline_seconds"])


def test_history_figure_reads_every_month_parsing_once_and_each_time(tmp_path: Path) -> None:
    from benchmarks.history import history_table, measure_history

    figure = measure_history(tmp_path, months=3, lines=60)
    assert (figure.parses_once, figure.parses_each) == (1, 3)
    assert figure.once_seconds > 0 and figure.each_seconds > 0
    Console(record=True, width=200).print(history_table(figure))
