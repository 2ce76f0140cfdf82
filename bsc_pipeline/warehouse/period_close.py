"""Closing a month freezes its published numbers; reopening (with a reason) allows a restatement."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.periods import Month
from bsc_pipeline.warehouse import schema
from bsc_pipeline.warehouse.engine import WRITE_OPTION
from bsc_pipeline.warehouse.errors import PeriodStateError


def period_state(engine: Engine, month: str) -> str:
    """`open` or `closed`; a month never published or closed is open."""
    table = schema.period_state
    with engine.connect() as connection:
        state = connection.execute(
            sa.select(table.c.state).where(table.c.month == str(Month.parse(month)))
        ).scalar()
    return str(state or "open")


def close_period(engine: Engine, month: str) -> bool:
    """Freeze `month`; returns False when it was already closed (closing twice is harmless)."""
    month = str(Month.parse(month))
    table = schema.period_state
    now = datetime.now(UTC)
    connection = engine.connect().execution_options(**{WRITE_OPTION: True})
    with connection, connection.begin():
        state = _locked_state(connection, month)
        if state == "closed":
            return False
        if state is None:
            connection.execute(
                sa.insert(table).values(month=month, state="closed", closed_at=now, updated_at=now)
            )
        else:
            connection.execute(
                sa.update(table)
                .where(table.c.month == month)
                .values(state="closed", closed_at=now, updated_at=now)
            )
    return True


def reopen_reason(engine: Engine, month: str) -> str | None:
    """Why a closed month was reopened, while it stays open; None for a month never closed."""
    table = schema.period_state
    if not sa.inspect(engine).has_table(table.name):
        return None
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(table.c.state, table.c.reopen_reason).where(
                table.c.month == str(Month.parse(month))
            )
        ).first()
    if row is None or row.state != "open":
        return None
    return None if row.reopen_reason is None else str(row.reopen_reason)


def reopen_period(engine: Engine, month: str, reason: str) -> None:
    """Open a closed month again; `reason` is recorded on every restatement that follows."""
    month = str(Month.parse(month))
    reason = reason.strip()
    if not reason:
        raise PeriodStateError(
            f'reopening {month} needs a reason finance can read, e.g. --reason "late invoices"'
        )
    table = schema.period_state
    now = datetime.now(UTC)
    connection = engine.connect().execution_options(**{WRITE_OPTION: True})
    with connection, connection.begin():
        if _locked_state(connection, month) != "closed":
            raise PeriodStateError(f"month {month} is not closed, so there is nothing to reopen")
        connection.execute(
            sa.update(table)
            .where(table.c.month == month)
            .values(state="open", reopened_at=now, reopen_reason=reason, updated_at=now)
        )


def _locked_state(connection: sa.Connection, month: str) -> str | None:
    table = schema.period_state
    query = sa.select(table.c.state).where(table.c.month == month).with_for_update()
    state = connection.execute(query).scalar()
    return None if state is None else str(state)


def closed_months(engine: Engine) -> set[str]:
    """Months whose state is `closed`; none on a warehouse not migrated yet."""
    if not sa.inspect(engine).has_table(schema.period_state.name):
        return set()
    table = schema.period_state
    with engine.connect() as connection:
        months = connection.execute(sa.select(table.c.month).where(table.c.state == "closed"))
        return {str(month) for month in months.scalars()}
