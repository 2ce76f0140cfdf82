"""Initial warehouse: every table of bsc_pipeline.warehouse.schema and the reporting views.

View SQL is frozen here (a later change to a view is a new revision) and runs unchanged on
SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 02:54:59.840811
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


_SCORED = """
FROM fact_measure_period f
JOIN dim_measure m ON m.measure_id = f.measure_id
JOIN dim_objective o ON o.objective_id = m.objective_id
JOIN dim_perspective p ON p.perspective_id = o.perspective_id
LEFT JOIN dim_owner ow ON ow.owner_id = m.owner_id
"""

_LATEST = """
f.as_of_month = (
    SELECT MAX(l.as_of_month) FROM fact_measure_period l
    WHERE l.measure_id = f.measure_id AND l.period_type = f.period_type AND l.period = f.period
)
"""

_DIMENSIONS = """
    p.perspective_id,
    p.name AS perspective,
    o.objective_id,
    o.name AS objective,
    f.measure_id,
    m.name AS measure_name,
    m.owner_id,
    ow.name AS owner,
    m.unit,
    m.direction,
"""

VIEWS = {
    "v_scorecard_monthly": f"""
SELECT
    f.period,
{_DIMENSIONS}
    f.value AS actual,
    f.target,
    f.target_high,
    f.variance,
    f.variance_pct,
    f.status,
    f.score,
    f.trend,
    f.prior_period_value AS prior_month_value,
    f.prior_year_value AS same_month_last_year,
    y.value AS ytd_actual,
    f.data_state,
    f.data_note,
    f.balance_flag,
    f.is_official,
    f.as_of_month,
    f.run_id,
    f.published_at
{_SCORED}
LEFT JOIN fact_measure_period y
    ON y.measure_id = f.measure_id AND y.period_type = 'ytd' AND y.as_of_month = f.period
WHERE f.period_type = 'month' AND {_LATEST}
""",
    "v_scorecard_period_as_of": f"""
SELECT
    f.period_type,
    f.period,
    f.period_start,
    f.period_end,
    f.as_of_month,
    f.is_partial,
{_DIMENSIONS}
    f.numerator,
    f.denominator,
    f.value AS actual,
    f.target,
    f.target_high,
    f.variance,
    f.variance_pct,
    f.status,
    f.score,
    f.trend,
    f.prior_period_value,
    f.prior_year_value,
    f.data_state,
    f.data_note,
    f.balance_flag,
    f.is_official,
    f.run_id,
    f.published_at
{_SCORED}
""",
    "v_scorecard_period": """
SELECT v.* FROM v_scorecard_period_as_of v
WHERE v.as_of_month = (
    SELECT MAX(l.as_of_month) FROM fact_measure_period l
    WHERE l.measure_id = v.measure_id AND l.period_type = v.period_type AND l.period = v.period
)
""",
    "v_measure_value_first_reported": """
SELECT h.measure_id, h.period_type, h.period, h.as_of_month, h.value, h.target, h.status,
    h.score, h.data_state, h.run_id, h.published_at
FROM measure_value_history h
WHERE h.history_id = (
    SELECT MIN(x.history_id) FROM measure_value_history x
    WHERE x.measure_id = h.measure_id AND x.period_type = h.period_type
        AND x.period = h.period AND x.as_of_month = h.as_of_month
)
""",
    "v_measure_value_restated": """
SELECT h.measure_id, h.period_type, h.period, h.as_of_month, h.value, h.target, h.status,
    h.score, h.data_state, h.reason, h.restatement_reason, h.run_id, h.published_at,
    (SELECT COUNT(*) - 1 FROM measure_value_history c
     WHERE c.measure_id = h.measure_id AND c.period_type = h.period_type
        AND c.period = h.period AND c.as_of_month = h.as_of_month) AS restatements
FROM measure_value_history h
WHERE h.history_id = (
    SELECT MAX(x.history_id) FROM measure_value_history x
    WHERE x.measure_id = h.measure_id AND x.period_type = h.period_type
        AND x.period = h.period AND x.as_of_month = h.as_of_month
)
""",
}
"""Views in dependency order: `v_scorecard_period` reads `v_scorecard_period_as_of`."""


def upgrade() -> None:
    op.create_table('alert_event',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('dedup_key', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('measure_id', sa.String(length=64), nullable=True),
    sa.Column('period', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('previous_status', sa.String(length=16), nullable=True),
    sa.Column('recipient_owner_id', sa.String(length=64), nullable=True),
    sa.Column('is_restatement', sa.Boolean(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_alert_event')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_alert_event_dedup_key'))
    )
    op.create_index(op.f('ix_alert_event_state'), 'alert_event', ['state'], unique=False)
    op.create_table('dim_owner',
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('in_spec', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('owner_id', name=op.f('pk_dim_owner'))
    )
    op.create_table('dim_perspective',
    sa.Column('perspective_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('weight', sa.Double(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('in_spec', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('perspective_id', name=op.f('pk_dim_perspective'))
    )
    op.create_table('dq_result',
    sa.Column('dq_result_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('dataset', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('expectation', sa.String(length=200), nullable=False),
    sa.Column('column', sa.String(length=200), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('element_count', sa.BigInteger(), nullable=True),
    sa.Column('unexpected_count', sa.BigInteger(), nullable=True),
    sa.Column('sample', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('dq_result_id', name=op.f('pk_dq_result'))
    )
    op.create_index(op.f('ix_dq_result_dataset_month'), 'dq_result', ['dataset', 'month'], unique=False)
    op.create_index(op.f('ix_dq_result_run_id'), 'dq_result', ['run_id'], unique=False)
    op.create_table('fact_scorecard_period',
    sa.Column('scorecard_id', sa.String(length=64), nullable=False),
    sa.Column('period_type', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('as_of_month', sa.String(length=7), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('data_confidence', sa.Double(), nullable=True),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.Column('children_with_data', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scorecard_id', 'period_type', 'period', 'as_of_month', name=op.f('pk_fact_scorecard_period'))
    )
    op.create_index(op.f('ix_fact_scorecard_period_as_of_month'), 'fact_scorecard_period', ['as_of_month'], unique=False)
    op.create_table('period_state',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopen_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_period_state'))
    )
    op.create_table('pipeline_run',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_pipeline_run'))
    )
    op.create_index(op.f('ix_pipeline_run_month'), 'pipeline_run', ['month'], unique=False)
    op.create_table('quarantine_row',
    sa.Column('quarantine_row_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('dataset', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('file', sa.String(length=1024), nullable=True),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('quarantine_row_id', name=op.f('pk_quarantine_row'))
    )
    op.create_index(op.f('ix_quarantine_row_dataset_month'), 'quarantine_row', ['dataset', 'month'], unique=False)
    op.create_index(op.f('ix_quarantine_row_run_id'), 'quarantine_row', ['run_id'], unique=False)
    op.create_table('alert_delivery',
    sa.Column('delivery_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=500), nullable=True),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['alert_event.event_id'], name=op.f('fk_alert_delivery_event_id_alert_event')),
    sa.PrimaryKeyConstraint('delivery_id', name=op.f('pk_alert_delivery'))
    )
    op.create_index(op.f('ix_alert_delivery_event_id'), 'alert_delivery', ['event_id'], unique=False)
    op.create_table('dim_objective',
    sa.Column('objective_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('perspective_id', sa.String(length=64), nullable=False),
    sa.Column('weight', sa.Double(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('in_spec', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['perspective_id'], ['dim_perspective.perspective_id'], name=op.f('fk_dim_objective_perspective_id_dim_perspective')),
    sa.PrimaryKeyConstraint('objective_id', name=op.f('pk_dim_objective'))
    )
    op.create_table('fact_perspective_period',
    sa.Column('perspective_id', sa.String(length=64), nullable=False),
    sa.Column('period_type', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('as_of_month', sa.String(length=7), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('data_confidence', sa.Double(), nullable=True),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.Column('children_with_data', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['perspective_id'], ['dim_perspective.perspective_id'], name=op.f('fk_fact_perspective_period_perspective_id_dim_perspective')),
    sa.PrimaryKeyConstraint('perspective_id', 'period_type', 'period', 'as_of_month', name=op.f('pk_fact_perspective_period'))
    )
    op.create_index(op.f('ix_fact_perspective_period_as_of_month'), 'fact_perspective_period', ['as_of_month'], unique=False)
    op.create_table('pipeline_run_file',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('dataset', sa.String(length=64), nullable=False),
    sa.Column('file', sa.String(length=1024), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mtime', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['pipeline_run.run_id'], name=op.f('fk_pipeline_run_file_run_id_pipeline_run')),
    sa.PrimaryKeyConstraint('run_id', 'dataset', 'file', name=op.f('pk_pipeline_run_file'))
    )
    op.create_table('dim_initiative',
    sa.Column('initiative_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.Column('objective_id', sa.String(length=64), nullable=False),
    sa.Column('budget', sa.Double(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('in_spec', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['objective_id'], ['dim_objective.objective_id'], name=op.f('fk_dim_initiative_objective_id_dim_objective')),
    sa.ForeignKeyConstraint(['owner_id'], ['dim_owner.owner_id'], name=op.f('fk_dim_initiative_owner_id_dim_owner')),
    sa.PrimaryKeyConstraint('initiative_id', name=op.f('pk_dim_initiative'))
    )
    op.create_table('dim_measure',
    sa.Column('measure_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('objective_id', sa.String(length=64), nullable=True),
    sa.Column('owner_id', sa.String(length=64), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('lead_lag', sa.String(length=8), nullable=False),
    sa.Column('review', sa.String(length=16), nullable=False),
    sa.Column('weight', sa.Double(), nullable=False),
    sa.Column('decimals', sa.Integer(), nullable=False),
    sa.Column('in_spec', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['objective_id'], ['dim_objective.objective_id'], name=op.f('fk_dim_measure_objective_id_dim_objective')),
    sa.ForeignKeyConstraint(['owner_id'], ['dim_owner.owner_id'], name=op.f('fk_dim_measure_owner_id_dim_owner')),
    sa.PrimaryKeyConstraint('measure_id', name=op.f('pk_dim_measure'))
    )
    op.create_table('fact_objective_period',
    sa.Column('objective_id', sa.String(length=64), nullable=False),
    sa.Column('period_type', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('as_of_month', sa.String(length=7), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('data_confidence', sa.Double(), nullable=True),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.Column('children_with_data', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['objective_id'], ['dim_objective.objective_id'], name=op.f('fk_fact_objective_period_objective_id_dim_objective')),
    sa.PrimaryKeyConstraint('objective_id', 'period_type', 'period', 'as_of_month', name=op.f('pk_fact_objective_period'))
    )
    op.create_index(op.f('ix_fact_objective_period_as_of_month'), 'fact_objective_period', ['as_of_month'], unique=False)
    op.create_table('fact_measure_period',
    sa.Column('measure_id', sa.String(length=64), nullable=False),
    sa.Column('period_type', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('as_of_month', sa.String(length=7), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('is_partial', sa.Boolean(), nullable=False),
    sa.Column('numerator', sa.Double(), nullable=True),
    sa.Column('denominator', sa.Double(), nullable=True),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('target', sa.Double(), nullable=True),
    sa.Column('target_high', sa.Double(), nullable=True),
    sa.Column('green_bound', sa.Double(), nullable=True),
    sa.Column('amber_bound', sa.Double(), nullable=True),
    sa.Column('threshold_basis', sa.String(length=16), nullable=True),
    sa.Column('prior_period_value', sa.Double(), nullable=True),
    sa.Column('prior_year_value', sa.Double(), nullable=True),
    sa.Column('data_state', sa.String(length=16), nullable=False),
    sa.Column('data_note', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('variance', sa.Double(), nullable=True),
    sa.Column('variance_pct', sa.Double(), nullable=True),
    sa.Column('trend', sa.String(length=8), nullable=True),
    sa.Column('balance_flag', sa.Text(), nullable=True),
    sa.Column('is_official', sa.Boolean(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['dim_measure.measure_id'], name=op.f('fk_fact_measure_period_measure_id_dim_measure')),
    sa.PrimaryKeyConstraint('measure_id', 'period_type', 'period', 'as_of_month', name=op.f('pk_fact_measure_period'))
    )
    op.create_index(op.f('ix_fact_measure_period_as_of_month'), 'fact_measure_period', ['as_of_month'], unique=False)
    op.create_index(op.f('ix_fact_measure_period_period_type_period'), 'fact_measure_period', ['period_type', 'period'], unique=False)
    op.create_table('measure_value_history',
    sa.Column('history_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('measure_id', sa.String(length=64), nullable=False),
    sa.Column('period_type', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('as_of_month', sa.String(length=7), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('target', sa.Double(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('data_state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('restatement_reason', sa.Text(), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['dim_measure.measure_id'], name=op.f('fk_measure_value_history_measure_id_dim_measure')),
    sa.PrimaryKeyConstraint('history_id', name=op.f('pk_measure_value_history'))
    )
    op.create_index(op.f('ix_measure_value_history_as_of_month'), 'measure_value_history', ['as_of_month'], unique=False)
    op.create_index('ix_measure_value_history_key', 'measure_value_history', ['measure_id', 'period_type', 'period', 'as_of_month'], unique=False)
    op.create_table('strategy_link',
    sa.Column('driver_measure_id', sa.String(length=64), nullable=False),
    sa.Column('outcome_measure_id', sa.String(length=64), nullable=False),
    sa.Column('lag_months', sa.Integer(), nullable=False),
    sa.Column('expected_sign', sa.String(length=8), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['driver_measure_id'], ['dim_measure.measure_id'], name=op.f('fk_strategy_link_driver_measure_id_dim_measure')),
    sa.ForeignKeyConstraint(['outcome_measure_id'], ['dim_measure.measure_id'], name=op.f('fk_strategy_link_outcome_measure_id_dim_measure')),
    sa.PrimaryKeyConstraint('driver_measure_id', 'outcome_measure_id', name=op.f('pk_strategy_link'))
    )
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    op.drop_table('strategy_link')
    op.drop_index('ix_measure_value_history_key', table_name='measure_value_history')
    op.drop_index(op.f('ix_measure_value_history_as_of_month'), table_name='measure_value_history')
    op.drop_table('measure_value_history')
    op.drop_index(op.f('ix_fact_measure_period_period_type_period'), table_name='fact_measure_period')
    op.drop_index(op.f('ix_fact_measure_period_as_of_month'), table_name='fact_measure_period')
    op.drop_table('fact_measure_period')
    op.drop_index(op.f('ix_fact_objective_period_as_of_month'), table_name='fact_objective_period')
    op.drop_table('fact_objective_period')
    op.drop_table('dim_measure')
    op.drop_table('dim_initiative')
    op.drop_table('pipeline_run_file')
    op.drop_index(op.f('ix_fact_perspective_period_as_of_month'), table_name='fact_perspective_period')
    op.drop_table('fact_perspective_period')
    op.drop_table('dim_objective')
    op.drop_index(op.f('ix_alert_delivery_event_id'), table_name='alert_delivery')
    op.drop_table('alert_delivery')
    op.drop_index(op.f('ix_quarantine_row_run_id'), table_name='quarantine_row')
    op.drop_index(op.f('ix_quarantine_row_dataset_month'), table_name='quarantine_row')
    op.drop_table('quarantine_row')
    op.drop_index(op.f('ix_pipeline_run_month'), table_name='pipeline_run')
    op.drop_table('pipeline_run')
    op.drop_table('period_state')
    op.drop_index(op.f('ix_fact_scorecard_period_as_of_month'), table_name='fact_scorecard_period')
    op.drop_table('fact_scorecard_period')
    op.drop_index(op.f('ix_dq_result_run_id'), table_name='dq_result')
    op.drop_index(op.f('ix_dq_result_dataset_month'), table_name='dq_result')
    op.drop_table('dq_result')
    op.drop_table('dim_perspective')
    op.drop_table('dim_owner')
    op.drop_index(op.f('ix_alert_event_state'), table_name='alert_event')
    op.drop_table('alert_event')
