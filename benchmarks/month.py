"""One measured month: the floor, every pipeline stage, the DuckDB peer and the Dagster job."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.floor import files_read, read_floor
from benchmarks.measure import Measured, in_child
from benchmarks.peer import Difference, differences, peer_values
from benchmarks.stages import (
    MonthStages,
    dagster_month,
    fastest,
    lake_month_values,
    migrate,
    run_stages,
)
from benchmarks.workload import Workload, bench_settings, prepare_lake


@dataclass
class MonthResult:
    """Everything measured for one month of one workload."""

    name: str
    month: str
    scale: float
    input_rows: int
    rows_by_dataset: dict[str, int]
    floor: Measured
    stages: MonthStages
    peer: Measured
    differences: list[Difference] = field(default_factory=list)
    dagster: Measured | None = None

    @property
    def pipeline_seconds(self) -> float:
        return self.stages.seconds

    def per_million(self, seconds: float) -> float:
        return seconds / self.input_rows * 1e6 if self.input_rows else float("nan")


def bench_month(
    workload: Workload, run_dir: Path, *, dagster: bool, repeat: int = 1
) -> MonthResult:
    """Measure `workload.month` on fresh copies of its lake and fresh SQLite warehouses.

    With `repeat` > 1 every figure is the quickest of the repeats (noise only adds time).
    """
    from bsc_pipeline.sources import load_contracts
    from bsc_pipeline.spec.loader import load_spec

    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    lake = run_dir / "lake"
    first = workload.first_month
    settings = bench_settings(workload.landing, lake, run_dir / "warehouse.db", first)
    contracts = load_contracts(settings.contracts_path)
    spec = load_spec(settings.spec_path)
    files = files_read(workload.landing, contracts, workload.month)

    floors, runs, peers = [], [], []
    for _ in range(repeat):
        prepare_lake(workload, lake)
        (run_dir / "warehouse.db").unlink(missing_ok=True)
        floors.append(in_child(read_floor, files))
        rows: dict[str, int] = floors[-1].result.rows if floors[-1].result else {}
        runs.append(run_stages(settings, workload.month, sum(rows.values())))
        peers.append(in_child(peer_values, spec, contracts, workload.landing, workload.month))
    floor = min(floors, key=lambda m: m.seconds)
    peer = min(peers, key=lambda m: m.seconds)
    rows = floor.result.rows if floor.result else {}
    found = differences(lake_month_values(lake, workload.month), peers[-1].result or {})
    result = MonthResult(
        workload.name,
        workload.month,
        workload.scale,
        sum(rows.values()),
        rows,
        floor,
        fastest(runs),
        peer,
        found,
    )
    if dagster:
        dagster_lake = run_dir / "lake-dagster"
        prepare_lake(workload, dagster_lake)
        dagster_settings = bench_settings(
            workload.landing, dagster_lake, run_dir / "warehouse-dagster.db", first
        )
        in_child(migrate, dagster_settings)
        result.dagster = in_child(
            dagster_month, dagster_settings, workload.month, log=run_dir / "dagster.log"
        )
    return result
