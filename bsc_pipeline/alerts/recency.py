"""News or history: whether publishing a month tells its owners, or only records its events.

A backfill that loads three years must not send three years of transitions: owners hear about
the present. The verdict depends on the month published, not on the measure, so every event of
one publication shares it. The rules, in order (docs/alerts.md explains why):

1. A restatement of a closed month is always news.
2. In a backfill, every month before the newest one (the backfill's last month, or a later month
   the warehouse already holds) is history; the newest month is news however old its data is,
   because it is the state owners live with now.
3. In any other run (nightly, file sensor, `bsc run`), a month that ended more than
   `max_age_days` before today is history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bsc_pipeline.periods import Month

DEFAULT_MAX_AGE_DAYS = 45
"""Last month stays news through this month's close; older months are history."""


@dataclass(frozen=True)
class Present:
    """What "now" means to one publishing run: today's date, the age limit, and, when the run is
    part of a backfill, the newest month that backfill publishes."""

    today: date = field(default_factory=date.today)
    max_age_days: int = DEFAULT_MAX_AGE_DAYS
    backfill_through: str | None = None

    @classmethod
    def wall_clock(
        cls, timezone: str, max_age_days: int, backfill_through: str | None = None
    ) -> Present:
        """Today in the scorecard's timezone: a run just after midnight belongs to the new day."""
        today = datetime.now(ZoneInfo(timezone)).date()
        return cls(today, max_age_days, backfill_through)


def is_historical(
    month: str, present: Present, *, newest_published: str | None, is_restatement: bool
) -> bool:
    """True when publishing `month` now is history to its owners rather than news."""
    if is_restatement:
        return False
    if present.backfill_through is not None:
        newest = max(m for m in (present.backfill_through, newest_published, month) if m)
        return str(Month.parse(month)) < str(Month.parse(newest))
    stale_after = Month.parse(month).end + timedelta(days=present.max_age_days)
    return present.today > stale_after
