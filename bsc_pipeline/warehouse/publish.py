"""Publishing one month: the only writer of published numbers, in one transaction.

A month's rows are those with `as_of_month == month`: every period type a run of that month
computed. Publishing replaces exactly those rows, so a neighbouring month is never touched, and
rewrites only rows whose content changed, so re-running the same inputs changes nothing (not
even `published_at`) and writes no history. A crash before commit leaves the old month whole.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from bsc_pipeline.periods import Month
from bsc_pipeline.spec.models import Spec
from bsc_pipeline.trust.definitions import (
    MeasureDefinition,
    formula_text,
    measure_definitions,
)
from bsc_pipeline.trust.reasons import (
    FIRST_PUBLICATION,
    ChangeReason,
    PreviousPublication,
    change_reason,
    file_changes,
)
from bsc_pipeline.warehouse import schema
from bsc_pipeline.warehouse.dimensions import sync_dimensions
from bsc_pipeline.warehouse.engine import WRITE_OPTION
from bsc_pipeline.warehouse.errors import PeriodClosedError, PublishInputError
from bsc_pipeline.warehouse.frames import (
    canonical,
    changed_mask,
    jsonable,
    read_table,
    records,
)

ALLOWED_VALUES: dict[str, frozenset[str]] = {
    "period_type": frozenset({"month", "quarter", "fiscal_year", "ytd", "ttm"}),
    "status": frozenset({"green", "amber", "red", "no_data", "held"}),
    "data_state": frozenset({"complete", "partial", "held", "no_data", "not_started"}),
    "trend": frozenset({"up", "down", "flat"}),
    "threshold_basis": frozenset({"relative", "absolute"}),
}
"""Codes the views and alerts rely on (docs/architecture.md); anything else is refused."""

HELD_KEEPS = (
    "numerator",
    "denominator",
    "value",
    "target",
    "target_high",
    "green_bound",
    "amber_bound",
    "threshold_basis",
    "prior_period_value",
    "prior_year_value",
    "variance",
    "variance_pct",
    "trend",
    "definition_version",
)
"""Figures a held row takes from the row already published (design: previous values stay),
with the definition version they were computed under.

Not the score: a held measure does not count in roll-ups, so its stored score stays as scored.
"""

HELD_FIGURES = ("numerator", "denominator", "value", "variance", "variance_pct", "trend")
"""Figures computed from a held month's inputs: not shown until its inputs pass (NULL when
nothing was published before); targets and comparisons are computed from other data."""

HISTORY_COLUMNS = ("value", "target", "status", "score", "data_state")
"""What a history row keeps; a new row is written when `value` or `status` changes."""

_HISTORY_TRIGGERS = ("value", "status")
_PUBLISH_LOCK_BASE = 0x6273_6300  # PostgreSQL advisory lock per month: one publisher at a time


@dataclass(frozen=True)
class TableChange:
    """What publishing did to one fact table."""

    inserted: int = 0
    deleted: int = 0
    unchanged: int = 0

    def __add__(self, other: TableChange) -> TableChange:
        return TableChange(
            self.inserted + other.inserted,
            self.deleted + other.deleted,
            self.unchanged + other.unchanged,
        )


@dataclass(frozen=True)
class PublishOutcome:
    """What one `publish_month` call wrote."""

    month: str
    run_id: str
    published_at: datetime
    measures: TableChange
    rollups: TableChange
    first_publications: int
    restatements: int
    restatement_reason: str | None
    alert_events_inserted: int
    alert_events_skipped: int
    link_health: TableChange = TableChange()
    released_datasets: tuple[str, ...] = ()
    """Datasets whose held month a person accepted (`bsc dq accept`) and this run published."""

    @property
    def changed(self) -> bool:
        """True when any published fact row was written or removed."""
        return bool(
            self.measures.inserted
            or self.measures.deleted
            or self.rollups.inserted
            or self.rollups.deleted
            or self.link_health.inserted
            or self.link_health.deleted
        )


def publish_month(
    engine: Engine,
    month: str,
    *,
    run_id: str,
    measures: pd.DataFrame,
    rollups: pd.DataFrame,
    spec: Spec,
    files: Sequence[Mapping[str, Any]] = (),
    gate_results: pd.DataFrame | None = None,
    quarantine: pd.DataFrame | None = None,
    alert_events: Sequence[Mapping[str, Any]] | None = None,
    restatement_reason: str | None = None,
    started_at: datetime | None = None,
    link_health: pd.DataFrame | None = None,
    definitions: Mapping[str, MeasureDefinition] | None = None,
    released_holds: Collection[str] = (),
    decisions: Sequence[Mapping[str, Any]] = (),
    updates: Sequence[Mapping[str, Any]] = (),
) -> PublishOutcome:
    """Publish the scored month, its run record, gate results and alert outbox atomically.

    `link_health` (the `link_health` frame of `bsc_pipeline.scoring`, with or without
    `as_of_month`) replaces the month's link-health rows; None leaves them as they are.
    `definitions` (default: computed from `spec`, without git commit or targets file) gives
    each measure's definition version, stored with every value; `released_holds` names the
    datasets a person released for the month (reason `hold_released`); `updates` are owners'
    update rows (`bsc_pipeline.updates.storage.update_rows`), stored as new versions. Every
    history row gets its reason from `bsc_pipeline.trust.reasons.change_reason`. Rows of
    measures no longer in the spec (retired) are kept, never deleted.
    `decisions` (`decision_id`, `dataset`, `decision`) are the people's accept/reject decisions
    the month's gate verdicts applied: the first run to publish with one records its run id.

    Raises `PeriodClosedError` for a closed month and `PublishInputError` for frames that do not
    fit (missing columns, rows of another month, duplicate keys, ids unknown to the spec).
    """
    from bsc_pipeline.updates.storage import record_updates

    month = str(Month.parse(month))
    fact_rows = _measure_rows(measures, month)
    rollup_rows = _rollup_rows(rollups, month)
    health_rows = None if link_health is None else _link_health_rows(link_health, month)
    definitions = definitions or measure_definitions(spec)
    fact_rows = fact_rows.assign(
        definition_version=fact_rows["measure_id"]
        .map({k: d.version for k, d in definitions.items()})
        .astype("string")
    )
    now = datetime.now(UTC)

    connection = engine.connect().execution_options(**{WRITE_OPTION: True})
    with connection, connection.begin():
        reopen_reason = _lock_open_month(connection, month, now)
        sync_dimensions(connection, spec, now)
        _check_known(connection, fact_rows, rollup_rows)
        reason = restatement_reason or reopen_reason

        fact_rows = _keep_figures_of_held(connection, month, fact_rows)
        measure_change, history = _replace_measures(
            connection, month, fact_rows, run_id, now, {m.id for m in spec.measures}
        )
        context = _ReasonContext(
            files=files,
            definitions=definitions,
            reopen_reason=reopen_reason,
            given_reason=restatement_reason,
            released_holds=frozenset(released_holds),
        )
        first, restated = _append_history(connection, history, run_id, now, context)
        _record_definitions(connection, definitions, month, run_id, now)
        rollup_change = _replace_rollups(connection, month, rollup_rows, run_id, now)
        health_change = TableChange()
        if health_rows is not None:
            health_change, _ = _replace_rows(
                connection,
                schema.fact_link_health,
                schema.LINK_HEALTH_KEY,
                month,
                health_rows,
                run_id,
                now,
            )

        _record_run(connection, run_id, month, started_at or now, now, files)
        _record_rows(connection, schema.dq_result, gate_results, run_id, month)
        _record_rows(connection, schema.quarantine_row, quarantine, run_id, month)
        record_updates(connection, updates, run_id, now)
        inserted, skipped = _insert_alert_events(connection, alert_events or (), run_id, now)
        _consume_decisions(connection, decisions, run_id)

    return PublishOutcome(
        month=month,
        run_id=run_id,
        published_at=now,
        measures=measure_change,
        rollups=rollup_change,
        first_publications=first,
        restatements=restated,
        restatement_reason=reason if restated else None,
        alert_events_inserted=inserted,
        alert_events_skipped=skipped,
        link_health=health_change,
        released_datasets=tuple(
            sorted({str(d["dataset"]) for d in decisions if d.get("decision") == "accept"})
        ),
    )


def _consume_decisions(
    connection: sa.Connection, decisions: Sequence[Mapping[str, Any]], run_id: str
) -> None:
    """Name this run on decisions no earlier run published with."""
    ids = sorted({int(d["decision_id"]) for d in decisions})
    if not ids:
        return
    table = schema.dq_decision
    connection.execute(
        sa.update(table)
        .where(table.c.decision_id.in_(ids), table.c.consumed_by_run_id.is_(None))
        .values(consumed_by_run_id=run_id)
    )


def read_published(engine: Engine, month: str) -> pd.DataFrame:
    """The month's published measure rows (every period type), e.g. previous statuses for alerts."""
    month = str(Month.parse(month))
    table = schema.fact_measure_period
    query = (
        sa.select(table)
        .where(table.c.as_of_month == month)
        .order_by(table.c.measure_id, table.c.period_type, table.c.period)
    )
    with engine.connect() as connection:
        return read_table(connection, query, table)


def read_monthly_history(engine: Engine, through_month: str) -> pd.DataFrame:
    """`measure_id`, `period`, `value` of every month as published at its own close.

    One row per measure and month up to `through_month` (a month's own `as_of_month` reading,
    never a later restatement as of another month): the history link health correlates.
    """
    through = str(Month.parse(through_month))
    table = schema.fact_measure_period
    query = (
        sa.select(table.c.measure_id, table.c.period, table.c.value)
        .where(
            table.c.period_type == "month",
            table.c.as_of_month == table.c.period,
            table.c.period <= through,
        )
        .order_by(table.c.measure_id, table.c.period)
    )
    with engine.connect() as connection:
        return read_table(connection, query, table)


def record_run(
    engine: Engine,
    run_id: str,
    month: str,
    outcome: str,
    *,
    detail: str | None = None,
    started_at: datetime | None = None,
    error: str | None = None,
) -> None:
    """Record a run that did not publish (failed, refused, held) so operations see every run;
    `error` is the one-line cause a failed run showed its user."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        _upsert_run(connection, run_id, str(Month.parse(month)), started_at or now, now, outcome)
        connection.execute(
            sa.update(schema.pipeline_run)
            .where(schema.pipeline_run.c.run_id == run_id)
            .values(detail=detail, error=error)
        )


def _measure_rows(measures: pd.DataFrame, month: str) -> pd.DataFrame:
    if measures.empty:
        raise PublishInputError(
            f"scored measures: no rows for {month}; publishing would erase the month "
            "(a measure without data is a row with status no_data, not a missing row)"
        )
    frame = canonical(
        measures, schema.fact_measure_period, schema.MEASURE_FACT_COLUMNS, "scored measures"
    )
    _check_month_and_keys(frame, month, schema.MEASURE_FACT_KEY, "scored measures")
    _check_codes(frame, "scored measures")
    _check_required(frame, schema.fact_measure_period, schema.MEASURE_FACT_KEY, "scored measures")
    return frame


def _check_required(frame: pd.DataFrame, table: sa.Table, key: Sequence[str], what: str) -> None:
    """A NULL in a NOT NULL column would fail deep in the driver; say which row instead."""
    for column in table.columns:
        if column.nullable or column.name not in frame.columns:
            continue
        empty = frame[column.name].isna()
        if empty.any():
            row = frame.loc[empty, [c for c in key if c in frame.columns]].iloc[0].to_dict()
            raise PublishInputError(f"{what}: column {column.name!r} is empty for {row}")


def _keep_figures_of_held(
    connection: sa.Connection, month: str, facts: pd.DataFrame
) -> pd.DataFrame:
    """A held row (its inputs failed a gate) keeps the figures already published for its key.

    Only status, data state and note change, so a failed extract never replaces a published
    number. A held row with nothing published before has no figure (NULL, never the 0.0 a
    count of a missing extract computes), so a sum over `value` never counts it.
    """
    held = facts["data_state"] == "held"
    if not held.any():
        return facts
    facts = facts.copy()
    facts[list(HELD_FIGURES)] = facts[list(HELD_FIGURES)].mask(held)
    table = schema.fact_measure_period
    key = list(schema.MEASURE_FACT_KEY)
    stored = read_table(
        connection,
        sa.select(*(table.c[c] for c in (*key, *HELD_KEEPS))).where(
            table.c.as_of_month == month,
            table.c.measure_id.in_(sorted(set(facts.loc[held, "measure_id"]))),
        ),
        table,
    )
    merged = facts.merge(stored, on=key, how="left", suffixes=("", "_stored"), indicator=True)
    keep = (merged["data_state"] == "held") & (merged["_merge"] == "both")
    for name in HELD_KEEPS:
        merged[name] = merged[name].mask(keep, merged[f"{name}_stored"])
    return merged[list(facts.columns)]


def _rollup_rows(rollups: pd.DataFrame, month: str) -> pd.DataFrame:
    if "level" not in rollups.columns or "node_id" not in rollups.columns:
        raise PublishInputError("roll-ups: expected columns 'level' and 'node_id'")
    levels = set(rollups["level"].dropna().unique())
    unknown = sorted(levels - set(schema.ROLLUP_TABLES))
    if unknown or rollups["level"].isna().any():
        raise PublishInputError(
            f"roll-ups: unknown level(s) {unknown or ['<missing>']}; "
            f"expected one of {sorted(schema.ROLLUP_TABLES)}"
        )
    body = canonical(rollups, schema.fact_objective_period, schema.ROLLUP_FACT_COLUMNS, "roll-ups")
    frame = pd.concat(
        [
            rollups[["level", "node_id"]].reset_index(drop=True).astype("string"),
            body,
        ],
        axis=1,
    )
    rollup_key = ("level", "node_id", "period_type", "period")
    _check_month_and_keys(frame, month, rollup_key, "roll-ups")
    _check_codes(frame, "roll-ups")
    _check_required(frame, schema.fact_objective_period, rollup_key, "roll-ups")
    return frame


def _link_health_rows(health: pd.DataFrame, month: str) -> pd.DataFrame:
    """The month's link health in the table's dtypes; `as_of_month` defaults to the month."""
    if "as_of_month" not in health.columns:
        health = health.assign(as_of_month=month)
    frame = canonical(health, schema.fact_link_health, schema.LINK_HEALTH_COLUMNS, "link health")
    _check_month_and_keys(frame, month, ("driver", "outcome"), "link health")
    _check_required(frame, schema.fact_link_health, schema.LINK_HEALTH_KEY, "link health")
    signs = frame["expected_sign"].dropna()
    if not signs.isin([1, -1]).all():
        raise PublishInputError(
            f"link health: column 'expected_sign' has value(s) {sorted(set(signs) - {1, -1})}; "
            "expected 1, -1 or empty"
        )
    return frame


def _check_codes(frame: pd.DataFrame, what: str) -> None:
    for column, allowed in ALLOWED_VALUES.items():
        if column not in frame.columns:
            continue
        seen = frame[column].dropna()
        wrong = sorted(set(seen[~seen.isin(allowed)]))
        if wrong:
            raise PublishInputError(
                f"{what}: column {column!r} has value(s) {wrong[:5]}; expected one of "
                f"{sorted(allowed)}"
            )


def _check_month_and_keys(frame: pd.DataFrame, month: str, key: Sequence[str], what: str) -> None:
    other = frame["as_of_month"] != month
    if other.fillna(True).any():
        seen = sorted(frame.loc[other.fillna(True), "as_of_month"].astype(str).unique())
        raise PublishInputError(
            f"{what}: publishing {month} takes only rows with as_of_month == {month}; seen {seen}"
        )
    duplicated = frame.duplicated(list(key), keep=False)
    if duplicated.any():
        sample = frame.loc[duplicated, list(key)].head(3).to_dict("records")
        raise PublishInputError(f"{what}: duplicate rows for key {list(key)}, e.g. {sample}")


def _lock_open_month(connection: sa.Connection, month: str, now: datetime) -> str | None:
    """Serialise publishers of the month, refuse a closed month, return its reopen reason."""
    if connection.dialect.name == "postgresql":
        lock_key = _PUBLISH_LOCK_BASE + Month.parse(month).index
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key)))
    table = schema.period_state
    row = connection.execute(
        sa.select(table.c.state, table.c.reopen_reason)
        .where(table.c.month == month)
        .with_for_update()
    ).first()
    if row is None:
        connection.execute(sa.insert(table).values(month=month, state="open", updated_at=now))
        return None
    if row.state == "closed":
        raise PeriodClosedError(month)
    reason: str | None = row.reopen_reason
    return reason


def _check_known(connection: sa.Connection, facts: pd.DataFrame, rollups: pd.DataFrame) -> None:
    """Ids the dimensions do not hold would break foreign keys with an unreadable error."""
    checks = [
        ("scored measures", "measure_id", facts["measure_id"], schema.dim_measure.c.measure_id),
        (
            "roll-ups (objective)",
            "node_id",
            rollups.loc[rollups["level"] == "objective", "node_id"],
            schema.dim_objective.c.objective_id,
        ),
        (
            "roll-ups (perspective)",
            "node_id",
            rollups.loc[rollups["level"] == "perspective", "node_id"],
            schema.dim_perspective.c.perspective_id,
        ),
    ]
    for what, column, ids, known_column in checks:
        known = set(connection.execute(sa.select(known_column)).scalars())
        unknown = sorted(set(ids.dropna()) - known)
        if unknown:
            raise PublishInputError(
                f"{what}: column {column!r} has id(s) not in the spec: {unknown[:10]}"
            )


def _replace_rows(
    connection: sa.Connection,
    table: sa.Table,
    key: Sequence[str],
    month: str,
    new: pd.DataFrame,
    run_id: str,
    now: datetime,
    scope: sa.ColumnElement[bool] | None = None,
) -> tuple[TableChange, pd.DataFrame]:
    """Make the month's rows of `table` (within `scope`, when given) equal `new`, touching only
    rows that differ.

    Returns the change counts and the rows written (new or changed), for history.
    """
    content = [c for c in new.columns if c not in key]
    where = table.c.as_of_month == month
    old = read_table(
        connection,
        sa.select(*(table.c[c] for c in new.columns)).where(
            where if scope is None else sa.and_(where, scope)
        ),
        table,
    )
    merged = old.merge(new, on=list(key), how="outer", suffixes=("_old", ""), indicator=True)
    both = merged["_merge"] == "both"
    differs = changed_mask(
        merged[[f"{c}_old" for c in content]].set_axis(content, axis=1), merged[content], content
    )
    stale = (merged["_merge"] == "left_only") | (both & differs)
    fresh = (merged["_merge"] == "right_only") | (both & differs)

    if stale.any():
        condition = sa.and_(*(table.c[c] == sa.bindparam(f"k_{c}") for c in key))
        keys = merged.loc[stale, list(key)].rename(columns={c: f"k_{c}" for c in key})
        connection.execute(sa.delete(table).where(condition), _plain(keys))
    written = merged.loc[fresh, [*key, *content]].reset_index(drop=True)
    if len(written):
        rows = written.assign(run_id=run_id, published_at=pd.Timestamp(now))
        connection.execute(sa.insert(table), records(rows, table))
    change = TableChange(int(fresh.sum()), int(stale.sum()), int((both & ~differs).sum()))
    return change, written


def _plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): (None if pd.isna(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _replace_measures(
    connection: sa.Connection,
    month: str,
    facts: pd.DataFrame,
    run_id: str,
    now: datetime,
    spec_ids: Collection[str],
) -> tuple[TableChange, pd.DataFrame]:
    """Rows of a retired measure (one no longer in the spec) are kept, never deleted."""
    table = schema.fact_measure_period
    in_spec = table.c.measure_id.in_(sorted(spec_ids))
    return _replace_rows(
        connection, table, schema.MEASURE_FACT_KEY, month, facts, run_id, now, in_spec
    )


def _replace_rollups(
    connection: sa.Connection, month: str, rollups: pd.DataFrame, run_id: str, now: datetime
) -> TableChange:
    """Each roll-up level goes to its own table, with `node_id` under that table's id column."""
    total = TableChange()
    for level, (table, node_column) in schema.ROLLUP_TABLES.items():
        frame = rollups[rollups["level"] == level].drop(columns="level")
        frame = frame.rename(columns={"node_id": node_column}).reset_index(drop=True)
        key = (node_column, "period_type", "period", "as_of_month")
        change, _ = _replace_rows(connection, table, key, month, frame, run_id, now)
        total += change
    return total


@dataclass(frozen=True)
class _ReasonContext:
    """What this publication knows about why values change (see `trust.reasons`)."""

    files: Sequence[Mapping[str, Any]]
    definitions: Mapping[str, MeasureDefinition]
    reopen_reason: str | None
    given_reason: str | None
    released_holds: frozenset[str]


def _append_history(
    connection: sa.Connection,
    written: pd.DataFrame,
    run_id: str,
    now: datetime,
    context: _ReasonContext,
) -> tuple[int, int]:
    """History rows for written facts whose value or status differs from the last one recorded,
    each with the reason it changed."""
    if written.empty:
        return 0, 0
    history = schema.measure_value_history
    key = list(schema.MEASURE_FACT_KEY)
    months = sorted(written["as_of_month"].unique())
    previous_columns = ("run_id", "definition_version")
    stored = read_table(
        connection,
        sa.select(
            history.c.history_id,
            *(history.c[c] for c in (*key, *HISTORY_COLUMNS, *previous_columns)),
        ).where(history.c.as_of_month.in_(months)),
        history,
    )
    latest = stored.sort_values("history_id").drop_duplicates(key, keep="last")
    latest = latest.rename(columns={c: f"{c}_last" for c in previous_columns})
    merged = written[[*key, *HISTORY_COLUMNS, "definition_version"]].merge(
        latest, on=key, how="left", suffixes=("", "_last"), indicator=True
    )
    first = merged["_merge"] == "left_only"
    differs = changed_mask(
        merged[list(_HISTORY_TRIGGERS)],
        merged[[f"{c}_last" for c in _HISTORY_TRIGGERS]].set_axis(list(_HISTORY_TRIGGERS), axis=1),
        _HISTORY_TRIGGERS,
    )
    restated = ~first & differs
    chosen = merged.loc[first | restated].reset_index(drop=True)
    if chosen.empty:
        return 0, 0
    reasons = _reasons(connection, chosen, context)
    rows = chosen[[*key, *HISTORY_COLUMNS, "definition_version"]].assign(
        reason=pd.Series([r.code for r in reasons], dtype="string"),
        restatement_reason=pd.Series([r.text for r in reasons], dtype="string"),
        reason_detail=pd.Series(
            [None if r.code == FIRST_PUBLICATION else jsonable(r.detail) for r in reasons],
            dtype=object,
        ),
        run_id=run_id,
        published_at=pd.Timestamp(now),
    )
    connection.execute(sa.insert(history), records(rows, history))
    return int(first.sum()), int(restated.sum())


def _reasons(
    connection: sa.Connection, chosen: pd.DataFrame, context: _ReasonContext
) -> list[ChangeReason]:
    """`change_reason` for each chosen history row; earlier runs' files are read once each."""
    runs = sorted(set(chosen["run_id_last"].dropna()))
    # Only a recorded run has a known file list; for any other, files cannot be compared.
    recorded = schema.pipeline_run
    known = connection.execute(sa.select(recorded.c.run_id).where(recorded.c.run_id.in_(runs)))
    earlier: dict[str, list[dict[str, Any]]] = {run: [] for run in known.scalars()}
    table = schema.pipeline_run_file
    if earlier:
        query = sa.select(table.c.run_id, table.c.dataset, table.c.file, table.c.sha256).where(
            table.c.run_id.in_(sorted(earlier))
        )
        for found in connection.execute(query):
            earlier[found.run_id].append(dict(found._mapping))
    current = [{k: str(f[k]) for k in ("dataset", "file", "sha256")} for f in context.files]
    reasons = []
    for row in chosen.to_dict("records"):
        definition = context.definitions.get(row["measure_id"])
        datasets = definition.datasets if definition is not None else ()
        previous = None
        if row["_merge"] == "both":
            previous = PreviousPublication(
                run_id=str(row["run_id_last"]),
                definition_version=_text(row["definition_version_last"]),
                data_state=str(row["data_state_last"]),
            )
        reasons.append(
            change_reason(
                previous=previous,
                definition_version=_text(row["definition_version"]),
                changed_files=file_changes(earlier[previous.run_id], current, datasets)
                if previous is not None and previous.run_id in earlier
                else [],
                reopen_reason=context.reopen_reason,
                datasets=datasets,
                released_holds=context.released_holds,
                given_reason=context.given_reason,
            )
        )
    return reasons


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _record_definitions(
    connection: sa.Connection,
    definitions: Mapping[str, MeasureDefinition],
    month: str,
    run_id: str,
    now: datetime,
) -> None:
    """Record each definition version the first time a value is published under it."""
    table = schema.measure_definition
    known = {
        (row.measure_id, row.definition_version)
        for row in connection.execute(sa.select(table.c.measure_id, table.c.definition_version))
    }
    fresh = [
        {
            "measure_id": d.measure_id,
            "definition_version": d.version,
            "spec_commit": d.spec_commit,
            "definition": d.definition,
            "formula": formula_text(d.definition),
            "first_as_of_month": month,
            "first_run_id": run_id,
            "first_published_at": now,
        }
        for d in definitions.values()
        if (d.measure_id, d.version) not in known
    ]
    if fresh:
        connection.execute(sa.insert(table), fresh)


def _upsert_run(
    connection: sa.Connection,
    run_id: str,
    month: str,
    started_at: datetime,
    finished_at: datetime,
    outcome: str,
) -> None:
    table = schema.pipeline_run
    exists = connection.execute(sa.select(table.c.run_id).where(table.c.run_id == run_id)).first()
    values = {"month": month, "finished_at": finished_at, "outcome": outcome}
    if exists:
        connection.execute(sa.update(table).where(table.c.run_id == run_id).values(**values))
    else:
        connection.execute(sa.insert(table).values(run_id=run_id, started_at=started_at, **values))


def _record_run(
    connection: sa.Connection,
    run_id: str,
    month: str,
    started_at: datetime,
    now: datetime,
    files: Sequence[Mapping[str, Any]],
) -> None:
    _upsert_run(connection, run_id, month, started_at, now, "published")
    table = schema.pipeline_run_file
    connection.execute(sa.delete(table).where(table.c.run_id == run_id))
    rows = []
    for item in files:
        missing = {"dataset", "file", "size", "sha256", "mtime"} - set(item)
        if missing:
            raise PublishInputError(f"files: entry {dict(item)} lacks {sorted(missing)}")
        rows.append(
            {
                "run_id": run_id,
                "dataset": str(item["dataset"]),
                "file": str(item["file"]),
                "size": int(item["size"]),
                "sha256": str(item["sha256"]),
                "mtime": _utc(item["mtime"]),
            }
        )
    if rows:
        connection.execute(sa.insert(table), rows)


def _utc(value: Any) -> datetime:
    """A file time as aware UTC: epoch seconds, ISO text or datetime (naive means UTC)."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def _record_rows(
    connection: sa.Connection,
    table: sa.Table,
    frame: pd.DataFrame | None,
    run_id: str,
    month: str,
) -> None:
    """Replace this run's rows of an operations table (gate results, quarantine) for the month."""
    connection.execute(sa.delete(table).where(table.c.run_id == run_id, table.c.month == month))
    if frame is None or frame.empty:
        return
    generated = {c.name for c in table.primary_key.columns}
    allowed = [c.name for c in table.columns if c.name not in generated]
    unknown = sorted(set(frame.columns) - set(allowed))
    if unknown:
        raise PublishInputError(
            f"{table.name}: unknown column(s) {unknown}; the table has {allowed}"
        )
    frame = frame.assign(run_id=run_id)
    if "month" not in frame.columns:
        frame = frame.assign(month=month)
    if "sample" in frame.columns:
        frame = frame.assign(sample=frame["sample"].map(_json_value))
    rows = canonical(frame, table, list(frame.columns), table.name)
    connection.execute(sa.insert(table), records(rows, table))


def _json_value(value: Any) -> Any:
    """JSON text is stored as the structure it encodes, not as a quoted string."""
    if isinstance(value, str):
        try:
            return jsonable(json.loads(value))
        except ValueError:
            return value
    return jsonable(value)


def _insert_alert_events(
    connection: sa.Connection,
    events: Sequence[Mapping[str, Any]],
    run_id: str,
    now: datetime,
) -> tuple[int, int]:
    """Insert outbox events; one whose `dedup_key` exists is skipped, never duplicated."""
    if not events:
        return 0, 0
    table = schema.alert_event
    allowed = {c.name for c in table.columns}
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        unknown = sorted(set(event) - allowed)
        if unknown or not event.get("dedup_key") or not event.get("kind"):
            raise PublishInputError(
                f"alert event {dict(event)}: needs 'dedup_key' and 'kind'"
                + (f"; unknown key(s) {unknown}" if unknown else "")
            )
        row = {
            "event_id": uuid.uuid4().hex,
            "created_at": now,
            "run_id": run_id,
            "state": "pending",
            "is_restatement": False,
            **event,
        }
        if row.get("payload") is not None:
            row["payload"] = _json_value(row["payload"])
        rows.setdefault(str(row["dedup_key"]), row)
    existing = set(
        connection.execute(
            sa.select(table.c.dedup_key).where(table.c.dedup_key.in_(list(rows)))
        ).scalars()
    )
    fresh = [row for key, row in rows.items() if key not in existing]
    if fresh:
        insert = (
            postgresql.insert(table)
            if connection.dialect.name == "postgresql"
            else sqlite.insert(table)
        )
        connection.execute(insert.on_conflict_do_nothing(index_elements=["dedup_key"]), fresh)
    return len(fresh), len(events) - len(fresh)
