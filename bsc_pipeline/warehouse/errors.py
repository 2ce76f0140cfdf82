"""Errors the warehouse raises, each saying what to do about it."""

from __future__ import annotations


class WarehouseError(Exception):
    """Base for every warehouse problem a user can act on."""


class PublishInputError(WarehouseError, ValueError):
    """A frame handed to publishing does not fit the warehouse (columns, keys, months, ids)."""


class PeriodClosedError(WarehouseError):
    """The month is closed: publishing would overwrite numbers finance has signed off."""

    def __init__(self, month: str) -> None:
        super().__init__(
            f"month {month} is closed and is not overwritten; to restate it run "
            f'`bsc period reopen --period {month} --reason "why it changes"` first'
        )
        self.month = month


class PeriodStateError(WarehouseError):
    """A close or reopen that does not fit the month's current state."""
