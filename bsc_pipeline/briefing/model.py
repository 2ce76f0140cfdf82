"""The briefing book as plain data: what one page of the monthly review shows, already decided.

Assembly (`assemble.py`) fills these from the published views; the template and the SVG builders
only lay them out, so every rule about what a reader sees is tested on this model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ReportFormat = Literal["html", "pdf"]
"""What `bsc report --format` writes."""

STATUSES = ("green", "amber", "red", "no_data", "held")
STATUS_LABELS = {
    "green": "On track",
    "amber": "At risk",
    "red": "Off track",
    "no_data": "No data",
    "held": "Held",
}
"""Words shown beside every colour, so status never rests on colour alone."""


def status_label(status: str | None) -> str:
    """The reader's word for a status; an unknown or missing one reads as no data."""
    return STATUS_LABELS.get(status or "no_data", STATUS_LABELS["no_data"])


@dataclass(frozen=True)
class Figure:
    """A number as stored and as shown (unit, decimals and separators already applied)."""

    value: float | None
    text: str


@dataclass(frozen=True)
class PeriodFigure:
    """A quarter or year-to-date reading of a measure, with its own status."""

    label: str
    actual: Figure
    status: str
    is_partial: bool


@dataclass(frozen=True)
class SparkPoint:
    """One month of a measure's trend line; `actual` None is a gap, never zero."""

    month: str
    actual: float | None
    target: float | None
    status: str


@dataclass(frozen=True)
class MeasureRow:
    """A measure as the month's review reads it."""

    measure_id: str
    name: str
    objective_id: str
    perspective_id: str
    owner_id: str | None
    owner: str
    lead_lag: str
    actual: Figure
    target: Figure
    variance: Figure
    variance_pct: Figure
    status: str
    previous_status: str | None
    trend: str | None
    quarter: PeriodFigure | None
    ytd: PeriodFigure | None
    note: str
    balance_flag: str
    history: tuple[SparkPoint, ...]
    role: str = ""
    """In an owner's view: `own`, `driver` or `outcome`; empty in the full book."""
    commentary: str = ""
    """The owner's analysis and recommendation of the month (`v_measure_commentary`)."""

    @property
    def status_label(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True)
class ObjectiveBlock:
    objective_id: str
    name: str
    status: str
    score: float | None
    measures: tuple[MeasureRow, ...]


@dataclass(frozen=True)
class PerspectiveBlock:
    perspective_id: str
    name: str
    status: str
    score: float | None
    data_confidence: float | None
    objectives: tuple[ObjectiveBlock, ...]

    @property
    def measures(self) -> tuple[MeasureRow, ...]:
        return tuple(m for o in self.objectives for m in o.measures)


@dataclass(frozen=True)
class StatusChange:
    """A measure whose status differs from the previous month's."""

    measure_id: str
    name: str
    before: str | None
    after: str


@dataclass(frozen=True)
class LinkView:
    """A cause-and-effect link as drawn: driver → outcome, with what the data says of it."""

    driver: str
    outcome: str
    driver_name: str
    outcome_name: str
    lag_months: int
    holds: bool | None
    correlation: float | None
    note: str
    balance_flag: bool

    @property
    def marked(self) -> bool:
        """Drawn dashed and labelled: the data contradicts the link, or a balance flag fires."""
        return self.holds is False or self.balance_flag

    @property
    def verdict(self) -> str:
        """`holds`, `not judged`, or what is wrong: `does not hold`, `balance flag`, or both."""
        wrong = [
            text
            for text, fires in (
                ("does not hold", self.holds is False),
                ("balance flag", self.balance_flag),
            )
            if fires
        ]
        if wrong:
            return " · ".join(wrong)
        return "holds" if self.holds is True else "not judged"


@dataclass(frozen=True)
class InitiativeRow:
    initiative_id: str
    name: str
    objective: str
    owner: str
    status: str
    budget: Figure
    start: str
    end: str


@dataclass(frozen=True)
class Headline:
    score: float | None
    status: str
    previous_score: float | None
    data_confidence: float | None
    counts: dict[str, int]
    changes: tuple[StatusChange, ...]


@dataclass(frozen=True)
class Briefing:
    """One month's briefing book, or one owner's view of it."""

    month: str
    previous_month: str
    scorecard_name: str
    headline: Headline
    perspectives: tuple[PerspectiveBlock, ...]
    links: tuple[LinkView, ...]
    initiatives: tuple[InitiativeRow, ...]
    published_at: str
    owner_id: str | None = None
    owner_name: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def measures(self) -> tuple[MeasureRow, ...]:
        return tuple(m for p in self.perspectives for m in p.measures)
