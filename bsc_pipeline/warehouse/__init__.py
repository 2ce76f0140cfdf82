"""The published warehouse: schema, migrations, publishing a month, period close, views, export."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bsc_pipeline.lazy_exports import lazy_exports

if TYPE_CHECKING:
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

# Importing the package costs nothing: each name loads its module on first use, so the
# `bsc` command line mounts this package's commands without pandas, SQLAlchemy or GX.
_EXPORTS = {
    "make_engine": "engine",
    "upgrade_warehouse": "engine",
    "PeriodClosedError": "errors",
    "PeriodStateError": "errors",
    "PublishInputError": "errors",
    "WarehouseError": "errors",
    "export_scorecard": "export",
    "close_period": "period_close",
    "closed_months": "period_close",
    "period_state": "period_close",
    "reopen_period": "period_close",
    "reopen_reason": "period_close",
    "PublishOutcome": "publish",
    "publish_month": "publish",
    "read_monthly_history": "publish",
    "read_published": "publish",
    "record_run": "publish",
    "read_readings": "readings",
    "read_scorecard": "readings",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


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
