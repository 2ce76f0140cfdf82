"""What a backfill did to each month, read from the warehouse rather than from the run.

An interrupted run has no outputs to ask, but every month it published is recorded in
`pipeline_run` under the run id the month ran with: the summary after Ctrl-C stays true.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from bsc_pipeline.warehouse import schema

PUBLISHED = "published"
UNCHANGED = "unchanged"
FAILED = "failed"
NOT_REACHED = "not reached"
STATES = (PUBLISHED, UNCHANGED, FAILED, NOT_REACHED)
"""`published`: a value or status moved; `unchanged`: published again, nothing moved;
`failed`: the run recorded a failure; `not reached`: nothing was published for the month."""

RECOMPUTE_REASON = (
    "their year-over-year, trailing-12-month, quarter and year figures read the months being "
    "backfilled"
)


def month_states(engine: sa.Engine, run_ids: Mapping[str, str]) -> dict[str, str]:
    """Each month's state from the `pipeline_run` row of the run id it ran with (a month
    without a row was not reached), and whether that run wrote any value history."""
    if not run_ids or not sa.inspect(engine).has_table(schema.pipeline_run.name):
        return dict.fromkeys(run_ids, NOT_REACHED)
    runs, history = schema.pipeline_run, schema.measure_value_history
    ids = list(run_ids.values())
    with engine.connect() as connection:
        outcome = dict(
            connection.execute(
                sa.select(runs.c.run_id, runs.c.outcome).where(runs.c.run_id.in_(ids))
            ).all()
        )
        moved = set(
            connection.execute(
                sa.select(history.c.run_id).where(history.c.run_id.in_(ids)).distinct()
            ).scalars()
        )
    states = {}
    for month, run_id in run_ids.items():
        recorded = outcome.get(run_id)
        if recorded == "published":
            states[month] = PUBLISHED if run_id in moved else UNCHANGED
        elif recorded is None:
            states[month] = NOT_REACHED
        else:
            states[month] = FAILED
    return states


def recompute_notice(months: Sequence[str], later: Sequence[str]) -> str:
    """The line a backfill prints before it starts: the later months it also runs, and why."""
    if not later:
        return f"Backfilling {_span(months)}: no later published month reads them."
    return (
        f"Backfilling {_span(months)}, then recomputing {len(later)} later published "
        f"month(s) {_span(later)}: {RECOMPUTE_REASON}."
    )


def _span(months: Sequence[str]) -> str:
    ordered = sorted(months)
    if len(ordered) <= 3:
        return ", ".join(ordered)
    return f"{ordered[0]} to {ordered[-1]} ({len(ordered)} months)"
