"""The floor: reading the month's landing files into Arrow tables with pyarrow, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.csv as pa_csv

from benchmarks.workload import file_month


@dataclass
class FloorRead:
    """Rows and bytes read per dataset."""

    rows: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def files_read(landing: Path, contracts: dict[str, Any], month: str) -> dict[str, list[Path]]:
    """The files a month's extract reads, by the contract's mode (same rules as the sources).

    period: the month's file; incremental: every file up to the month; snapshot: the newest file
    up to the month, else the newest there is.
    """
    chosen: dict[str, list[Path]] = {}
    for dataset, contract in contracts.items():
        files = sorted((landing / dataset).glob(f"{dataset}_*.csv"))
        dated = [p for p in files if (file_month(p) or "") <= month]
        mode = contract.mode if hasattr(contract, "mode") else contract["mode"]
        if mode == "period":
            chosen[dataset] = [p for p in files if file_month(p) == month][-1:]
        elif mode == "snapshot":
            chosen[dataset] = (dated or files)[-1:]
        else:
            chosen[dataset] = dated
    return chosen


def read_floor(files: dict[str, list[Path]]) -> FloorRead:
    """Read every file into an Arrow table (pyarrow's multithreaded CSV reader) and drop it."""
    read = FloorRead()
    for dataset, paths in files.items():
        read.rows[dataset] = 0
        read.bytes[dataset] = 0
        for path in paths:
            table = pa_csv.read_csv(path)
            read.rows[dataset] += table.num_rows
            read.bytes[dataset] += path.stat().st_size
    return read
