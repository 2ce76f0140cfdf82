"""A person's decision on a held dataset-month: accept it as it is, or keep it held.

A gate holds a month it cannot trust (a partial export, a missing file); sometimes the drop is
real (a quiet month, a closed office). `bsc dq accept` records who released it and why, so the
next run publishes it; `bsc dq reject` records that it stays held whatever the gate says. The
decision is applied to the gate's verdict (`apply_decision`), which alone decides held vs
published; the latest decision per dataset and month wins.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.periods import Month
from bsc_pipeline.quality.gate import ExpectationOutcome, GateResult
from bsc_pipeline.warehouse import schema

DecisionKind = Literal["accept", "reject"]
DECISION_CHECK = "decision"
USER_VARIABLE = "BSC_USER"


class DecisionError(ValueError):
    """A decision that cannot be recorded (unknown dataset, empty reason)."""


@dataclass(frozen=True)
class Decision:
    """One row of `dq_decision`."""

    decision_id: int
    dataset: str
    month: str
    decision: DecisionKind
    reason: str
    decided_by: str
    decided_at: datetime
    consumed_by_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, as the lake's gate verdict keeps it."""
        return {
            "decision_id": self.decision_id,
            "decision": self.decision,
            "reason": self.reason,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(),
        }


def current_user() -> str:
    """Who decides: `BSC_USER` when set (a shared account acting for a person), else the OS user."""
    named = os.environ.get(USER_VARIABLE, "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record_decision(
    engine: Engine,
    dataset: str,
    month: str,
    decision: DecisionKind,
    reason: str,
    *,
    decided_by: str | None = None,
) -> Decision:
    """Store a decision; it applies from the next run of that month on."""
    month = str(Month.parse(month))
    if decision not in ("accept", "reject"):
        raise DecisionError(f"decision must be accept or reject, got {decision!r}")
    if not reason.strip():
        raise DecisionError("a decision needs a reason (--reason): it is kept with the figures")
    row = {
        "dataset": dataset,
        "month": month,
        "decision": decision,
        "reason": reason.strip(),
        "decided_by": decided_by or current_user(),
        "decided_at": datetime.now(UTC),
    }
    table = schema.dq_decision
    with engine.begin() as connection:
        decision_id = connection.execute(
            sa.insert(table).values(**row).returning(table.c.decision_id)
        ).scalar_one()
    return Decision(decision_id=decision_id, **row)  # type: ignore[arg-type]


def latest_decision(engine: Engine, dataset: str, month: str) -> Decision | None:
    """The decision in force for a dataset-month: the latest recorded, or None."""
    table = schema.dq_decision
    if not sa.inspect(engine).has_table(table.name):
        return None
    query = (
        sa.select(table)
        .where(table.c.dataset == dataset, table.c.month == month)
        .order_by(table.c.decision_id.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else Decision(**row._mapping)


def read_decisions(
    engine: Engine, month: str | None = None, limit: int | None = None
) -> list[Decision]:
    """Decisions, newest first: of one month, or the latest `limit` of all months."""
    table = schema.dq_decision
    if not sa.inspect(engine).has_table(table.name):
        return []
    query = sa.select(table).order_by(table.c.decision_id.desc())
    if month is not None:
        query = query.where(table.c.month == month)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return [Decision(**r._mapping) for r in connection.execute(query)]


def apply_decision(result: GateResult, decision: Decision | None) -> GateResult:
    """The verdict with the person's decision applied.

    `accept` passes a failed verdict (the month publishes as it is; the failed expectations stay
    on record); `reject` fails the verdict whatever the rules found. An accept of a month that
    passed anyway changes nothing.
    """
    if decision is None or (decision.decision == "accept" and result.passed):
        return result
    accepted = decision.decision == "accept"
    said = f"{decision.decision}ed by {decision.decided_by}: {decision.reason}"
    check = ExpectationOutcome(
        DECISION_CHECK,
        None,
        "warning" if accepted else "critical",
        accepted,
        result.row_count,
        None,
        [decision.decided_by, decision.reason],
        said,
    )
    before = f" (gate: {result.reason})" if result.reason else ""
    return replace(
        result,
        passed=accepted,
        severity="warning" if accepted else "critical",
        reason=f"{DECISION_CHECK}: {said}{before}",
        expectations=[*result.expectations, check],
        decision=decision.to_dict(),
    )
