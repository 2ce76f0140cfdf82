"""Definition versions: every published value names the definition it was computed under.

Adds `definition_version` to `fact_measure_period` and `measure_value_history` (NULL on rows
published before this revision: the version is unknown), `reason_detail` to the history, the
`measure_definition` table and the `v_measure_definition_history` view.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

VIEWS = {
    "v_measure_definition_history": """
SELECT
    d.measure_id,
    m.name AS measure_name,
    NOT m.in_spec AS retired,
    d.definition_version,
    (SELECT p.definition_version FROM measure_definition p
     WHERE p.measure_id = d.measure_id AND p.first_published_at < d.first_published_at
     ORDER BY p.first_published_at DESC LIMIT 1) AS previous_version,
    d.spec_commit,
    d.first_as_of_month,
    d.first_run_id,
    d.first_published_at,
    (SELECT MIN(n.first_published_at) FROM measure_definition n
     WHERE n.measure_id = d.measure_id AND n.first_published_at > d.first_published_at)
        AS superseded_at,
    d.formula,
    d.definition
FROM measure_definition d
JOIN dim_measure m ON m.measure_id = d.measure_id
""",
}


def upgrade() -> None:
    op.add_column(
        "fact_measure_period", sa.Column("definition_version", sa.String(length=64), nullable=True)
    )
    op.add_column(
        "measure_value_history",
        sa.Column("definition_version", sa.String(length=64), nullable=True),
    )
    op.add_column("measure_value_history", sa.Column("reason_detail", sa.JSON(), nullable=True))
    op.create_table(
        "measure_definition",
        sa.Column("measure_id", sa.String(length=64), nullable=False),
        sa.Column("definition_version", sa.String(length=64), nullable=False),
        sa.Column("spec_commit", sa.String(length=40), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("formula", sa.Text(), nullable=False),
        sa.Column("first_as_of_month", sa.String(length=7), nullable=False),
        sa.Column("first_run_id", sa.String(length=64), nullable=False),
        sa.Column("first_published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["dim_measure.measure_id"],
            name=op.f("fk_measure_definition_measure_id_dim_measure"),
        ),
        sa.PrimaryKeyConstraint(
            "measure_id", "definition_version", name=op.f("pk_measure_definition")
        ),
    )
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    op.drop_table("measure_definition")
    op.drop_column("measure_value_history", "reason_detail")
    op.drop_column("measure_value_history", "definition_version")
    op.drop_column("fact_measure_period", "definition_version")
