"""`bsc report`: a month's briefing book, or one owner's view of it, as HTML or PDF."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bsc_pipeline.briefing.model import ReportFormat
from bsc_pipeline.cli_options import WarehouseUrlOption

console = Console(stderr=True)


def report_command(
    period: Annotated[
        str | None,
        typer.Option("--period", "-p", help="Month YYYY-MM; default the latest complete."),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner", help="Owner id: their measures, drivers and the outcomes they feed."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write; default <lake>/reports/<month>[-<owner>].html"),
    ] = None,
    format: Annotated[
        ReportFormat, typer.Option("--format", help="html, or pdf printed by headless chromium")
    ] = "html",
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Write the monthly briefing book: headline, strategy map, measures, initiatives.

    It reads only the published warehouse, so it shows exactly what finance sees. Prints the
    path written. Exit 1 when the month is not published, 2 for bad usage or no chromium for PDF.
    """
    import sqlalchemy as sa

    from bsc_pipeline.briefing.assemble import BriefingError, UnknownOwnerError
    from bsc_pipeline.briefing.pdf import ChromiumMissingError
    from bsc_pipeline.briefing.writing import load_spec_if_present, report_path, write_report
    from bsc_pipeline.periods import Month, PeriodError
    from bsc_pipeline.report import latest_complete_month
    from bsc_pipeline.settings import Settings
    from bsc_pipeline.spec.problems import SpecError
    from bsc_pipeline.warehouse.engine import make_engine

    settings = Settings.from_env()
    if warehouse_url:
        settings = replace(settings, warehouse_url=warehouse_url)
    try:
        month = str(Month.parse(period)) if period else latest_complete_month(settings)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    if month is None:
        console.print("[red]Nothing is published yet.[/] Run `bsc backfill --all-landed` first.")
        raise typer.Exit(1)
    target = out or report_path(settings, month, owner)
    if format == "pdf" and out is None:
        target = target.with_suffix(".pdf")
    try:
        spec = load_spec_if_present(settings)
        written = write_report(
            make_engine(settings.warehouse_url), month, target, owner=owner, spec=spec, fmt=format
        )
    except (ChromiumMissingError, UnknownOwnerError) as exc:
        console.print(f"error: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except (BriefingError, SpecError, sa.exc.SQLAlchemyError, RuntimeError) as exc:
        console.print(f"error: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"{written.month}: {written.measures} measures, {written.links} links, "
        + ", ".join(f"{n} {s}" for s, n in written.statuses.items() if n)
    )
    typer.echo(str(written.path))
