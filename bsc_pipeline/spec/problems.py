"""Problems found in a spec, and the error that carries them all at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
PathKey = tuple[str | int, ...]
"""A position in the YAML document: mapping keys and list indexes, e.g. ("measures", 3, "unit")."""


@dataclass(frozen=True)
class SpecProblem:
    """One thing wrong with a spec: where it is, what is wrong, and how to fix it."""

    severity: Severity
    line: int | None
    path: str
    message: str
    fix: str
    file: str | None = None

    def location(self) -> str:
        where = self.file or "<spec>"
        return f"{where}:{self.line}" if self.line is not None else where

    def __str__(self) -> str:
        at = f" ({self.path})" if self.path else ""
        return f"{self.location()}{at}: {self.severity}: {self.message} — fix: {self.fix}"


class SpecError(ValueError):
    """The spec cannot be read into models; lists every problem found, not only the first."""

    def __init__(self, source: str, problems: Sequence[SpecProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}\n{lines}")


def format_path(path: PathKey) -> str:
    """`("measures", 3, "unit")` → `measures[3].unit`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def line_of(path: PathKey, lines: Mapping[PathKey, int]) -> int | None:
    """Line of `path`, or of its nearest ancestor present in the file (a missing key's parent)."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None
