"""What the engine needs from the lake: staged frames, which months arrived, gate verdicts.

`FrameLoader` is the narrow interface the pipeline implements over the lake (tests implement it
in memory). `StagedData` wraps one so that every dataset × month is read once per run, however
many measures and periods use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pandas as pd

Mode = Literal["snapshot", "incremental", "period"]


class FrameLoader(Protocol):
    """Staged rows and gate verdicts per dataset and month."""

    def load(self, dataset: str, months: Sequence[str]) -> pd.DataFrame | None:
        """Staged rows of `months`, concatenated and deduplicated by the contract key.

        For snapshot datasets: the newest snapshot at or before the last month. None when nothing
        is staged.
        """
        ...

    def has_month(self, dataset: str, month: str) -> bool:
        """Whether the dataset has staged data for that month (possibly zero rows)."""
        ...

    def not_started(self, dataset: str, month: str) -> str | None:
        """Why the month has no data by nature (its source had not started), or None.

        Optional: a loader without it treats every month as started.
        """
        ...

    def gate_failure(self, dataset: str, month: str) -> str | None:
        """Why the dataset failed its gate that month, or None when it passed or never ran.

        A reason starting with `LOST_PREFIX` means the month's rows cannot be read any more.
        """
        ...


LOST_PREFIX = "input lost: "
"""How `gate_failure` says a month can no longer be read at all (the lake lost it and the landing
zone no longer holds its files): measures reading it are held, and so are rows comparing to it."""


class ContractMissingError(KeyError):
    """A measure reads a dataset that has no contract."""


@dataclass(frozen=True)
class DatasetInfo:
    """The facts of a contract the engine uses (the loader deduplicates by the keys)."""

    name: str
    mode: Mode
    month_column: str | None


def dataset_infos(contracts: Mapping[str, Any]) -> dict[str, DatasetInfo]:
    """Read contracts given as `load_contracts` models, plain dicts, or the raw YAML mapping."""
    if "datasets" in contracts and isinstance(contracts["datasets"], Mapping):
        contracts = contracts["datasets"]
    return {name: _info(name, body) for name, body in contracts.items()}


def _info(name: str, body: Any) -> DatasetInfo:
    def field(key: str, default: Any) -> Any:
        if isinstance(body, Mapping):
            return body.get(key, default)
        return getattr(body, key, default)

    return DatasetInfo(
        name=name,
        mode=field("mode", "period"),
        month_column=field("month_column", None),
    )


class StagedData:
    """A caching view of a `FrameLoader`: each load, month check and gate check happens once."""

    def __init__(self, loader: FrameLoader, infos: Mapping[str, DatasetInfo]) -> None:
        self._loader = loader
        self._infos = infos
        self._frames: dict[tuple[str, tuple[str, ...]], pd.DataFrame | None] = {}
        self._has: dict[tuple[str, str], bool] = {}
        self._gate: dict[tuple[str, str], str | None] = {}
        self._early: dict[tuple[str, str], str | None] = {}

    def info(self, dataset: str) -> DatasetInfo:
        try:
            return self._infos[dataset]
        except KeyError:
            raise ContractMissingError(
                f"dataset {dataset!r} has no contract; expected one of {sorted(self._infos)}"
            ) from None

    def frame(self, dataset: str, months: Sequence[str]) -> pd.DataFrame | None:
        key = (dataset, tuple(months))
        if key not in self._frames:
            self._frames[key] = self._loader.load(dataset, list(months)) if months else None
        return self._frames[key]

    def has_month(self, dataset: str, month: str) -> bool:
        key = (dataset, month)
        if key not in self._has:
            self._has[key] = bool(self._loader.has_month(dataset, month))
        return self._has[key]

    def gate_failure(self, dataset: str, month: str) -> str | None:
        key = (dataset, month)
        if key not in self._gate:
            self._gate[key] = self._loader.gate_failure(dataset, month)
        return self._gate[key]

    def not_started(self, dataset: str, month: str) -> str | None:
        key = (dataset, month)
        if key not in self._early:
            ask = getattr(self._loader, "not_started", None)
            self._early[key] = ask(dataset, month) if ask is not None else None
        return self._early[key]
