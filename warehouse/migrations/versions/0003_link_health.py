"""Link health: the lagged correlation of each strategy-map link, and the strategy map view.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Depth is capped at the number of links: a loop in the map (the spec only warns) still ends.
_CHAIN = """
WITH RECURSIVE chain(driver_measure_id, outcome_measure_id, depth) AS (
    SELECT driver_measure_id, outcome_measure_id, 1 FROM strategy_link
    UNION ALL
    SELECT s.driver_measure_id, s.outcome_measure_id, c.depth + 1
    FROM strategy_link s
    JOIN chain c ON s.driver_measure_id = c.outcome_measure_id
    WHERE c.depth < (SELECT COUNT(*) FROM strategy_link)
)
"""

VIEWS = {
    "v_strategy_map_health_as_of": f"""
{_CHAIN}
SELECT
    h.driver,
    COALESCE(dm.name, dobj.name) AS driver_name,
    h.outcome,
    COALESCE(om.name, oobj.name) AS outcome_name,
    h.lag_months,
    p.chain_position,
    h.as_of_month,
    h.expected_sign,
    h.n,
    h.correlation,
    h.holds,
    h.note,
    h.run_id,
    h.published_at
FROM fact_link_health h
LEFT JOIN dim_measure dm ON dm.measure_id = h.driver
LEFT JOIN dim_objective dobj ON dobj.objective_id = h.driver
LEFT JOIN dim_measure om ON om.measure_id = h.outcome
LEFT JOIN dim_objective oobj ON oobj.objective_id = h.outcome
LEFT JOIN (
    SELECT driver_measure_id, outcome_measure_id, MAX(depth) AS chain_position
    FROM chain GROUP BY driver_measure_id, outcome_measure_id
) p ON p.driver_measure_id = h.driver AND p.outcome_measure_id = h.outcome
""",
    "v_strategy_map_health": """
SELECT v.* FROM v_strategy_map_health_as_of v
WHERE v.as_of_month = (
    SELECT MAX(l.as_of_month) FROM fact_link_health l
    WHERE l.driver = v.driver AND l.outcome = v.outcome
)
""",
}
"""Views in dependency order: `v_strategy_map_health` reads `v_strategy_map_health_as_of`."""


def upgrade() -> None:
    op.create_table(
        "fact_link_health",
        sa.Column("driver", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("as_of_month", sa.String(length=7), nullable=False),
        sa.Column("lag_months", sa.Integer(), nullable=False),
        sa.Column("expected_sign", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("correlation", sa.Double(), nullable=True),
        sa.Column("holds", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "driver", "outcome", "as_of_month", name=op.f("pk_fact_link_health")
        ),
    )
    op.create_index(
        op.f("ix_fact_link_health_as_of_month"), "fact_link_health", ["as_of_month"], unique=False
    )
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    op.drop_index(op.f("ix_fact_link_health_as_of_month"), table_name="fact_link_health")
    op.drop_table("fact_link_health")
