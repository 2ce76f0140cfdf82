"""The landing zone: one folder per dataset, files only ever read.

Listing keeps only complete files that stay inside the landing zone: partial names (`.tmp`,
`.part`, dot-files), files whose size or modification time is still changing, and symlinks or
names that resolve outside the zone are left out (and reported by `scan_landing`).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bsc_pipeline.sources.mappings import SourcesConfig, load_sources_config
from bsc_pipeline.sources.problems import FileIdentity, SourceProblem

PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp")


@dataclass(frozen=True)
class LandingFile:
    """A file found in the landing zone, before it is read."""

    path: Path
    relative: str
    size: int
    mtime_ns: int
    month: str | None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mtime_iso(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC).isoformat(timespec="microseconds")


def identity(found: LandingFile, sha256: str | None = None) -> FileIdentity:
    return FileIdentity(
        path=found.relative,
        size=found.size,
        sha256=sha256 or sha256_of(found.path),
        mtime=mtime_iso(found.mtime_ns),
        month=found.month,
    )


def _refused(rel: str, expected: str, seen: str, message: str) -> SourceProblem:
    return SourceProblem(rel, None, None, expected, seen, "warning", message)


def scan_landing(
    landing_dir: Path, dataset: str, config: SourcesConfig, settle_seconds: float = 0.0
) -> tuple[list[LandingFile], list[SourceProblem]]:
    """Complete files of a dataset sorted oldest first, and why any others were left out."""
    root = Path(landing_dir).resolve()
    folder = Path(landing_dir) / dataset
    problems: list[SourceProblem] = []
    if not folder.exists():
        return [], problems
    if folder.is_symlink() or not folder.resolve().is_relative_to(root):
        problems.append(
            _refused(
                dataset,
                "a folder inside the landing zone",
                str(folder.resolve()),
                "dataset folder leads outside the landing zone; refused",
            )
        )
        return [], problems
    pattern = config.file_regex(dataset)
    candidates: list[tuple[Path, str, os.stat_result]] = []
    for entry in sorted(folder.iterdir()):
        rel = f"{dataset}/{entry.name}"
        if entry.name.startswith(".") or entry.name.lower().endswith(PARTIAL_SUFFIXES):
            continue
        if entry.is_symlink():
            target = entry.resolve()
            if not target.is_relative_to(root):
                problems.append(
                    _refused(
                        rel,
                        "a file inside the landing zone",
                        str(target),
                        "symlink leads outside the landing zone; refused",
                    )
                )
                continue
        if not entry.is_file():
            continue
        if not pattern.search(entry.name):
            problems.append(
                _refused(
                    rel,
                    f"a name matching {pattern.pattern}",
                    entry.name,
                    "file name does not match the dataset's file_pattern; skipped",
                )
            )
            continue
        candidates.append((entry, rel, entry.stat()))
    if settle_seconds > 0 and candidates:
        time.sleep(settle_seconds)
    found: list[LandingFile] = []
    for entry, rel, first in candidates:
        now = entry.stat()
        if settle_seconds > 0 and (now.st_size, now.st_mtime_ns) != (
            first.st_size,
            first.st_mtime_ns,
        ):
            problems.append(
                _refused(
                    rel,
                    "a complete file",
                    "size or modification time still changing",
                    "file is still being written; left for the next run",
                )
            )
            continue
        match = pattern.search(entry.name)
        month = match.groupdict().get("month") if match else None
        found.append(LandingFile(entry, rel, now.st_size, now.st_mtime_ns, month))
    found.sort(key=lambda f: (f.month or "", f.mtime_ns, f.relative))
    return found, problems


def landing_files(
    landing_dir: Path,
    dataset: str,
    sources_config: Path,
    settle_seconds: float | None = None,
) -> list[FileIdentity]:
    """Identities of a dataset's complete landing files (for a file-arrival sensor's cursor)."""
    config = load_sources_config(sources_config)
    wait = config.settle_seconds if settle_seconds is None else settle_seconds
    found, _ = scan_landing(landing_dir, dataset, config, settle_seconds=wait)
    return [identity(f) for f in found]
