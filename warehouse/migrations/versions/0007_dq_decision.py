"""Decisions on held dataset-months: `bsc dq accept` and `bsc dq reject`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dq_decision",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_by_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_dq_decision")),
    )
    op.create_index(
        op.f("ix_dq_decision_dataset_month"), "dq_decision", ["dataset", "month"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dq_decision_dataset_month"), table_name="dq_decision")
    op.drop_table("dq_decision")
