"""Owners' monthly updates: every version of commentary and manually reported values.

Adds `measure_update` (one row per version of a measure's analysis, recommendation and reported
value for a month, with who, when, file and sha256) and the views `v_measure_commentary` (the
latest version per measure and month) and `v_measure_commentary_history` (every version).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

VIEWS = {
    "v_measure_commentary_history": """
SELECT
    u.measure_id,
    m.name AS measure_name,
    m.owner_id,
    u.period,
    u.version,
    u.submitted_by,
    u.value,
    u.unit,
    u.analysis,
    u.recommendation,
    u.file,
    u.line,
    u.sha256,
    u.submitted_at,
    u.recorded_at,
    u.run_id,
    (SELECT MIN(n.recorded_at) FROM measure_update n
     WHERE n.measure_id = u.measure_id AND n.period = u.period AND n.version > u.version)
        AS superseded_at
FROM measure_update u
JOIN dim_measure m ON m.measure_id = u.measure_id
""",
    "v_measure_commentary": """
SELECT
    u.measure_id,
    m.name AS measure_name,
    m.owner_id,
    u.period,
    u.version,
    u.submitted_by,
    u.value,
    u.unit,
    u.analysis,
    u.recommendation,
    u.file,
    u.sha256,
    u.submitted_at,
    u.recorded_at
FROM measure_update u
JOIN dim_measure m ON m.measure_id = u.measure_id
WHERE u.version = (SELECT MAX(l.version) FROM measure_update l
                   WHERE l.measure_id = u.measure_id AND l.period = u.period)
""",
}


def upgrade() -> None:
    op.create_table(
        "measure_update",
        sa.Column("update_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("measure_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("analysis", sa.Text(), nullable=True),
        sa.Column("recommendation", sa.Text(), nullable=True),
        sa.Column("file", sa.String(length=1024), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["dim_measure.measure_id"],
            name=op.f("fk_measure_update_measure_id_dim_measure"),
        ),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_measure_update")),
        sa.UniqueConstraint(
            "measure_id", "period", "version", name=op.f("uq_measure_update_measure_id_period_version")
        ),
    )
    op.create_index(op.f("ix_measure_update_period"), "measure_update", ["period"], unique=False)
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    op.drop_index(op.f("ix_measure_update_period"), table_name="measure_update")
    op.drop_table("measure_update")
