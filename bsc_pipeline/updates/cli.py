"""`bsc updates`: write an owner's monthly template, queue commentary reminders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bsc_pipeline.cli_options import WarehouseUrlOption, resolve_warehouse_url
from bsc_pipeline.periods import Month, PeriodError
from bsc_pipeline.settings import Settings

app = typer.Typer(
    help="The monthly update cycle: owners' commentary and manually reported measures.",
    no_args_is_help=True,
)
console = Console(stderr=True)


@app.command("template")
def template(
    period: Annotated[str, typer.Option("--period", "-p", help="Month YYYY-MM to report on.")],
    owner: Annotated[
        str | None, typer.Option("--owner", help="Owner id; default every owner's measures.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="File to write, .xlsx or .csv; default updates_<M>[_<owner>].xlsx"
        ),
    ] = None,
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Write an owner's update template of a month (xlsx, or csv by the suffix).

    Each of the owner's measures with its published actual, target, status and trend, and
    empty analysis, recommendation and (manual measures) value columns. Drop the filled-in
    file into <landing>/updates/ as updates_<M>_<owner>.xlsx: the next run of the month
    gates and publishes it. Prints the path written.
    """
    from bsc_pipeline.spec.loader import load_spec
    from bsc_pipeline.spec.problems import SpecError
    from bsc_pipeline.updates.template import (
        TemplateError,
        default_name,
        template_rows,
        write_template,
    )
    from bsc_pipeline.warehouse.engine import make_engine

    try:
        month = str(Month.parse(period))
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    settings = Settings.from_env()
    try:
        spec = load_spec(settings.spec_path)
        rows = template_rows(spec, make_engine(resolve_warehouse_url(warehouse_url)), month, owner)
        written = write_template(rows, out or Path(default_name(month, owner)))
    except (SpecError, TemplateError) as exc:
        console.print(f"error: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    manual = sum(r.manual for r in rows)
    console.print(f"{month}: {len(rows)} measure(s), {manual} reported by hand", markup=False)
    typer.echo(str(written))


@app.command("remind")
def remind(
    now: Annotated[
        str | None,
        typer.Option("--now", help="ISO time to judge 'overdue' at (default: the clock)."),
    ] = None,
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Queue commentary reminders that are due; `bsc alerts deliver` sends them.

    One per red measure of the newest month whose owner has not commented within
    BSC_COMMENTARY_DAYS (default 3) days of its publication, never twice.
    """
    from bsc_pipeline.spec.loader import load_spec
    from bsc_pipeline.spec.problems import SpecError
    from bsc_pipeline.updates.reminders import queue_reminders
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse

    settings = Settings.from_env()
    moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    url = resolve_warehouse_url(warehouse_url)
    upgrade_warehouse(url)
    try:
        spec = load_spec(settings.spec_path)
    except SpecError as exc:
        console.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from None
    queued = queue_reminders(make_engine(url), spec, now=moment, days=settings.commentary_days)
    for event in queued:
        typer.echo(f"{event.recipient}: {event.measure_id} {event.period}")
    console.print(f"{len(queued)} reminder(s) queued", markup=False)
