"""An in-memory FrameLoader and a small spec factory for the measure engine's tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import pytest

from bsc_pipeline.spec.models import Spec

CONTRACTS: dict[str, dict[str, Any]] = {
    "sales": {"mode": "period", "month_column": "day", "keys": ["id"]},
    "visits": {"mode": "period", "month_column": "day", "keys": ["id"]},
    "tickets": {"mode": "incremental", "month_column": "created", "keys": ["ticket_id"]},
    "staff": {"mode": "snapshot", "month_column": None, "keys": ["employee_id"]},
    "budget": {"mode": "snapshot", "month_column": "month", "keys": ["month", "account"]},
}


class MemoryLoader:
    """Staged frames keyed by (dataset, month), following the FrameLoader contract."""

    def __init__(self, contracts: dict[str, dict[str, Any]] | None = None) -> None:
        self.contracts = contracts or CONTRACTS
        self.frames: dict[tuple[str, str], pd.DataFrame] = {}
        self.failures: dict[tuple[str, str], str] = {}
        self.loads: list[tuple[str, tuple[str, ...]]] = []
        self.starts: dict[str, str] = {}

    def stage(
        self,
        dataset: str,
        month: str,
        rows: list[dict[str, Any]] | pd.DataFrame,
        columns: Sequence[str] | None = None,
    ) -> MemoryLoader:
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=columns)
        for column in frame.columns:
            if column in ("day", "created", "month", "hired", "left"):
                frame[column] = pd.to_datetime(frame[column])
        self.frames[(dataset, month)] = frame
        return self

    def fail(self, dataset: str, month: str, reason: str = "row count below minimum") -> None:
        self.failures[(dataset, month)] = reason

    def load(self, dataset: str, months: Sequence[str]) -> pd.DataFrame | None:
        self.loads.append((dataset, tuple(months)))
        if self.contracts[dataset]["mode"] == "snapshot":
            staged = sorted(m for d, m in self.frames if d == dataset and m <= max(months))
            return self.frames[(dataset, staged[-1])].copy() if staged else None
        parts = [self.frames[(dataset, m)] for m in sorted(months) if (dataset, m) in self.frames]
        if not parts:
            return None
        frame = pd.concat(parts, ignore_index=True)
        keys = self.contracts[dataset]["keys"]
        return frame.drop_duplicates(keys, keep="last").reset_index(drop=True)

    def has_month(self, dataset: str, month: str) -> bool:
        return (dataset, month) in self.frames

    def gate_failure(self, dataset: str, month: str) -> str | None:
        return self.failures.get((dataset, month))

    def not_started(self, dataset: str, month: str) -> str | None:
        start = self.starts.get(dataset)
        if start is None or month >= start:
            return None
        return f"source not started: {dataset} starts {start} (declared)"


def build_spec(measures: list[dict[str, Any]], fiscal_year_start_month: int = 1) -> Spec:
    return Spec.model_validate(
        {
            "scorecard": {"name": "Test", "fiscal_year_start_month": fiscal_year_start_month},
            "owners": [{"id": "cfo", "name": "CFO"}],
            "perspectives": [{"id": "financial", "name": "Financial"}],
            "objectives": [{"id": "grow", "name": "Grow", "perspective": "financial"}],
            "measures": measures,
        }
    )


@pytest.fixture
def loader() -> MemoryLoader:
    return MemoryLoader()


@pytest.fixture
def spec_of() -> Callable[..., Spec]:
    return build_spec


@pytest.fixture
def contracts() -> dict[str, dict[str, Any]]:
    return CONTRACTS


@pytest.fixture
def row() -> Callable[[pd.DataFrame, str, str], pd.Series]:
    """The single output row of a measure and period type."""

    def pick(frame: pd.DataFrame, measure_id: str, period_type: str) -> pd.Series:
        hit = frame[(frame["measure_id"] == measure_id) & (frame["period_type"] == period_type)]
        assert len(hit) == 1, hit
        return hit.iloc[0]

    return pick


@pytest.fixture
def loader_class() -> type[MemoryLoader]:
    """The loader class itself, for tests that build many loaders (hypothesis)."""
    return MemoryLoader
