"""The published warehouse: schema, migrations, publishing a month, period close, views, export."""

from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
from bsc_pipeline.warehouse.errors import (
    PeriodClosedError,
    PeriodStateError,
    PublishInputError,
    WarehouseError,
)
from bsc_pipeline.warehouse.export import export_scorecard
from bsc_pipeline.warehouse.period_close import (
    close_period,
    closed_months,
    period_state,
    reopen_period,
    reopen_reason,
)
from bsc_pipeline.warehouse.publish import (
    PublishOutcome,
    publish_month,
    read_monthly_history,
    read_published,
    record_run,
)
from bsc_pipeline.warehouse.readings import read_readings, read_scorecard

__all__ = [
    "PeriodClosedError",
    "PeriodStateError",
    "PublishInputError",
    "PublishOutcome",
    "WarehouseError",
    "close_period",
    "closed_months",
    "export_scorecard",
    "make_engine",
    "period_state",
    "publish_month",
    "read_monthly_history",
    "read_published",
    "read_readings",
    "read_scorecard",
    "record_run",
    "reopen_period",
    "reopen_reason",
    "upgrade_warehouse",
]
