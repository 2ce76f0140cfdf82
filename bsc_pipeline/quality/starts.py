"""When a dataset's source started delivering: months before it have no data by nature.

A month before a dataset's first month is `not_started`: nothing is missing, so nothing is held,
no owner is alerted and the month stays out of volume baselines. A month from the first month
on without a file is a missing extract (held, alert). The first month is declared in the
contract (`starts: 2024-03`) or else inferred: the earliest month of a file in the landing zone
or of a file a published run read (so deleting old landing files never turns months already
published into months that did not start). A snapshot dataset starts only where declared: its
first file also serves the months before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from bsc_pipeline.quality.gate import ExpectationOutcome, GateOutcome, GateResult, empty_quarantine

SOURCE_STARTED = "source_started"
"""The gate's expectation name for the verdict of a month before the source started."""


@dataclass(frozen=True)
class SourceStart:
    """A dataset's first month and how it is known."""

    dataset: str
    month: str
    how: Literal["declared", "first delivery"]

    def started(self, month: str) -> bool:
        return month >= self.month

    @property
    def note(self) -> str:
        """Why a month before it has no data, as `data_note` and the gate verdict say it."""
        return f"source not started: {self.dataset} starts {self.month} ({self.how})"


def source_start(
    dataset: str,
    *,
    declared: str | None,
    delivered: list[str | None],
) -> SourceStart | None:
    """The declared first month, else the earliest month among `delivered` (None: unknown).

    Unknown (no file ever seen) is not "not started": a landing zone that lost its way or a
    source that never delivered is held and alerts, as any missing extract.
    """
    if declared is not None:
        return SourceStart(dataset, declared, "declared")
    months = [m for m in delivered if m]
    return SourceStart(dataset, min(months), "first delivery") if months else None


def landing_months(landing_dir: Path, dataset: str, sources_config: Path) -> list[str | None]:
    """Months of the dataset's complete files in the landing zone (None for unnamed months)."""
    from bsc_pipeline.sources.landing import scan_landing
    from bsc_pipeline.sources.mappings import load_sources_config

    found, _ = scan_landing(Path(landing_dir), dataset, load_sources_config(sources_config))
    return [f.month for f in found]


def not_started_gate(month: str, start: SourceStart, frame: pd.DataFrame | None) -> GateOutcome:
    """The verdict of a month before its source started: passed, no rows, nothing to check."""
    outcome = ExpectationOutcome(
        SOURCE_STARTED, None, "critical", True, 0, None, [start.month], start.note
    )
    result = GateResult(start.dataset, month, True, "ok", 0, 0, start.note, [outcome])
    staged = frame.iloc[0:0] if frame is not None else pd.DataFrame()
    return GateOutcome(result, staged, empty_quarantine())
