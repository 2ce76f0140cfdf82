"""`bsc period close|reopen|status` and `bsc export`: the warehouse from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bsc_pipeline.settings import Settings
from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
from bsc_pipeline.warehouse.errors import WarehouseError
from bsc_pipeline.warehouse.export import ExportFormat, export_scorecard
from bsc_pipeline.warehouse.period_close import close_period, period_state, reopen_period
from bsc_pipeline.warehouse.readings import ExportPeriodType

console = Console(stderr=True)

period_app = typer.Typer(help="Close a month to freeze its numbers, or reopen it to restate.")

UrlOption = Annotated[
    str | None,
    typer.Option("--warehouse-url", help="SQLAlchemy URL; default BSC_WAREHOUSE_URL or SQLite"),
]


def _url(url: str | None) -> str:
    return url or Settings.from_env().warehouse_url


def _fail(error: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {error}")
    return typer.Exit(code=1)


@period_app.command("close")
def close_command(
    month: Annotated[str, typer.Argument(help="YYYY-MM")], warehouse_url: UrlOption = None
) -> None:
    """Freeze a month: later runs do not overwrite it until it is reopened."""
    url = _url(warehouse_url)
    try:
        upgrade_warehouse(url)
        changed = close_period(make_engine(url), month)
    except (WarehouseError, ValueError) as error:
        raise _fail(error) from error
    console.print(f"{month} {'closed' if changed else 'was already closed'}")


@period_app.command("reopen")
def reopen_command(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    reason: Annotated[str, typer.Option("--reason", help="why the month is restated")],
    warehouse_url: UrlOption = None,
) -> None:
    """Reopen a closed month; the reason is recorded on every restated value."""
    url = _url(warehouse_url)
    try:
        upgrade_warehouse(url)
        reopen_period(make_engine(url), month, reason)
    except (WarehouseError, ValueError) as error:
        raise _fail(error) from error
    console.print(f"{month} reopened: {reason}")


@period_app.command("status")
def status_command(
    month: Annotated[str, typer.Argument(help="YYYY-MM")], warehouse_url: UrlOption = None
) -> None:
    """Print `open` or `closed`."""
    url = _url(warehouse_url)
    try:
        upgrade_warehouse(url)
        typer.echo(period_state(make_engine(url), month))
    except (WarehouseError, ValueError) as error:
        raise _fail(error) from error


def export_command(
    period: Annotated[
        str, typer.Option("--period", help="YYYY-MM, or a period label such as FY2025-Q1")
    ],
    format: Annotated[ExportFormat, typer.Option("--format", help="csv, parquet or xlsx")] = "csv",
    period_type: Annotated[
        ExportPeriodType,
        typer.Option("--period-type", help="month, quarter, fiscal_year, ytd or ttm"),
    ] = "month",
    out: Annotated[Path | None, typer.Option("--out", help="file to write")] = None,
    warehouse_url: UrlOption = None,
) -> None:
    """Export the published scorecard of a period for finance."""
    url = _url(warehouse_url)
    try:
        upgrade_warehouse(url)
        path, rows = export_scorecard(make_engine(url), period, format, period_type, out)
    except (WarehouseError, ValueError) as error:
        raise _fail(error) from error
    console.print(f"wrote {rows} rows to {path}")
