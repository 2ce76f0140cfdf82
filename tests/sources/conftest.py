"""Shared set-up for source tests: a landing zone in a temp folder and a sources file for it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources import DatasetContract, DatasetRead, load_contracts, read_dataset

FIXTURES = PROJECT_ROOT / "sources" / "fixtures"
MAPPINGS = PROJECT_ROOT / "sources" / "mappings"


@pytest.fixture(scope="session")
def contracts() -> dict[str, DatasetContract]:
    return load_contracts(PROJECT_ROOT / "sources" / "contracts.yaml")


class Landing:
    """A landing zone plus a sources file, built up by a test."""

    def __init__(self, root: Path, contracts: dict[str, DatasetContract]) -> None:
        self.root = root
        self.dir = root / "landing"
        self.dir.mkdir()
        self.config = root / "sources.yaml"
        self.contracts = contracts
        self.datasets: dict[str, str] = {}
        self.patterns: dict[str, str] = {}
        self._write_config()

    def _write_config(self) -> None:
        lines = ["settle_seconds: 0", "datasets:"]
        for ds in sorted({*self.datasets, *self.patterns}):
            mapping = self.datasets.get(ds, str(MAPPINGS / "demo.yaml"))
            pattern = self.patterns.get(
                ds, r"^{dataset}_(?P<month>\d{4}-\d{2})\.(csv|parquet|xlsx)$"
            )
            lines.append(f"  {ds}: {{mapping: '{mapping}', file_pattern: '{pattern}'}}")
        if len(lines) == 2:
            lines[-1] = "datasets: {}"
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def use(self, dataset: str, mapping: str | Path) -> None:
        """Point a dataset at a mapping: a file name under sources/mappings or YAML text."""
        if isinstance(mapping, Path):
            path = mapping
        elif "\n" in mapping:
            path = self.root / f"{dataset}_mapping.yaml"
            path.write_text(mapping, encoding="utf-8")
        else:
            path = MAPPINGS / mapping
        self.datasets[dataset] = str(path)
        self._write_config()

    def file_pattern(self, dataset: str, pattern: str) -> None:
        self.patterns[dataset] = pattern
        self._write_config()

    def put(self, dataset: str, name: str, content: str | bytes) -> Path:
        folder = self.dir / dataset
        folder.mkdir(exist_ok=True)
        path = folder / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    def put_fixture(self, dataset: str, fixture: str, name: str) -> Path:
        (self.dir / dataset).mkdir(exist_ok=True)
        return Path(shutil.copy(FIXTURES / fixture, self.dir / dataset / name))

    def read(self, dataset: str, month: str) -> DatasetRead:
        return read_dataset(
            dataset,
            month,
            landing_dir=self.dir,
            contracts=self.contracts,
            sources_config=self.config,
        )


@pytest.fixture
def landing(tmp_path: Path, contracts: dict[str, DatasetContract]) -> Landing:
    return Landing(tmp_path, contracts)


ReadFn = Callable[[str, str], DatasetRead]
