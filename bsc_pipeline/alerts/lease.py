"""One delivery process at a time per warehouse: a lease row in the warehouse, not an OS lock.

An OS lock only serialises processes on one machine; the warehouse is what every delivering
process shares. A holder renews its lease while it sends; one that dies simply lets it expire.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bsc_pipeline.alerts.outbox import writing
from bsc_pipeline.liveness import pid_running
from bsc_pipeline.warehouse.schema import delivery_lease

DELIVERY = "alert_delivery"
DEFAULT_TTL = timedelta(minutes=10)
"""Longer than one owner's digest takes with every retry, renewed after each owner."""


def holder_id() -> str:
    """Who holds it, readable by an operator: host, process id and a token."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Busy:
    """Another process holds the lease."""

    holder: str
    expires_at: datetime


def acquire(
    engine: Engine, holder: str, now: datetime, ttl: timedelta = DEFAULT_TTL, name: str = DELIVERY
) -> Busy | None:
    """Take or renew the lease; None when held now, else who holds it until when."""
    table = delivery_lease
    values = {"holder": holder, "acquired_at": now, "expires_at": now + ttl}
    try:
        with writing(engine) as connection:
            row = connection.execute(
                sa.select(table.c.holder, table.c.expires_at)
                .where(table.c.name == name)
                .with_for_update()
            ).first()
            if row is None:
                connection.execute(table.insert().values(name=name, **values))
                return None
            if row.holder != holder and row.expires_at > now and _alive(row.holder):
                return Busy(row.holder, row.expires_at)
            connection.execute(table.update().where(table.c.name == name).values(values))
            return None
    except IntegrityError:
        # Another process inserted the row between our SELECT and INSERT (PostgreSQL).
        return Busy("another process", now + ttl)


def _alive(holder: str) -> bool:
    """False only when the holder ran on this host and its process is gone (killed, crashed):
    its lease need not be waited out. A holder on another host lives until it expires."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    return pid_running(int(pid_text))


def release(engine: Engine, holder: str, name: str = DELIVERY) -> None:
    """Give the lease back if we still hold it."""
    with writing(engine) as connection:
        connection.execute(
            delivery_lease.delete().where(
                delivery_lease.c.name == name, delivery_lease.c.holder == holder
            )
        )
