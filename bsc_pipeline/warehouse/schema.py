"""The published warehouse, defined once: every table Alembic creates and publishing writes.

Migrations under `warehouse/migrations` must produce exactly this metadata (a test compares them).
Timestamps are timezone-aware UTC; dates are half-open `[start, end)` period bounds; a missing
number is NULL, never 0.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from bsc_pipeline.frames import SCORED_MEASURE_COLUMNS

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    SQLite has no time zones, so naive values would silently mean local time; this type refuses
    naive input and attaches UTC on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id(name: str, **kw: Any) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), **kw)


def _month(name: str = "month", **kw: Any) -> sa.Column[str]:
    """A `YYYY-MM` month: text sorts correctly and is what partitions are named by."""
    return sa.Column(name, sa.String(7), **kw)


def _num(name: str) -> sa.Column[float]:
    return sa.Column(name, sa.Double(), nullable=True)


def _version() -> sa.Column[str]:
    """The measure's definition version (`bsc_pipeline.trust.definitions`); NULL: unknown."""
    return sa.Column("definition_version", sa.String(64))


def _published() -> list[sa.Column[Any]]:
    return [
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
    ]


dim_owner = sa.Table(
    "dim_owner",
    metadata,
    _id("owner_id", primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320)),
    sa.Column("in_spec", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

dim_perspective = sa.Table(
    "dim_perspective",
    metadata,
    _id("perspective_id", primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("weight", sa.Double(), nullable=False),
    sa.Column("sort_order", sa.Integer(), nullable=False),
    sa.Column("in_spec", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

dim_objective = sa.Table(
    "dim_objective",
    metadata,
    _id("objective_id", primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    _id("perspective_id", nullable=False),
    sa.Column("weight", sa.Double(), nullable=False),
    sa.Column("description", sa.Text()),
    sa.Column("in_spec", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["perspective_id"], ["dim_perspective.perspective_id"]),
)

dim_measure = sa.Table(
    "dim_measure",
    metadata,
    _id("measure_id", primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text()),
    sa.Column("kind", sa.String(16), nullable=False),
    _id("objective_id"),
    _id("owner_id"),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("lead_lag", sa.String(8), nullable=False),
    sa.Column("review", sa.String(16), nullable=False),
    sa.Column("weight", sa.Double(), nullable=False),
    sa.Column("decimals", sa.Integer(), nullable=False),
    sa.Column("in_spec", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["objective_id"], ["dim_objective.objective_id"]),
    sa.ForeignKeyConstraint(["owner_id"], ["dim_owner.owner_id"]),
)

strategy_link = sa.Table(
    "strategy_link",
    metadata,
    _id("driver_measure_id", primary_key=True),
    _id("outcome_measure_id", primary_key=True),
    sa.Column("lag_months", sa.Integer(), nullable=False),
    sa.Column("expected_sign", sa.String(8)),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["driver_measure_id"], ["dim_measure.measure_id"]),
    sa.ForeignKeyConstraint(["outcome_measure_id"], ["dim_measure.measure_id"]),
)

dim_initiative = sa.Table(
    "dim_initiative",
    metadata,
    _id("initiative_id", primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    _id("owner_id", nullable=False),
    _id("objective_id", nullable=False),
    sa.Column("budget", sa.Double()),
    sa.Column("start_date", sa.Date()),
    sa.Column("end_date", sa.Date()),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("in_spec", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["owner_id"], ["dim_owner.owner_id"]),
    sa.ForeignKeyConstraint(["objective_id"], ["dim_objective.objective_id"]),
)

MEASURE_FACT_COLUMNS = SCORED_MEASURE_COLUMNS
"""The "Scored measures" frame of docs/architecture.md, in order: what publishing stores."""

MEASURE_FACT_KEY: tuple[str, ...] = ("measure_id", "period_type", "period", "as_of_month")

fact_measure_period = sa.Table(
    "fact_measure_period",
    metadata,
    _id("measure_id", primary_key=True),
    sa.Column("period_type", sa.String(16), primary_key=True),
    sa.Column("period", sa.String(32), primary_key=True),
    _month("as_of_month", primary_key=True),
    sa.Column("period_start", sa.Date(), nullable=False),
    sa.Column("period_end", sa.Date(), nullable=False),
    sa.Column("is_partial", sa.Boolean(), nullable=False),
    _num("numerator"),
    _num("denominator"),
    _num("value"),
    _num("target"),
    _num("target_high"),
    _num("green_bound"),
    _num("amber_bound"),
    sa.Column("threshold_basis", sa.String(16)),
    _num("prior_period_value"),
    _num("prior_year_value"),
    sa.Column("data_state", sa.String(16), nullable=False),
    sa.Column("data_note", sa.Text()),
    sa.Column("status", sa.String(16), nullable=False),
    _num("score"),
    _num("variance"),
    _num("variance_pct"),
    sa.Column("trend", sa.String(8)),
    sa.Column("balance_flag", sa.Text()),
    sa.Column("is_official", sa.Boolean(), nullable=False),
    _version(),
    *_published(),
    sa.ForeignKeyConstraint(["measure_id"], ["dim_measure.measure_id"]),
    sa.Index(None, "as_of_month"),
    sa.Index(None, "period_type", "period"),
)

ROLLUP_FACT_COLUMNS: tuple[str, ...] = (
    "period_type",
    "period",
    "as_of_month",
    "score",
    "status",
    "data_confidence",
    "children",
    "children_with_data",
)
"""The "Roll-ups" frame of docs/architecture.md without `level`/`node_id` (the table says it)."""


def _rollup_table(name: str, node_column: str, dim: str | None) -> sa.Table:
    foreign_keys = [sa.ForeignKeyConstraint([node_column], [dim])] if dim else []
    return sa.Table(
        name,
        metadata,
        _id(node_column, primary_key=True),
        sa.Column("period_type", sa.String(16), primary_key=True),
        sa.Column("period", sa.String(32), primary_key=True),
        _month("as_of_month", primary_key=True),
        _num("score"),
        sa.Column("status", sa.String(16), nullable=False),
        _num("data_confidence"),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.Column("children_with_data", sa.Integer(), nullable=False),
        *_published(),
        *foreign_keys,
        sa.Index(None, "as_of_month"),
    )


fact_objective_period = _rollup_table(
    "fact_objective_period", "objective_id", "dim_objective.objective_id"
)
fact_perspective_period = _rollup_table(
    "fact_perspective_period", "perspective_id", "dim_perspective.perspective_id"
)
fact_scorecard_period = _rollup_table("fact_scorecard_period", "scorecard_id", None)

ROLLUP_TABLES: dict[str, tuple[sa.Table, str]] = {
    "objective": (fact_objective_period, "objective_id"),
    "perspective": (fact_perspective_period, "perspective_id"),
    "scorecard": (fact_scorecard_period, "scorecard_id"),
}
"""Roll-up `level` → (table, column that holds `node_id`)."""

LINK_HEALTH_COLUMNS: tuple[str, ...] = (
    "driver",
    "outcome",
    "lag_months",
    "as_of_month",
    "expected_sign",
    "n",
    "correlation",
    "holds",
    "note",
)
"""`bsc_pipeline.scoring.link_health` output plus `as_of_month`: what publishing stores."""

LINK_HEALTH_KEY: tuple[str, ...] = ("driver", "outcome", "as_of_month")

# No foreign keys: a link may name an objective, and a link dropped from the spec keeps its
# past health rows.
fact_link_health = sa.Table(
    "fact_link_health",
    metadata,
    _id("driver", primary_key=True),
    _id("outcome", primary_key=True),
    _month("as_of_month", primary_key=True),
    sa.Column("lag_months", sa.Integer(), nullable=False),
    sa.Column("expected_sign", sa.Integer()),
    sa.Column("n", sa.Integer(), nullable=False),
    _num("correlation"),
    sa.Column("holds", sa.Boolean()),
    sa.Column("note", sa.Text()),
    *_published(),
    sa.Index(None, "as_of_month"),
)

measure_value_history = sa.Table(
    "measure_value_history",
    metadata,
    sa.Column("history_id", sa.Integer(), primary_key=True, autoincrement=True),
    _id("measure_id", nullable=False),
    sa.Column("period_type", sa.String(16), nullable=False),
    sa.Column("period", sa.String(32), nullable=False),
    _month("as_of_month", nullable=False),
    _num("value"),
    _num("target"),
    sa.Column("status", sa.String(16), nullable=False),
    _num("score"),
    sa.Column("data_state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("restatement_reason", sa.Text()),
    _version(),
    sa.Column("reason_detail", sa.JSON()),
    *_published(),
    sa.ForeignKeyConstraint(["measure_id"], ["dim_measure.measure_id"]),
    sa.Index("ix_measure_value_history_key", "measure_id", "period_type", "period", "as_of_month"),
    sa.Index(None, "as_of_month"),
)

# One row per measure and definition version, written the first time a value is published
# under it; never deleted, so a retired measure's definitions stay readable.
measure_definition = sa.Table(
    "measure_definition",
    metadata,
    _id("measure_id", primary_key=True),
    sa.Column("definition_version", sa.String(64), primary_key=True),
    sa.Column("spec_commit", sa.String(40)),
    sa.Column("definition", sa.JSON(), nullable=False),
    sa.Column("formula", sa.Text(), nullable=False),
    _month("first_as_of_month", nullable=False),
    sa.Column("first_run_id", sa.String(64), nullable=False),
    sa.Column("first_published_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["measure_id"], ["dim_measure.measure_id"]),
)

pipeline_run = sa.Table(
    "pipeline_run",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    _month("month", nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime()),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text()),
    sa.Column("error", sa.Text()),
    sa.Index(None, "month"),
)

pipeline_run_file = sa.Table(
    "pipeline_run_file",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("dataset", sa.String(64), primary_key=True),
    sa.Column("file", sa.String(1024), primary_key=True),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("mtime", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["run_id"], ["pipeline_run.run_id"]),
)

period_state = sa.Table(
    "period_state",
    metadata,
    _month("month", primary_key=True),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("closed_at", UtcDateTime()),
    sa.Column("reopened_at", UtcDateTime()),
    sa.Column("reopen_reason", sa.Text()),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

dq_result = sa.Table(
    "dq_result",
    metadata,
    sa.Column("dq_result_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("dataset", sa.String(64), nullable=False),
    _month("month", nullable=False),
    sa.Column("expectation", sa.String(200), nullable=False),
    sa.Column("column", sa.String(200)),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("passed", sa.Boolean(), nullable=False),
    sa.Column("element_count", sa.BigInteger()),
    sa.Column("unexpected_count", sa.BigInteger()),
    sa.Column("sample", sa.JSON()),
    sa.Index(None, "run_id"),
    sa.Index(None, "dataset", "month"),
)

dq_decision = sa.Table(
    "dq_decision",
    metadata,
    sa.Column("decision_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(64), nullable=False),
    _month("month", nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("decided_by", sa.String(200), nullable=False),
    sa.Column("decided_at", UtcDateTime(), nullable=False),
    sa.Column("consumed_by_run_id", sa.String(64)),
    sa.Index(None, "dataset", "month"),
)
"""A person's decision on a dataset-month's gate: `accept` releases a hold, `reject` keeps it."""

quarantine_row = sa.Table(
    "quarantine_row",
    metadata,
    sa.Column("quarantine_row_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("dataset", sa.String(64), nullable=False),
    _month("month", nullable=False),
    sa.Column("file", sa.String(1024)),
    sa.Column("line", sa.Integer()),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("raw", sa.Text()),
    sa.Index(None, "run_id"),
    sa.Index(None, "dataset", "month"),
)

alert_event = sa.Table(
    "alert_event",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("dedup_key", sa.String(255), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),
    _id("measure_id"),
    sa.Column("period", sa.String(32)),
    sa.Column("status", sa.String(16)),
    sa.Column("previous_status", sa.String(16)),
    _id("recipient_owner_id"),
    sa.Column("is_restatement", sa.Boolean(), nullable=False),
    sa.Column("payload", sa.JSON()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime()),
    sa.Column("last_error", sa.Text()),
    sa.Column("queued_at", UtcDateTime()),
    sa.Column("dead_at", UtcDateTime()),
    sa.Index(None, "state"),
)

alert_delivery = sa.Table(
    "alert_delivery",
    metadata,
    sa.Column("delivery_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("target", sa.String(500)),
    sa.Column("attempted_at", UtcDateTime(), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text()),
    sa.ForeignKeyConstraint(["event_id"], ["alert_event.event_id"]),
    sa.Index(None, "event_id"),
)

delivery_lease = sa.Table(
    "delivery_lease",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("acquired_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
)

# Owners' monthly updates: one row per version of a measure's commentary and reported value for
# a month, never updated or deleted (views pick the latest).
measure_update = sa.Table(
    "measure_update",
    metadata,
    sa.Column("update_id", sa.Integer(), primary_key=True, autoincrement=True),
    _id("measure_id", nullable=False),
    _month("period", nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    _id("submitted_by"),
    _num("value"),
    sa.Column("unit", sa.String(64)),
    sa.Column("analysis", sa.Text()),
    sa.Column("recommendation", sa.Text()),
    sa.Column("file", sa.String(1024), nullable=False),
    sa.Column("line", sa.Integer()),
    sa.Column("sha256", sa.String(64)),
    sa.Column("submitted_at", UtcDateTime()),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.ForeignKeyConstraint(["measure_id"], ["dim_measure.measure_id"]),
    sa.UniqueConstraint("measure_id", "period", "version"),
    sa.Index(None, "period"),
)
