"""`bsc spec diff`: which measures two specs define differently, and what a run would restate.

A measure changes when its definition version changes (`trust.definitions`): directly (its own
fields) or through a measure it reads. Against a warehouse, the open months whose published
rows carry another version are the ones the next run restates (reason `definition_changed`);
closed months keep their figures until reopened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.trust.definitions import MeasureDefinition, formula_text
from bsc_pipeline.warehouse import schema

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class MeasureChange:
    """One measure whose definition differs between two specs."""

    measure_id: str
    change: ChangeKind
    old_version: str | None
    new_version: str | None
    fields: tuple[str, ...] = ()
    """Own fields that differ (e.g. `formula`, `target`), for a direct change."""
    through: tuple[str, ...] = ()
    """Measures it reads whose definition differs (or `calendar`, `targets_file`)."""
    old_formula: str | None = None
    new_formula: str | None = None


@dataclass
class RestatementPlan:
    """Per changed measure, the published months a run would restate and those it would not."""

    open_months: dict[str, list[str]] = field(default_factory=dict)
    closed_months: dict[str, list[str]] = field(default_factory=dict)
    retired_months: dict[str, list[str]] = field(default_factory=dict)


def diff_definitions(
    old: Mapping[str, MeasureDefinition], new: Mapping[str, MeasureDefinition]
) -> list[MeasureChange]:
    """Added, removed and changed measures, sorted by id."""
    changes = []
    for measure_id in sorted(old.keys() | new.keys()):
        before, after = old.get(measure_id), new.get(measure_id)
        if before is None and after is not None:
            changes.append(
                MeasureChange(
                    measure_id,
                    "added",
                    None,
                    after.version,
                    new_formula=formula_text(after.definition),
                )
            )
        elif after is None and before is not None:
            changes.append(
                MeasureChange(
                    measure_id,
                    "removed",
                    before.version,
                    None,
                    old_formula=formula_text(before.definition),
                )
            )
        elif before is not None and after is not None and before.version != after.version:
            changes.append(_changed(before, after))
    return changes


def restatement_plan(
    engine: Engine, changes: Sequence[MeasureChange], new: Mapping[str, MeasureDefinition]
) -> RestatementPlan:
    """Months published with another version than the new spec's, split by period state."""
    plan = RestatementPlan()
    if not sa.inspect(engine).has_table(schema.fact_measure_period.name):
        return plan
    facts, state = schema.fact_measure_period, schema.period_state
    with engine.connect() as connection:
        closed = set(
            connection.execute(sa.select(state.c.month).where(state.c.state == "closed")).scalars()
        )
        for change in changes:
            if change.change == "added":
                continue
            query = sa.select(facts.c.as_of_month).where(facts.c.measure_id == change.measure_id)
            if change.change == "changed":
                query = query.where(
                    sa.or_(
                        facts.c.definition_version.is_(None),
                        facts.c.definition_version != new[change.measure_id].version,
                    )
                )
            months = sorted(set(connection.execute(query.distinct()).scalars()))
            if not months:
                continue
            if change.change == "removed":
                plan.retired_months[change.measure_id] = months
                continue
            opened = [m for m in months if m not in closed]
            shut = [m for m in months if m in closed]
            if opened:
                plan.open_months[change.measure_id] = opened
            if shut:
                plan.closed_months[change.measure_id] = shut
    return plan


def render_text(
    changes: Sequence[MeasureChange], plan: RestatementPlan | None, old: str, new: str
) -> str:
    if not changes:
        return f"No measure changes between {old} and {new}.\n"
    lines = [f"Measures that change between {old} and {new}:"]
    for c in changes:
        versions = f"{c.old_version or '—'} → {c.new_version or '—'}"
        if c.change == "added":
            what = f"new: {c.new_formula}"
        elif c.change == "removed":
            what = "retired: its published values and history are kept"
        else:
            parts = []
            if c.fields:
                parts.append("own " + ", ".join(c.fields))
            if c.through:
                parts.append("through " + ", ".join(c.through))
            what = "; ".join(parts)
            if c.old_formula != c.new_formula:
                what += f" ({c.old_formula} ⇒ {c.new_formula})"
        lines.append(f"  {c.change:<8} {c.measure_id:<28} {versions}  {what}")
    if plan is not None:
        lines += ["", "Published months (warehouse):"]
        shown = False
        for c in changes:
            opened = plan.open_months.get(c.measure_id, [])
            shut = plan.closed_months.get(c.measure_id, [])
            retired = plan.retired_months.get(c.measure_id, [])
            if opened:
                lines.append(
                    f"  {c.measure_id}: a run restates open {', '.join(opened)} "
                    "(reason definition_changed)"
                )
            if shut:
                lines.append(
                    f"  {c.measure_id}: closed {', '.join(shut)} would not move until reopened"
                )
            if retired:
                lines.append(f"  {c.measure_id}: published in {', '.join(retired)}; kept as is")
            shown = shown or bool(opened or shut or retired)
        if not shown:
            lines.append("  none of the changed measures has a published value to restate")
    return "\n".join(lines) + "\n"


def as_json(changes: Sequence[MeasureChange], plan: RestatementPlan | None) -> dict[str, Any]:
    out: dict[str, Any] = {"measures": [c.__dict__ for c in changes]}
    if plan is not None:
        out["warehouse"] = plan.__dict__
    return out


def _changed(before: MeasureDefinition, after: MeasureDefinition) -> MeasureChange:
    old, new = before.definition, after.definition
    fields = _differing(old["measure"], new["measure"])
    through = _differing(old.get("depends_on", {}), new.get("depends_on", {}))
    through += tuple(k for k in ("calendar", "targets_file") if old.get(k) != new.get(k))
    return MeasureChange(
        before.measure_id,
        "changed",
        before.version,
        after.version,
        fields=fields,
        through=through,
        old_formula=formula_text(before.definition),
        new_formula=formula_text(after.definition),
    )


def _differing(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """Keys whose values differ (present on one side only counts)."""
    return tuple(sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)))
