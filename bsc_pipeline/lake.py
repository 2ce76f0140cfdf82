"""The lake: Parquet and JSON files between the landing zone and the published warehouse.

Every layer before publication writes here, one file per dataset and month, so a failed run never
touches published numbers and any month can be recomputed from what the lake holds. Files are
written under a temporary name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

_MONTH = re.compile(r"^\d{4}-\d{2}$")
LAYERS = ("raw", "staged", "quarantine", "gate", "measures", "scorecard", "rollups")


class CorruptLakeFile(Exception):
    """A lake file that exists but cannot be read (a crash mid-copy, a disk error, an edit)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"lake file {path} is corrupt ({reason}): delete it and re-run the month; "
            "it is rebuilt from the landing files"
        )
        self.path = path


class Lake:
    """Paths and atomic reads/writes under one lake folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(
        self, layer: str, month: str, dataset: str | None = None, suffix: str = ".parquet"
    ) -> Path:
        if layer not in LAYERS:
            raise ValueError(f"unknown lake layer {layer!r}; expected one of {LAYERS}")
        folder = self.root / layer if dataset is None else self.root / layer / dataset
        return folder / f"{month}{suffix}"

    def write_frame(
        self, frame: pd.DataFrame, layer: str, month: str, dataset: str | None = None
    ) -> Path:
        target = self.path(layer, month, dataset)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        self._atomic(target, lambda tmp: pq.write_table(table, tmp))
        return target

    def read_frame(
        self, layer: str, month: str, dataset: str | None = None, columns: list[str] | None = None
    ) -> pd.DataFrame | None:
        """The frame stored for that month, or None when the month was never written."""
        source = self.path(layer, month, dataset)
        if not source.exists():
            return None
        try:
            table = pq.read_table(source, columns=columns)
        except (pa.ArrowException, OSError) as exc:
            raise CorruptLakeFile(source, _first_line(exc)) from exc
        return table.to_pandas()

    def write_json(
        self, payload: dict[str, Any], layer: str, month: str, dataset: str | None = None
    ) -> Path:
        target = self.path(layer, month, dataset, suffix=".json")
        text = json.dumps(payload, indent=2, sort_keys=True, default=str)
        self._atomic(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        return target

    def read_json(
        self, layer: str, month: str, dataset: str | None = None
    ) -> dict[str, Any] | None:
        source = self.path(layer, month, dataset, suffix=".json")
        if not source.exists():
            return None
        try:
            loaded: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise CorruptLakeFile(source, _first_line(exc)) from exc
        return loaded

    def months(self, layer: str, dataset: str | None = None) -> list[str]:
        """Months present in a layer, sorted."""
        folder = self.root / layer if dataset is None else self.root / layer / dataset
        if not folder.is_dir():
            return []
        stems = {p.stem for p in folder.iterdir() if p.suffix in (".parquet", ".json")}
        return sorted(stem for stem in stems if _MONTH.match(stem))

    @staticmethod
    def _atomic(target: Path, write: Any) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        try:
            write(tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
