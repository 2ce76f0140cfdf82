"""Roll-up view: objective, perspective and scorecard scores with their data confidence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 03:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_LEVELS = """
SELECT 'objective' AS level, r.objective_id AS node_id, o.name AS node_name,
    o.perspective_id AS parent_id, r.period_type, r.period, r.as_of_month, r.score, r.status,
    r.data_confidence, r.children, r.children_with_data, r.run_id, r.published_at
FROM fact_objective_period r
JOIN dim_objective o ON o.objective_id = r.objective_id
UNION ALL
SELECT 'perspective', r.perspective_id, p.name, NULL, r.period_type, r.period, r.as_of_month,
    r.score, r.status, r.data_confidence, r.children, r.children_with_data, r.run_id,
    r.published_at
FROM fact_perspective_period r
JOIN dim_perspective p ON p.perspective_id = r.perspective_id
UNION ALL
SELECT 'scorecard', r.scorecard_id, NULL, NULL, r.period_type, r.period, r.as_of_month,
    r.score, r.status, r.data_confidence, r.children, r.children_with_data, r.run_id,
    r.published_at
FROM fact_scorecard_period r
"""

VIEWS = {
    "v_rollup_period_as_of": _LEVELS,
    "v_rollup_period": """
SELECT v.* FROM v_rollup_period_as_of v
WHERE v.as_of_month = (
    SELECT MAX(l.as_of_month) FROM v_rollup_period_as_of l
    WHERE l.level = v.level AND l.node_id = v.node_id
        AND l.period_type = v.period_type AND l.period = v.period
)
""",
}
"""Views in dependency order: `v_rollup_period` reads `v_rollup_period_as_of`."""


def upgrade() -> None:
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
