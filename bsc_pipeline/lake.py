"""The lake: Parquet and JSON files between the landing zone and the published warehouse.

Every layer before publication writes here, one file per dataset and month, so a failed run never
touches published numbers and any month can be recomputed from what the lake holds.

The lake is a local folder or, when workers on several machines must see it, a URL
(`s3://bucket/prefix`, `file:///shared/lake`, any fsspec protocol) opened with universal-pathlib.
A reader never sees half a file: on a filesystem a file is written under a temporary name and
renamed into place; on an object store it is written locally and uploaded as one object, which
appears whole or not at all (S3 PUT and multipart upload are atomic). Credentials and the
endpoint come only from the environment (`AWS_*`, `BSC_S3_ENDPOINT_URL`), never from the URL.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

_MONTH = re.compile(r"^\d{4}-\d{2}$")
LAYERS = ("raw", "staged", "quarantine", "gate", "measures", "scorecard", "rollups")
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})
"""Protocols whose single upload is atomic, so no temporary object and rename are needed."""
STEP_OUTPUTS = "dagster_steps"
"""Folder for the small values Dagster hands between steps when they run on other machines."""

LakePath = Path | UPath
"""A local path, or a path on a remote filesystem (universal-pathlib)."""


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether a lake location names a protocol (`s3://…`) rather than a local path."""
    return "://" in str(location)


def storage_options(protocol: str) -> dict[str, Any]:
    """Filesystem options from the environment: the S3 endpoint for S3-compatible servers.

    Listings are never cached: another worker may add a month between two reads.
    """
    if protocol not in ("s3", "s3a"):
        return {}
    options: dict[str, Any] = {"use_listings_cache": False}
    endpoint = os.environ.get("BSC_S3_ENDPOINT_URL")
    if endpoint:
        options["client_kwargs"] = {"endpoint_url": endpoint}
    return options


def lake_root(location: str | os.PathLike[str]) -> LakePath:
    """The root of a lake: a `Path` for a local folder or `file://` URL, else a `UPath`."""
    text = str(location)
    if not is_url(text):
        return Path(text)
    parts = urlsplit(text)
    if parts.username or parts.password:
        raise ValueError(
            "BSC_LAKE_DIR must not carry credentials; give them in the environment "
            "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, or the instance's role)"
        )
    if parts.scheme == "file":
        return Path(parts.path)
    return UPath(text, **storage_options(parts.scheme))


class CorruptLakeFile(Exception):
    """A lake file that exists but cannot be read (a crash mid-copy, a disk error, an edit)."""

    def __init__(self, path: LakePath, reason: str) -> None:
        super().__init__(
            f"lake file {path} is corrupt ({reason}): delete it and re-run the month; "
            "it is rebuilt from the landing files"
        )
        self.path = path


class Lake:
    """Paths and atomic reads/writes under one lake folder or URL."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root: LakePath = lake_root(root)

    @property
    def remote(self) -> bool:
        return not isinstance(self.root, Path)

    @property
    def step_outputs(self) -> LakePath:
        """Where distributed runs keep step outputs, beside the layers every worker sees."""
        return self.root / STEP_OUTPUTS

    def path(
        self, layer: str, month: str, dataset: str | None = None, suffix: str = ".parquet"
    ) -> LakePath:
        if layer not in LAYERS:
            raise ValueError(f"unknown lake layer {layer!r}; expected one of {LAYERS}")
        folder = self.root / layer if dataset is None else self.root / layer / dataset
        return folder / f"{month}{suffix}"

    def write_frame(
        self, frame: pd.DataFrame, layer: str, month: str, dataset: str | None = None
    ) -> LakePath:
        target = self.path(layer, month, dataset)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        self._atomic(target, lambda tmp: pq.write_table(table, tmp))
        return target

    def read_frame(
        self, layer: str, month: str, dataset: str | None = None, columns: list[str] | None = None
    ) -> pd.DataFrame | None:
        """The frame stored for that month, or None when the month was never written."""
        source = self.path(layer, month, dataset)
        try:
            if isinstance(source, Path):
                table = pq.read_table(source, columns=columns)
            else:
                table = pq.read_table(source.path, columns=columns, filesystem=source.fs)
        except FileNotFoundError:
            return None
        except (pa.ArrowException, OSError) as exc:
            raise CorruptLakeFile(source, _first_line(exc)) from exc
        return table.to_pandas()

    def write_json(
        self, payload: dict[str, Any], layer: str, month: str, dataset: str | None = None
    ) -> LakePath:
        target = self.path(layer, month, dataset, suffix=".json")
        text = json.dumps(payload, indent=2, sort_keys=True, default=str)
        self._atomic(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        return target

    def read_json(
        self, layer: str, month: str, dataset: str | None = None
    ) -> dict[str, Any] | None:
        source = self.path(layer, month, dataset, suffix=".json")
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CorruptLakeFile(source, _first_line(exc)) from exc
        try:
            loaded: dict[str, Any] = json.loads(text)
        except ValueError as exc:
            raise CorruptLakeFile(source, _first_line(exc)) from exc
        return loaded

    def exists(self, layer: str, month: str, dataset: str | None = None) -> bool:
        """Whether the month's Parquet file is in the lake."""
        return self.path(layer, month, dataset).exists()

    def months(self, layer: str, dataset: str | None = None) -> list[str]:
        """Months present in a layer, sorted."""
        folder = self.root / layer if dataset is None else self.root / layer / dataset
        if not folder.is_dir():
            return []
        stems = {p.stem for p in folder.iterdir() if p.suffix in (".parquet", ".json")}
        return sorted(stem for stem in stems if _MONTH.match(stem))

    def datasets(self, layer: str) -> list[str]:
        """Datasets that have a folder in a per-dataset layer, sorted."""
        folder = self.root / layer
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir())

    def _atomic(self, target: LakePath, write: Callable[[str], Any]) -> None:
        if isinstance(target, Path):
            _replace_local(target, write)
        else:
            _upload(target, write)


def write_bytes_atomic(target: LakePath, data: bytes) -> None:
    """Write whole bytes to a local path or a lake URL so that no reader sees half of them."""

    def write(tmp: str) -> None:
        Path(tmp).write_bytes(data)

    if isinstance(target, Path):
        _replace_local(target, write)
    else:
        _upload(target, write)


def _replace_local(target: Path, write: Callable[[str], Any]) -> None:
    """Write beside the target and rename over it (atomic within one filesystem)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _upload(target: UPath, write: Callable[[str], Any]) -> None:
    """Write a local file, then upload it whole; on a non-object filesystem, upload under a
    temporary name and move it into place."""
    fs = target.fs
    with tempfile.TemporaryDirectory(prefix="bsc-lake-") as folder:
        local = os.path.join(folder, target.name)
        write(local)
        if target.protocol in OBJECT_STORES:
            fs.put_file(local, target.path)
            return
        fs.makedirs(target.parent.path, exist_ok=True)
        temporary = f"{target.parent.path}/.{target.name}.{os.getpid()}.tmp"
        fs.put_file(local, temporary)
        try:
            fs.mv(temporary, target.path)
        except BaseException:
            fs.rm(temporary)
            raise


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
