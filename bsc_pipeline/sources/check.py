"""Check every landing file against its contract and mapping (behind `bsc sources check`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bsc_pipeline.sources.contracts import DatasetContract
from bsc_pipeline.sources.dataset import _months_of, check_mapping, read_file_once
from bsc_pipeline.sources.landing import scan_landing
from bsc_pipeline.sources.mappings import MappingError, load_mapping, load_sources_config
from bsc_pipeline.sources.problems import FileSummary, SourceProblem, UnreadableFile


@dataclass
class DatasetCheck:
    """What one dataset's landing folder holds and whether it can be used."""

    dataset: str
    mapping: str
    files: list[FileSummary] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)
    usable: bool = True
    reason: str | None = None


def check_dataset(
    dataset: str, contract: DatasetContract, landing_dir: Path, sources_config: Path
) -> DatasetCheck:
    """Read every file of the dataset on its own, whatever the extract mode would pick."""
    config = load_sources_config(sources_config)
    mapping_path = config.mapping_path(dataset)
    result = DatasetCheck(dataset, str(mapping_path))
    try:
        mapping = load_mapping(mapping_path, dataset)
        check_mapping(mapping, contract, mapping_path)
    except MappingError as exc:
        result.usable, result.reason = False, str(exc)
        return result
    split = config.for_dataset(dataset).split_by_month
    found, result.problems = scan_landing(landing_dir, dataset, config)
    failures = []
    for item in found:
        summary = FileSummary(item.relative)
        result.files.append(summary)
        try:
            _, frame = read_file_once(item, contract, mapping)
        except UnreadableFile as exc:
            summary.readable = False
            failures.append(str(exc))
            result.problems.append(
                SourceProblem(
                    exc.file,
                    exc.line,
                    None,
                    "a readable file",
                    exc.reason,
                    "error",
                    f"file cannot be read: {exc.reason}",
                )
            )
            continue
        result.problems.extend(frame.problems)
        summary.rows_read = len(frame.frame)
        summary.rows_rejected = len(frame.rejected)
        summary.rows_dropped = frame.dropped
        summary.months = _months_of(frame.frame, contract) if not frame.fatal else []
        _note_use(summary, item.month, contract, split, result)
        if frame.fatal:
            summary.readable = False
            failures.append(f"{item.relative}: {frame.fatal}")
    if failures:
        result.usable, result.reason = False, "; ".join(failures)
    return result


def _note_use(
    summary: FileSummary,
    month: str | None,
    contract: DatasetContract,
    split: bool,
    result: DatasetCheck,
) -> None:
    """Say how runs use a file that names no month, and warn when they never read it."""
    if month is not None:
        return
    covered = len(summary.months)
    if contract.mode == "incremental":
        summary.note = f"all months ({covered} covered)"
    elif contract.mode == "snapshot":
        summary.note = "the snapshot when no dated file is older"
    elif split:
        summary.note = f"split by {contract.month_column}: {covered} month(s)"
    else:
        summary.note = "never read: names no month"
        result.problems.append(
            SourceProblem(
                summary.file,
                None,
                None,
                "a month in the file name, or split_by_month",
                f"{covered} month(s) of rows in one file",
                "warning",
                f"a period run reads only files named for its month, so this file is never "
                f"read; set `split_by_month: true` for {contract.name!r} in sources.yaml to "
                f"split it by {contract.month_column or 'its month column'}",
            )
        )


def check_landing(
    landing_dir: Path,
    contracts: dict[str, DatasetContract],
    sources_config: Path,
    dataset: str | None = None,
) -> list[DatasetCheck]:
    if dataset is not None and dataset not in contracts:
        raise MappingError(f"unknown dataset {dataset!r}; contracts define {sorted(contracts)}")
    names = [dataset] if dataset else list(contracts)
    return [check_dataset(n, contracts[n], landing_dir, sources_config) for n in names]
