"""Dimension rows from the spec: perspectives, objectives, measures, owners, links, initiatives.

Facts keep pointing at ids that left the spec (history must stay readable), so such rows are
kept and marked `in_spec = false` instead of deleted. Rows are only written when they differ, so
an unchanged spec leaves the dimensions (and their `updated_at`) untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bsc_pipeline.spec.models import Spec
from bsc_pipeline.warehouse import schema

Row = dict[str, Any]


def spec_rows(spec: Spec) -> dict[str, list[Row]]:
    """Rows of every dimension table for `spec`, keyed by table name, in foreign-key order."""
    return {
        "dim_owner": [{"owner_id": o.id, "name": o.name, "email": o.email} for o in spec.owners],
        "dim_perspective": [
            {"perspective_id": p.id, "name": p.name, "weight": p.weight, "sort_order": p.order}
            for p in spec.perspectives
        ],
        "dim_objective": [
            {
                "objective_id": o.id,
                "name": o.name,
                "perspective_id": o.perspective,
                "weight": o.weight,
                "description": o.description,
            }
            for o in spec.objectives
        ],
        "dim_measure": [
            {
                "measure_id": m.id,
                "name": m.name,
                "description": m.description,
                "kind": m.kind,
                "objective_id": m.objective,
                "owner_id": m.owner,
                "unit": m.unit,
                "direction": m.direction,
                "lead_lag": m.lead_lag,
                "review": m.review,
                "weight": m.weight,
                "decimals": m.decimals,
            }
            for m in spec.measures
        ],
        "strategy_link": [
            {
                "driver_measure_id": link.driver,
                "outcome_measure_id": link.outcome,
                "lag_months": link.lag_months,
                "expected_sign": link.expected_sign,
            }
            for link in spec.links
        ],
        "dim_initiative": [
            {
                "initiative_id": i.id,
                "name": i.name,
                "owner_id": i.owner,
                "objective_id": i.objective,
                "budget": i.budget,
                "start_date": i.start,
                "end_date": i.end,
                "status": i.status,
            }
            for i in spec.initiatives
        ],
    }


def sync_dimensions(connection: sa.Connection, spec: Spec, now: datetime) -> None:
    """Bring the dimension tables in line with `spec`, writing only what differs."""
    for name, rows in spec_rows(spec).items():
        table = schema.metadata.tables[name]
        _sync(connection, table, rows, now)


def _sync(connection: sa.Connection, table: sa.Table, rows: Sequence[Row], now: datetime) -> None:
    key = [c.name for c in table.primary_key.columns]
    soft = "in_spec" in table.c
    wanted = {tuple(r[k] for k in key): {**r, "in_spec": True} if soft else dict(r) for r in rows}
    compared = [c for c in next(iter(wanted.values()), {}) if c not in key]
    stored = {
        tuple(getattr(r, k) for k in key): r._asdict() for r in connection.execute(sa.select(table))
    }
    where = sa.and_(*(table.c[k] == sa.bindparam(f"k_{k}") for k in key))

    inserts = [{**r, "updated_at": now} for k, r in wanted.items() if k not in stored]
    updates = [
        {
            **{f"k_{n}": v for n, v in zip(key, k, strict=True)},
            **{f"v_{c}": r[c] for c in compared},
            "v_updated_at": now,
        }
        for k, r in wanted.items()
        if k in stored and any(stored[k][c] != r[c] for c in compared)
    ]
    gone = [k for k, r in stored.items() if k not in wanted and (not soft or r["in_spec"])]

    if inserts:
        connection.execute(sa.insert(table), inserts)
    if updates:
        values: dict[str, Any] = {c: sa.bindparam(f"v_{c}") for c in (*compared, "updated_at")}
        connection.execute(sa.update(table).where(where).values(values), updates)
    if gone:
        params = [{f"k_{n}": v for n, v in zip(key, k, strict=True)} for k in gone]
        if soft:
            statement = sa.update(table).where(where).values(in_spec=False, updated_at=now)
            connection.execute(statement, params)
        else:
            connection.execute(sa.delete(table).where(where), params)
