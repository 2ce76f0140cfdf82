"""Read one dataset for one month: pick the files its extract mode calls for, map, combine."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from bsc_pipeline.periods import Month
from bsc_pipeline.sources.canonical import LINEAGE, FileFrame, to_canonical
from bsc_pipeline.sources.computed import add_computed
from bsc_pipeline.sources.contracts import DatasetContract
from bsc_pipeline.sources.landing import LandingFile, identity, scan_landing
from bsc_pipeline.sources.mappings import Mapping, MappingError, load_mapping, load_sources_config
from bsc_pipeline.sources.parsed import parsed_once
from bsc_pipeline.sources.problems import (
    DatasetRead,
    FileIdentity,
    FileSummary,
    SourceProblem,
    UnreadableFile,
    empty_rejected,
)
from bsc_pipeline.sources.readers import read_raw


def select_files(
    files: list[LandingFile], contract: DatasetContract, month: str, split: bool = False
) -> list[LandingFile]:
    """The files the extract mode reads for `month` (files are sorted oldest first).

    With `split`, a `period` month without a file named for it reads the newest file that
    names no month (a multi-month export), to be cut down to the month's rows.
    """
    if contract.mode == "period":
        same = [f for f in files if f.month == month]
        if not same and split:
            same = sorted((f for f in files if f.month is None), key=lambda f: f.mtime_ns)
        return same[-1:] if same else []
    dated = [f for f in files if f.month is None or f.month <= month]
    if contract.mode == "snapshot":
        chosen = dated or files
        return chosen[-1:] if chosen else []
    return dated


def _empty_frame(contract: DatasetContract) -> pd.DataFrame:
    dtypes = {
        "string": "string",
        "int": "Int64",
        "float": "float64",
        "decimal": "float64",
        "bool": "boolean",
        "date": "datetime64[ns]",
        "datetime": "datetime64[ns]",
    }
    frame = pd.DataFrame(
        {c: pd.Series([], dtype=dtypes[s.type]) for c, s in contract.columns.items()}
    )
    frame["_source_file"] = pd.Series([], dtype="string")
    frame["_source_line"] = pd.Series([], dtype="int64")
    return frame


def check_mapping(mapping: Mapping, contract: DatasetContract, path: Path) -> None:
    """A mapping naming a canonical column the contract lacks is a typo worth stopping for."""
    column_map = mapping.column_map or {}
    unknown = [c for c in column_map if c not in contract.columns]
    if unknown:
        raise MappingError(
            f"{path}: columns {unknown} are not in the {contract.name!r} contract "
            f"(expected some of {list(contract.columns)})"
        )
    for canon, cm in column_map.items():
        for key in cm.sequence_within or []:
            if key not in contract.columns:
                raise MappingError(f"{path}: {canon}.sequence_within names unknown column {key!r}")


def read_file_once(
    found: LandingFile,
    contract: DatasetContract,
    mapping: Mapping,
    parsed_dir: Path | None = None,
) -> tuple[FileIdentity, FileFrame]:
    """A file that names no month (many months in one) is parsed once, however many months
    read it (see `sources/parsed.py`); a file named for its month is read as it is."""
    if found.month is not None:
        return read_file(found, contract, mapping)
    return parsed_once(
        found, contract, mapping, lambda: read_file(found, contract, mapping), parsed_dir
    )


def read_file(
    found: LandingFile, contract: DatasetContract, mapping: Mapping
) -> tuple[FileIdentity, FileFrame]:
    """One landing file read once: identity from the same bytes that are parsed."""
    before = found.path.stat()
    data = found.path.read_bytes()
    after = found.path.stat()
    ident = identity(found, hashlib.sha256(data).hexdigest())
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or len(
        data
    ) != after.st_size:
        raise UnreadableFile(found.relative, "file changed while it was read (still being written)")
    raw = read_raw(found.path, found.relative, data, mapping)
    return ident, to_canonical(raw, found.relative, contract, mapping)


def _in_month(frame: pd.DataFrame, columns: list[str], month: str) -> np.ndarray:
    m = Month.parse(month)
    start, end = pd.Timestamp(m.start), pd.Timestamp(m.end)
    hit = np.zeros(len(frame), dtype=bool)
    for col in columns:
        values = frame[col]
        hit |= ((values >= start) & (values < end)).fillna(False).to_numpy(dtype=bool)
    return hit


def _combine_incremental(
    frames: list[pd.DataFrame], contract: DatasetContract, month: str, mtimes: list[int]
) -> pd.DataFrame:
    """Union of versions, newest per key (by version column, then file mtime), in the month."""
    stacked = pd.concat(
        [
            f.assign(_file_order=np.int64(i), _mtime=np.int64(t))
            for i, (f, t) in enumerate(zip(frames, mtimes, strict=True))
        ],
        ignore_index=True,
    )
    order = [c for c in [contract.version_column] if c] + ["_mtime", "_file_order", "_source_line"]
    stacked = stacked.sort_values(order, kind="stable", na_position="first")
    newest = stacked.drop_duplicates(subset=contract.keys, keep="last")
    events = contract.event_columns or ([contract.month_column] if contract.month_column else [])
    if events:
        newest = newest[_in_month(newest, events, month)]
    newest = newest.sort_values(["_file_order", "_source_line"], kind="stable")
    return newest.drop(columns=["_file_order", "_mtime"]).reset_index(drop=True)


def _rejected_in_month(result: FileFrame, month: str) -> pd.DataFrame:
    """A multi-month file's rejected rows of `month`, and those whose month is unknown (they
    could be any month's, so every month reports them rather than none)."""
    if not len(result.rejected):
        return result.rejected
    months = result.rejected_months or [None] * len(result.rejected)
    keep = np.array([m is None or m == month for m in months], dtype=bool)
    return result.rejected[keep].reset_index(drop=True)


def _without_empty_rows(result: FileFrame, contract: DatasetContract) -> FileFrame:
    """Drop rows with none of the contract's `skip_rows_without` columns filled."""
    if not contract.skip_rows_without or result.frame.empty:
        return result
    filled = np.zeros(len(result.frame), dtype=bool)
    for column in contract.skip_rows_without:
        text = result.frame[column].astype("string").str.strip()
        filled |= (text.notna() & (text != "")).to_numpy(dtype=bool, na_value=False)
    if filled.all():
        return result
    kept = result.frame[filled].reset_index(drop=True)
    return replace(result, frame=kept, dropped=result.dropped + int((~filled).sum()))


def _months_of(frame: pd.DataFrame, contract: DatasetContract) -> list[str]:
    if not contract.month_column or frame.empty:
        return []
    values = frame[contract.month_column].dropna().to_numpy().astype("datetime64[M]")
    return [str(m) for m in np.unique(values)]


def read_dataset(
    dataset: str,
    month: str,
    *,
    landing_dir: Path,
    contracts: dict[str, DatasetContract],
    sources_config: Path,
    parsed_dir: Path | None = None,
) -> DatasetRead:
    """The canonical frame of `dataset` for `month`, with files read, problems and rejected rows.

    `parsed_dir` keeps parsed multi-month files for other processes (a parallel backfill).
    """
    Month.parse(month)
    if dataset not in contracts:
        raise MappingError(f"unknown dataset {dataset!r}; contracts define {sorted(contracts)}")
    contract = contracts[dataset]
    config = load_sources_config(sources_config)
    mapping_path = config.mapping_path(dataset)
    mapping = load_mapping(mapping_path, dataset)
    check_mapping(mapping, contract, mapping_path)
    split = config.for_dataset(dataset).split_by_month
    if split and not contract.month_column:
        raise MappingError(
            f"sources config: {dataset!r} has split_by_month but its contract names no "
            "month_column to split by"
        )
    found, problems = scan_landing(Path(landing_dir), dataset, config)
    chosen = select_files(found, contract, month, split)
    seen_sha: dict[str, str] = {}
    files: list[FileIdentity] = []
    frames: list[pd.DataFrame] = []
    mtimes: list[int] = []
    rejected: list[pd.DataFrame] = []
    summaries: list[FileSummary] = []
    failures: list[str] = []
    for item in chosen:
        summary = FileSummary(item.relative)
        summaries.append(summary)
        try:
            ident, result = read_file_once(item, contract, mapping, parsed_dir)
        except UnreadableFile as exc:
            summary.readable = False
            failures.append(str(exc))
            problems.append(
                SourceProblem(
                    exc.file,
                    exc.line,
                    None,
                    f"a readable {item.path.suffix or 'csv'} file",
                    exc.reason,
                    "error",
                    f"file cannot be read: {exc.reason}",
                )
            )
            continue
        if ident.sha256 in seen_sha:
            problems.append(
                SourceProblem(
                    item.relative,
                    None,
                    None,
                    "each file delivered once",
                    f"same content as {seen_sha[ident.sha256]}",
                    "warning",
                    "duplicate delivery; read once",
                )
            )
            summaries.pop()
            continue
        seen_sha[ident.sha256] = item.relative
        files.append(ident)
        problems.extend(result.problems)
        summary.rows_rejected = len(result.rejected)
        summary.rows_dropped = result.dropped
        if result.fatal:
            summary.readable = False
            failures.append(f"{item.relative}: {result.fatal}")
            continue
        result = _without_empty_rows(result, contract)
        summary.rows_dropped = result.dropped
        rows, file_rejected = result.frame, result.rejected
        if split and item.month is None and contract.mode == "period":
            assert contract.month_column is not None
            rows = rows[_in_month(rows, [contract.month_column], month)]
            file_rejected = _rejected_in_month(result, month)
            undated = int(result.frame[contract.month_column].isna().sum())
            if undated:
                problems.append(
                    SourceProblem(
                        item.relative,
                        None,
                        contract.month_column,
                        f"a {contract.month_column} on every row, to split the file by month",
                        f"{undated} row(s) without one",
                        "warning",
                        "rows without a month belong to no month's read",
                    )
                )
        summary.rows_read = len(rows)
        summary.rows_rejected = len(file_rejected)
        summary.months = _months_of(result.frame, contract)
        if len(result.frame) == 0:
            problems.append(
                SourceProblem(
                    item.relative,
                    None,
                    None,
                    "data rows",
                    "none",
                    "warning",
                    "file holds no data rows",
                )
            )
        frames.append(rows)
        mtimes.append(item.mtime_ns)
        rejected.append(file_rejected)
    usable = not failures
    reason = "; ".join(failures) if failures else None
    if not chosen:
        problems.append(
            SourceProblem(
                dataset,
                None,
                None,
                "a landing file for the month",
                "none",
                "warning",
                f"no file for {month} in {Path(landing_dir) / dataset}",
            )
        )
    if not frames or not usable:
        frame = _empty_frame(contract)
    elif contract.mode == "incremental":
        frame = _combine_incremental(frames, contract, month, mtimes)
    else:
        frame = pd.concat(frames, ignore_index=True)
    frame = add_computed(frame, contract)
    ordered = [*contract.columns, *contract.computed, *LINEAGE]
    rejected_frame = pd.concat(rejected, ignore_index=True) if rejected else empty_rejected()
    return DatasetRead(
        dataset, month, frame[ordered], files, problems, rejected_frame, usable, reason, summaries
    )
