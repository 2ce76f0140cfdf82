"""`bsc period`, `bsc export` and `bsc warehouse roles`: the warehouse from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bsc_pipeline.cli_options import WarehouseUrlOption, resolve_warehouse_url
from bsc_pipeline.warehouse.choices import (
    DEFAULT_OPERATOR,
    DEFAULT_READER,
    DEFAULT_WRITER,
    ExportFormat,
    ExportPeriodType,
)

console = Console(stderr=True)

period_app = typer.Typer(
    help="Close a month to freeze its numbers, or reopen it to restate.", no_args_is_help=True
)

PeriodOption = Annotated[str | None, typer.Option("--period", "-p", help="Month, YYYY-MM.")]
OldPositional = Annotated[
    str | None,
    typer.Argument(
        hidden=True, metavar="MONTH", help="old spelling of --period", show_default=False
    ),
]


def _month(period: str | None, positional: str | None) -> str:
    """`--period`, or the positional month older scripts pass (still accepted, not shown)."""
    if period and positional and period != positional:
        raise typer.BadParameter(f"two months given: {positional} and --period {period}")
    month = period or positional
    if not month:
        raise typer.BadParameter("give the month as --period YYYY-MM", param_hint="--period")
    return month


def _fail(error: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {error}", soft_wrap=True)
    return typer.Exit(code=1)


@period_app.command("close")
def close_command(
    month_arg: OldPositional = None,
    period: PeriodOption = None,
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Freeze a month: later runs do not overwrite it until it is reopened."""
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
    from bsc_pipeline.warehouse.errors import WarehouseError
    from bsc_pipeline.warehouse.period_close import close_period

    month = _month(period, month_arg)
    url = resolve_warehouse_url(warehouse_url)
    try:
        upgrade_warehouse(url)
        changed = close_period(make_engine(url), month)
    except (WarehouseError, ValueError) as error:
        raise _fail(error) from error
    console.print(f"{month} {'closed' if changed else 'was already closed'}")


@period_app.command("reopen")
def reopen_command(
    reason: Annotated[str, typer.Option("--reason", help="why the month is restated")],
    month_arg: OldPositional = None,
    period: PeriodOption = None,
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Reopen a closed month; the reason is recorded on every restated value."""
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
    from bsc_pipeline.warehouse.errors import WarehouseError
    from bsc_pipeline.warehouse.period_close import reopen_period

    month = _month(period, month_arg)
    url = resolve_warehouse_url(warehouse_url)
    try:
        upgrade_warehouse(url)
        reopen_period(make_engine(url), month, reason)
    except (WarehouseError, ValueError) as error:
        raise _fail(error) from error
    console.print(f"{month} reopened: {reason}")


@period_app.command("status")
def status_command(
    month_arg: OldPositional = None,
    period: PeriodOption = None,
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Print `open` or `closed`."""
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
    from bsc_pipeline.warehouse.errors import WarehouseError
    from bsc_pipeline.warehouse.period_close import period_state

    month = _month(period, month_arg)
    url = resolve_warehouse_url(warehouse_url)
    try:
        upgrade_warehouse(url)
        typer.echo(period_state(make_engine(url), month))
    except (WarehouseError, ValueError) as error:
        raise _fail(error) from error


def export_command(
    period: Annotated[
        str, typer.Option("--period", "-p", help="YYYY-MM, or a period label such as FY2025-Q1")
    ],
    format: Annotated[ExportFormat, typer.Option("--format", help="csv, parquet or xlsx")] = "csv",
    period_type: Annotated[
        ExportPeriodType,
        typer.Option("--period-type", help="month, quarter, fiscal_year, ytd or ttm"),
    ] = "month",
    out: Annotated[Path | None, typer.Option("--out", help="file to write")] = None,
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Export the published scorecard of a period for finance.

    CSV and Parquet hold the rows of the reporting view; XLSX is a workbook to forward: a
    Summary sheet (perspective, objective, measure, actual, target, status), a Data sheet with
    the view's columns and a Notes sheet (period, run, data confidence, held measures).
    """
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
    from bsc_pipeline.warehouse.errors import WarehouseError
    from bsc_pipeline.warehouse.export import export_scorecard

    url = resolve_warehouse_url(warehouse_url)
    try:
        upgrade_warehouse(url)
        path, rows = export_scorecard(make_engine(url), period, format, period_type, out)
    except (WarehouseError, ValueError) as error:
        raise _fail(error) from error
    console.print(f"wrote {rows} rows to {path}")


warehouse_app = typer.Typer(help="Administer the warehouse: database roles.", no_args_is_help=True)
roles_app = typer.Typer(help="PostgreSQL roles: writer, operator, reader.", no_args_is_help=True)
warehouse_app.add_typer(roles_app, name="roles")


@roles_app.command("apply")
def roles_apply_command(
    warehouse_url: WarehouseUrlOption = None,
    writer: Annotated[
        str, typer.Option("--writer", help="role the pipeline connects as; owns the schema")
    ] = DEFAULT_WRITER,
    operator: Annotated[
        str, typer.Option("--operator", help="role for data engineers: reads everything")
    ] = DEFAULT_OPERATOR,
    reader: Annotated[
        str, typer.Option("--reader", help="role for finance and BI tools: reporting views only")
    ] = DEFAULT_READER,
) -> None:
    """Create the roles and bring their grants in step (idempotent; run as a superuser).

    Passwords are taken from BSC_WRITER_PASSWORD, BSC_OPERATOR_PASSWORD and BSC_READER_PASSWORD
    when set, and never printed. Run again after an upgrade that adds reporting views.
    """
    import sqlalchemy as sa

    from bsc_pipeline.warehouse.errors import WarehouseError
    from bsc_pipeline.warehouse.roles import OPERATOR_WRITES, RoleNames, apply_roles

    url = resolve_warehouse_url(warehouse_url)
    try:
        report = apply_roles(url, RoleNames(writer=writer, operator=operator, reader=reader))
    except (WarehouseError, ValueError, sa.exc.SQLAlchemyError) as error:
        raise _fail(error) from error
    if report.created:
        console.print(f"created roles: {', '.join(report.created)}")
    if report.passwords_set:
        console.print(f"passwords set from the environment for: {', '.join(report.passwords_set)}")
    if report.ownership_moved:
        console.print(f"{len(report.ownership_moved)} tables and views now owned by {writer}")
    console.print(
        f"schema {report.schema}: {writer} writes, {operator} reads everything and writes "
        f"{', '.join(sorted(OPERATOR_WRITES))}, {reader} reads {len(report.reader_views)} views"
    )
    if report.missing_views:
        console.print(f"[yellow]not in the database yet:[/] {', '.join(report.missing_views)}")
