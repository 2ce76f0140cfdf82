"""Check every landing file against its contract and mapping (behind `bsc sources check`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bsc_pipeline.sources.contracts import DatasetContract
from bsc_pipeline.sources.dataset import _months_of, check_mapping, read_file
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
    found, result.problems = scan_landing(landing_dir, dataset, config)
    failures = []
    for item in found:
        summary = FileSummary(item.relative)
        result.files.append(summary)
        try:
            _, frame = read_file(item, contract, mapping)
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
        if frame.fatal:
            summary.readable = False
            failures.append(f"{item.relative}: {frame.fatal}")
    if failures:
        result.usable, result.reason = False, "; ".join(failures)
    return result


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
