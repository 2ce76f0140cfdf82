"""What a read hands back: file identities, problems a person can act on, and the month's frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Severity = Literal["error", "warning"]


class SourceError(Exception):
    """A source file or mapping that cannot be used; the message says where and what to change."""


class UnreadableFile(SourceError):
    """A landing file that cannot be read at all (its dataset fails for the month)."""

    def __init__(self, file: str, reason: str, line: int | None = None) -> None:
        self.file = file
        self.reason = reason
        self.line = line
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class FileIdentity:
    """A landing file as read: enough to trace every published number back to it."""

    path: str
    size: int
    sha256: str
    mtime: str
    month: str | None = None


@dataclass(frozen=True)
class SourceProblem:
    """One problem found in a file, with the place and the values a person needs to fix it."""

    file: str
    line: int | None
    column: str | None
    expected: str
    seen: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = self.file + (f", line {self.line}" if self.line else "")
        where += f", column {self.column!r}" if self.column else ""
        return (
            f"{self.severity}: {where}: {self.message} (expected {self.expected}; seen {self.seen})"
        )


@dataclass
class FileSummary:
    """Per-file counts for `bsc sources check`."""

    file: str
    rows_read: int = 0
    rows_rejected: int = 0
    rows_dropped: int = 0
    months: list[str] = field(default_factory=list)
    readable: bool = True
    note: str | None = None
    """How runs use the file when that is not plain (a multi-month file split by month)."""


@dataclass
class DatasetRead:
    """A dataset's canonical frame for one month, with the files behind it and what went wrong."""

    dataset: str
    month: str
    frame: pd.DataFrame
    files: list[FileIdentity]
    problems: list[SourceProblem]
    rejected: pd.DataFrame
    usable: bool
    reason: str | None = None
    summaries: list[FileSummary] = field(default_factory=list)

    @property
    def errors(self) -> list[SourceProblem]:
        return [p for p in self.problems if p.severity == "error"]


def empty_rejected() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": pd.Series([], dtype=object),
            "line": pd.Series([], dtype="int64"),
            "raw": pd.Series([], dtype=object),
            "reason": pd.Series([], dtype=object),
        }
    )
