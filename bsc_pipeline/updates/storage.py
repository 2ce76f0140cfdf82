"""Every version of owners' updates in the warehouse, and what reports read back from it.

Publishing calls `record_updates` inside its transaction: a staged update row becomes a new
version of its measure × month unless the latest stored version already says the same. So a
re-run stores nothing, and a corrected resubmission is version 2 with its own file and sha256.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.warehouse import schema
from bsc_pipeline.warehouse.readings import commentary_line

_CONTENT = ("submitted_by", "value", "unit", "analysis", "recommendation")


@dataclass(frozen=True)
class Commentary:
    """The latest word of an owner on one measure and month."""

    measure_id: str
    period: str
    version: int
    submitted_by: str | None
    analysis: str | None
    recommendation: str | None
    value: float | None
    recorded_at: datetime | None


def update_rows(
    staged: pd.DataFrame | None, files: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Staged update rows as versions to store: text cleaned, value as a number, file identity."""
    if staged is None or staged.empty:
        return []
    by_path = {str(f.get("path") or f.get("file")): f for f in files}
    rows = []
    for record in staged.to_dict("records"):
        path = str(record.get("_source_file"))
        identity = by_path.get(path, {})
        value = _text(record.get("value"))
        rows.append(
            {
                "measure_id": str(record["measure_id"]),
                "period": pd.Timestamp(record["period"]).strftime("%Y-%m"),
                "submitted_by": _text(record.get("owner")),
                "value": float(value) if value is not None else None,
                "unit": _text(record.get("unit")),
                "analysis": _text(record.get("analysis")),
                "recommendation": _text(record.get("recommendation")),
                "file": path,
                "line": _int(record.get("_source_line")),
                "sha256": identity.get("sha256"),
                "submitted_at": _time(identity.get("mtime")),
            }
        )
    return rows


def record_updates(
    connection: sa.Connection, rows: Sequence[Mapping[str, Any]], run_id: str, now: datetime
) -> int:
    """Store each row as a new version unless the latest version says the same; how many stored."""
    table = schema.measure_update
    stored = 0
    for row in rows:
        latest = connection.execute(
            sa.select(table)
            .where(table.c.measure_id == row["measure_id"], table.c.period == row["period"])
            .order_by(table.c.version.desc())
            .limit(1)
        ).first()
        if latest is not None and all(getattr(latest, c) == row[c] for c in _CONTENT):
            continue
        version = 1 if latest is None else int(latest.version) + 1
        connection.execute(
            sa.insert(table).values(**row, version=version, recorded_at=now, run_id=run_id)
        )
        stored += 1
    return stored


def latest_commentary(
    engine: Engine, period: str | None = None
) -> dict[tuple[str, str], Commentary]:
    """The latest version per measure and month (of one month when given), keyed by both."""
    table = schema.measure_update
    latest = (
        sa.select(table.c.measure_id, table.c.period, sa.func.max(table.c.version).label("v"))
        .group_by(table.c.measure_id, table.c.period)
        .subquery()
    )
    query = sa.select(table).join(
        latest,
        (latest.c.measure_id == table.c.measure_id)
        & (latest.c.period == table.c.period)
        & (latest.c.v == table.c.version),
    )
    if period is not None:
        query = query.where(table.c.period == period)
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(table.name):
            return {}
        result = connection.execute(query).all()
    return {
        (r.measure_id, r.period): Commentary(
            r.measure_id,
            r.period,
            int(r.version),
            r.submitted_by,
            r.analysis,
            r.recommendation,
            r.value,
            r.recorded_at,
        )
        for r in result
    }


def commentary_text(commentary: Commentary | None) -> str | None:
    """One line for reports and exports: the analysis, then the recommendation."""
    if commentary is None:
        return None
    return commentary_line(commentary.analysis, commentary.recommendation)


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()
