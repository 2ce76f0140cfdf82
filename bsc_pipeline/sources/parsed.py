"""Files that hold many months, parsed once: kept under their identity in the process and on disk.

A full-history export is read by every month of a backfill. Parsing it for each month costs
the whole file each time, so the parsed canonical frame is kept under the file's identity (path,
size, modification time) and how it was read (contract and mapping): in the process, and, when a
folder is given (the pipeline passes `<lake>/_parsed`), on disk for the other processes of a
parallel backfill. A file that changes gets a new identity and is parsed again; the entry of its
older identity is removed when the new one is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bsc_pipeline.sources.canonical import FileFrame
from bsc_pipeline.sources.contracts import DatasetContract
from bsc_pipeline.sources.landing import LandingFile
from bsc_pipeline.sources.mappings import Mapping
from bsc_pipeline.sources.problems import FileIdentity, SourceProblem

PARSED_FOLDER = "_parsed"
"""Where under the lake the pipeline keeps parsed multi-month files."""
IN_PROCESS = 4
"""Parsed multi-month files a process keeps (least recently used go first)."""

Parsed = tuple[FileIdentity, FileFrame]
_kept: OrderedDict[tuple[str, str], Parsed] = OrderedDict()


def clear() -> None:
    """Forget what this process keeps (the disk entries stay)."""
    _kept.clear()


def _key(found: LandingFile, contract: DatasetContract, mapping: Mapping) -> tuple[str, str]:
    """(which file, which version of it read how): both as hex digests, safe as folder names."""
    path = str(found.path.resolve())
    how = f"{found.size}|{found.mtime_ns}|{contract.model_dump_json()}|{mapping.model_dump_json()}"
    return (
        hashlib.sha256(path.encode("utf-8")).hexdigest()[:24],
        hashlib.sha256(how.encode("utf-8")).hexdigest()[:24],
    )


def parsed_once(
    found: LandingFile,
    contract: DatasetContract,
    mapping: Mapping,
    parse: Callable[[], Parsed],
    folder: Path | None = None,
) -> Parsed:
    """The parsed file from this process, else from `folder`, else `parse()` (then kept)."""
    key = _key(found, contract, mapping)
    if key in _kept:
        _kept.move_to_end(key)
        return _kept[key]
    result = _load(folder, key) if folder is not None else None
    if result is None:
        result = parse()
        if folder is not None and not result[1].fatal:
            _store(folder, key, result)
    _kept[key] = result
    while len(_kept) > IN_PROCESS:
        _kept.popitem(last=False)
    return result


def _entry(folder: Path, key: tuple[str, str]) -> Path:
    return folder / key[0] / key[1]


def _load(folder: Path, key: tuple[str, str]) -> Parsed | None:
    entry = _entry(folder, key)
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        frame = pq.read_table(entry / "frame.parquet").to_pandas()
        rejected = pq.read_table(entry / "rejected.parquet").to_pandas()
    except (OSError, ValueError, pa.ArrowException):
        return None  # absent or half-written by a process that died: parse again
    frame = frame.astype(meta["dtypes"])
    problems = [SourceProblem(**p) for p in meta["problems"]]
    parsed = FileFrame(
        frame, rejected, problems, meta["dropped"], meta["fatal"], meta["rejected_months"]
    )
    return FileIdentity(**meta["identity"]), parsed


def _store(folder: Path, key: tuple[str, str], result: Parsed) -> None:
    """Write the entry beside, then rename it in place: readers see all of it or nothing."""
    ident, parsed = result
    entry = _entry(folder, key)
    if entry.exists():
        return
    temporary = entry.with_name(f"{entry.name}.tmp-{os.getpid()}")
    try:
        temporary.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.Table.from_pandas(parsed.frame, preserve_index=False), temporary / "frame.parquet"
        )
        pq.write_table(
            pa.Table.from_pandas(parsed.rejected, preserve_index=False),
            temporary / "rejected.parquet",
        )
        meta = {
            "identity": asdict(ident),
            "problems": [asdict(p) for p in parsed.problems],
            "dropped": parsed.dropped,
            "fatal": parsed.fatal,
            "rejected_months": parsed.rejected_months,
            "dtypes": {c: str(t) for c, t in parsed.frame.dtypes.items()},
        }
        (temporary / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        temporary.rename(entry)
    except OSError:
        shutil.rmtree(temporary, ignore_errors=True)  # another process won the race, or no room
        return
    for older in entry.parent.iterdir():
        if older != entry and ".tmp-" not in older.name:
            shutil.rmtree(older, ignore_errors=True)
