"""`bsc explain`: everything the warehouse knows about one published value, in one place.

Read from the history and lineage tables only (facts, `measure_value_history`,
`measure_definition`, `pipeline_run`, `pipeline_run_file`, `dq_result`, `quarantine_row`), so
an explanation needs neither the lake nor the current spec, and works for a retired measure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.warehouse import schema
from bsc_pipeline.warehouse.errors import WarehouseError

QUARANTINE_SAMPLE = 5
"""Quarantined rows shown by name (file:line, rule, reason); the count covers all of them."""

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_PERIOD_TYPES = ("month", "quarter", "fiscal_year", "ytd", "ttm")


class ExplainError(WarehouseError):
    """The value asked for is not published (unknown measure, period or period type)."""


def explain_value(
    engine: Engine, measure_id: str, period: str, period_type: str = "month"
) -> dict[str, Any]:
    """The explanation of one published value as plain JSON-ready data.

    `period` is a month `YYYY-MM` or, for longer period types, a label (`FY2025-Q1`): a month
    with a longer type means the period as reported at that month's close; a label its latest
    reading. Raises `ExplainError` naming what is unknown.
    """
    if period_type not in _PERIOD_TYPES:
        raise ExplainError(f"unknown period type {period_type!r}; expected one of {_PERIOD_TYPES}")
    if not sa.inspect(engine).has_table(schema.measure_definition.name):
        raise ExplainError("the warehouse has no published values yet (or is not migrated)")
    with engine.connect() as connection:
        measure = _measure(connection, measure_id)
        fact = _fact(connection, measure_id, period, period_type)
        definition = _definition(connection, measure_id, fact["definition_version"])
        datasets = definition_datasets(definition["definition"]) if definition else []
        run_id, month = fact["run_id"], fact["as_of_month"]
        return {
            "measure": measure,
            "value": fact,
            "definition": definition,
            "datasets": datasets,
            "run": _run(connection, run_id),
            "files": _files(connection, run_id, datasets),
            "gates": _gates(connection, run_id, month, datasets),
            "quarantine": _quarantine(connection, run_id, month, datasets),
            "publications": _publications(connection, fact),
        }


def definition_datasets(definition: Mapping[str, Any]) -> list[str]:
    """Datasets a resolved definition reads: its own source and those of every part."""
    parts = [definition.get("measure", {}), *definition.get("depends_on", {}).values()]
    return sorted({str(p["source"]) for p in parts if p.get("source")})


def render_text(explanation: Mapping[str, Any]) -> str:
    """Plain text for people and pipes: no colour, no table borders."""
    m, v, d = explanation["measure"], explanation["value"], explanation["definition"]
    retired = "" if m["in_spec"] else " (retired: no longer in the spec)"
    lines = [
        f"{m['measure_id']} — {m['name']}{retired}",
        f"period      {v['period_type']} {v['period']} as of {v['as_of_month']}",
        f"value       {_number(v['value'])} {m['unit']}   target {_number(v['target'])}   "
        f"status {v['status']}   data {v['data_state']}"
        + (f" ({v['data_note']})" if v.get("data_note") else ""),
        f"published   {v['published_at']} by run {v['run_id']}",
        "",
        "Definition",
    ]
    if d is None:
        lines.append("  version     unknown (published before definition versions were kept)")
    else:
        lines += [
            f"  version     {d['definition_version']}"
            + ("" if d["exact"] else " (latest known; the value's own version is unknown)"),
            f"  spec commit {d['spec_commit'] or 'none (spec not in git)'}",
            f"  formula     {d['formula']}",
            f"  since       {d['first_published_at']} (first run {d['first_run_id']})",
        ]
    lines += ["", f"Inputs (datasets read: {', '.join(explanation['datasets']) or 'none'})"]
    run = explanation["run"]
    if run:
        lines.append(f"  run {run['run_id']}: {run['outcome']}, finished {run['finished_at']}")
    for f in explanation["files"]:
        lines.append(f"  {f['dataset']:<18} {f['file']}  {f['size']} bytes  sha256 {f['sha256']}")
    if not explanation["files"]:
        lines.append("  no landing file of these datasets was read by that run")
    lines += ["", "Gates"]
    for g in explanation["gates"]:
        if g["expectation"] == "gate":
            verdict = "passed" if g["passed"] else f"FAILED ({g['severity']})"
            lines.append(
                f"  {g['dataset']:<18} {verdict}: {g['element_count']} rows, "
                f"{g['unexpected_count']} quarantined"
                + (f" — {'; '.join(map(str, g['sample']))}" if g.get("sample") else "")
            )
    failed = [g for g in explanation["gates"] if g["expectation"] != "gate" and not g["passed"]]
    for g in failed:
        column = f" on {g['column']}" if g.get("column") else ""
        lines.append(
            f"    failed {g['expectation']}{column} ({g['severity']}): "
            f"{g['unexpected_count']} of {g['element_count']}"
        )
    if not explanation["gates"]:
        lines.append("  no gate results recorded for these datasets by that run")
    q = explanation["quarantine"]
    lines += ["", f"Quarantined rows: {q['count']}"]
    for row in q["sample"]:
        lines.append(f"  {row['file']}:{row['line']}  {row['rule']}: {row['reason']}")
    lines += ["", "Publications"]
    for p in explanation["publications"]:
        why = f" — {p['restatement_reason']}" if p.get("restatement_reason") else ""
        lines.append(
            f"  {p['published_at']}  run {p['run_id']}  {p['reason']}{why}\n"
            f"      value {_number(p['value'])}  status {p['status']}  "
            f"definition {p['definition_version'] or 'unknown'}"
        )
    return "\n".join(lines) + "\n"


def render_json(explanation: Mapping[str, Any]) -> str:
    return json.dumps(explanation, indent=2, default=str, ensure_ascii=False) + "\n"


def _measure(connection: sa.Connection, measure_id: str) -> dict[str, Any]:
    table = schema.dim_measure
    row = connection.execute(
        sa.select(table.c.measure_id, table.c.name, table.c.unit, table.c.in_spec).where(
            table.c.measure_id == measure_id
        )
    ).first()
    if row is None:
        known = connection.execute(sa.select(table.c.measure_id).order_by(table.c.measure_id))
        raise ExplainError(
            f"unknown measure {measure_id!r}; published measures: "
            f"{', '.join(known.scalars()) or 'none'}"
        )
    return {**row._asdict(), "in_spec": bool(row.in_spec)}


def _fact(
    connection: sa.Connection, measure_id: str, period: str, period_type: str
) -> dict[str, Any]:
    table = schema.fact_measure_period
    query = sa.select(table).where(
        table.c.measure_id == measure_id, table.c.period_type == period_type
    )
    if period_type != "month" and _MONTH.match(period):
        query = query.where(table.c.as_of_month == period)
    else:
        query = query.where(table.c.period == period)
    row = connection.execute(query.order_by(table.c.as_of_month.desc())).first()
    if row is None:
        published = connection.execute(
            sa.select(table.c.period)
            .where(table.c.measure_id == measure_id, table.c.period_type == period_type)
            .distinct()
            .order_by(table.c.period)
        ).scalars()
        raise ExplainError(
            f"no published {period_type} value of {measure_id} for period {period!r}; "
            f"published periods: {', '.join(published) or 'none'}"
        )
    return _plain(row._asdict())


def _definition(
    connection: sa.Connection, measure_id: str, version: str | None
) -> dict[str, Any] | None:
    """The value's own definition; for a value without one, the measure's latest (marked)."""
    table = schema.measure_definition
    query = sa.select(table).where(table.c.measure_id == measure_id)
    exact = version is not None
    if exact:
        query = query.where(table.c.definition_version == version)
    row = connection.execute(query.order_by(table.c.first_published_at.desc())).first()
    return None if row is None else {**_plain(row._asdict()), "exact": exact}


def _run(connection: sa.Connection, run_id: str) -> dict[str, Any] | None:
    table = schema.pipeline_run
    row = connection.execute(sa.select(table).where(table.c.run_id == run_id)).first()
    return None if row is None else _plain(row._asdict())


def _files(connection: sa.Connection, run_id: str, datasets: Sequence[str]) -> list[dict[str, Any]]:
    table = schema.pipeline_run_file
    query = (
        sa.select(table.c.dataset, table.c.file, table.c.size, table.c.sha256, table.c.mtime)
        .where(table.c.run_id == run_id, table.c.dataset.in_(datasets))
        .order_by(table.c.dataset, table.c.file)
    )
    return [_plain(r._asdict()) for r in connection.execute(query)]


def _gates(
    connection: sa.Connection, run_id: str, month: str, datasets: Sequence[str]
) -> list[dict[str, Any]]:
    table = schema.dq_result
    query = (
        sa.select(
            table.c.dataset,
            table.c.expectation,
            table.c.column,
            table.c.severity,
            table.c.passed,
            table.c.element_count,
            table.c.unexpected_count,
            table.c.sample,
        )
        .where(table.c.run_id == run_id, table.c.month == month, table.c.dataset.in_(datasets))
        .order_by(table.c.dataset, table.c.dq_result_id)
    )
    return [{**_plain(r._asdict()), "passed": bool(r.passed)} for r in connection.execute(query)]


def _quarantine(
    connection: sa.Connection, run_id: str, month: str, datasets: Sequence[str]
) -> dict[str, Any]:
    table = schema.quarantine_row
    where = sa.and_(table.c.run_id == run_id, table.c.month == month, table.c.dataset.in_(datasets))
    count = connection.execute(sa.select(sa.func.count()).where(where)).scalar_one()
    sample = connection.execute(
        sa.select(table.c.dataset, table.c.file, table.c.line, table.c.rule, table.c.reason)
        .where(where)
        .order_by(table.c.quarantine_row_id)
        .limit(QUARANTINE_SAMPLE)
    )
    return {"count": int(count), "sample": [_plain(r._asdict()) for r in sample]}


def _publications(connection: sa.Connection, fact: Mapping[str, Any]) -> list[dict[str, Any]]:
    table = schema.measure_value_history
    query = (
        sa.select(
            table.c.published_at,
            table.c.run_id,
            table.c.reason,
            table.c.restatement_reason,
            table.c.value,
            table.c.status,
            table.c.data_state,
            table.c.definition_version,
            table.c.reason_detail,
        )
        .where(*(table.c[k] == fact[k] for k in schema.MEASURE_FACT_KEY))
        .order_by(table.c.history_id)
    )
    return [_plain(r._asdict()) for r in connection.execute(query)]


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready values: timestamps and dates as ISO text."""
    out = {}
    for key, value in row.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.6g}"
