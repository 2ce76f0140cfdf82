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


def bench_month(workload: Workload, run_dir: Path, *, dagster: bool) -> MonthResult:
    """Measure `workload.month` on a fresh copy of its lake and a fresh SQLite warehouse."""
    from bsc_pipeline.sources import load_contracts
    from bsc_pipeline.spec.loader import load_spec

    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    lake = run_dir / "lake"
    prepare_lake(workload, lake)
    first = workload.first_month
    settings = bench_settings(workload.landing, lake, run_dir / "warehouse.db", first)
    contracts = load_contracts(settings.contracts_path)
    spec = load_spec(settings.spec_path)

    floor = in_child(read_floor, files_read(workload.landing, contracts, workload.month))
    rows: dict[str, int] = floor.result.rows if floor.result else {}
    input_rows = sum(rows.values())
    stages = run_stages(settings, workload.month, input_rows)
    peer = in_child(peer_values, spec, contracts, workload.landing, workload.month)
    found = differences(lake_month_values(lake, workload.month), peer.result or {})
    result = MonthResult(
        workload.name,
        workload.month,
        workload.scale,
        input_rows,
        rows,
        floor,
        stages,
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
