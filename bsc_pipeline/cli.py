"""`bsc`: the headless way to run, inspect and export the scorecard pipeline.

Exit codes scripts can rely on: 0 success, 1 the work ran but something failed (a run, a gate,
a spec error), 2 bad usage, 130 a backfill stopped by Ctrl-C. A failure ends in one line naming
its cause and the next step; the full trace is shown with `bsc --verbose`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from bsc_pipeline.cli_options import FormatOption, WarehouseUrlOption, echo_json, is_terminal
from bsc_pipeline.periods import Month, PeriodError, month_range
from bsc_pipeline.settings import Settings

# Piped or captured output (make demo in CI, a log file) gets a width a scorecard fits in.
console = Console(width=None if sys.stdout.isatty() else 160)
app = typer.Typer(
    name="bsc",
    help="Balanced-scorecard pipeline: run months, backfill, show and export the scorecard.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _mount_sub_apps() -> None:
    """Each package owns its commands; mounting them here keeps one `bsc` entry point.

    The sub-app modules import only typer, rich and each other's option types: pandas,
    SQLAlchemy, Dagster and GX load inside the command that needs them, so `bsc --help`
    and a usage error answer at once (tests/ops/test_cli_startup.py keeps it so).
    """
    from bsc_pipeline.alerts.cli import app as alerts_app
    from bsc_pipeline.briefing.cli import report_command
    from bsc_pipeline.quality.cli import app as dq_app
    from bsc_pipeline.sources.cli import app as sources_app
    from bsc_pipeline.sources.cli import demo_data_command
    from bsc_pipeline.spec.cli import app as spec_app
    from bsc_pipeline.trust.cli import app as trust_app
    from bsc_pipeline.trust.cli import explain_command, spec_diff_command
    from bsc_pipeline.updates.cli import app as updates_app
    from bsc_pipeline.warehouse.cli import export_command, period_app, warehouse_app
    from bsc_pipeline.worker import app as worker_app

    app.add_typer(sources_app, name="sources", help="Check the landing zone against the contracts.")
    spec_app.command("diff")(spec_diff_command)
    app.add_typer(
        spec_app,
        name="spec",
        help="Validate the scorecard spec; export its JSON Schema; diff two specs.",
    )
    app.add_typer(dq_app, name="dq", help="Quality-gate results; accept or reject a held month.")
    app.add_typer(period_app, name="period", help="Close or reopen a published month.")
    app.add_typer(warehouse_app, name="warehouse", help="Warehouse administration: roles.")
    app.add_typer(alerts_app, name="alerts", help="List, deliver and test alerts.")
    app.add_typer(
        updates_app, name="updates", help="Owners' monthly commentary and manual measures."
    )
    app.add_typer(trust_app, name="trust", help="Definition versions of the published measures.")
    app.command("explain", help="Explain one published value: definition, inputs, history.")(
        explain_command
    )
    app.add_typer(worker_app, name="worker", help="Celery workers for BSC_EXECUTOR=celery.")
    app.command("export", help="Export a period of the scorecard (CSV, Parquet, XLSX).")(
        export_command
    )
    app.command("report")(report_command)
    app.command("demo-data", help="Generate the demo company's extracts into the landing zone.")(
        demo_data_command
    )


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the full trace behind a failure.")
    ] = False,
) -> None:
    if verbose:
        os.environ["BSC_VERBOSE"] = "1"


def _verbose() -> bool:
    return os.environ.get("BSC_VERBOSE") == "1"


def _parse_month(text: str) -> str:
    try:
        return str(Month.parse(text))
    except PeriodError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _use_warehouse(url: str | None) -> None:
    """A --warehouse-url given to a run reaches Dagster and every reader as BSC_WAREHOUSE_URL."""
    if url:
        os.environ["BSC_WAREHOUSE_URL"] = url


def _configure_logging() -> None:
    """Our own log lines; Dagster's carry the run id in their own format. Dagster's console log
    follows this level: WARNING, INFO with `bsc --verbose`, or `BSC_LOG_LEVEL`."""
    logging.basicConfig(
        level=os.environ.get("BSC_LOG_LEVEL", "INFO" if _verbose() else "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def run(
    period: Annotated[str, typer.Option("--period", "-p", help="Month to run, YYYY-MM.")],
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Run the whole pipeline for one month (extract, gate, measure, score, publish, alert)."""
    from bsc_pipeline.runner import OutsidePartitions, run_months

    month = _parse_month(period)
    _use_warehouse(warehouse_url)
    _configure_logging()
    try:
        report = run_months([month], console=console)
    except OutsidePartitions as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from None
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def backfill(
    start: Annotated[str | None, typer.Option(help="First month, YYYY-MM.")] = None,
    end: Annotated[str | None, typer.Option(help="Last month, YYYY-MM (included).")] = None,
    all_landed: Annotated[
        bool, typer.Option("--all-landed", help="Every month the landing zone has files for.")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Months run in parallel.")] = 1,
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Run a range of months, then the later published months that read them (year-over-year,
    trailing 12 months, quarters), said before it starts. Progress is a bar in a terminal and
    one line per month in a pipe; the summary gives each month published, unchanged, failed or
    not reached, from the warehouse, also after Ctrl-C.

    Alerts of months before the newest are kept as history; owners hear about the newest only.
    """
    from bsc_pipeline.runner import OutsidePartitions, landed_months, run_months

    _use_warehouse(warehouse_url)
    _configure_logging()
    if all_landed:
        months = landed_months(Settings.from_env())
        if not months:
            console.print(
                "[red]The landing zone holds no monthly files.[/] Run `bsc demo-data` first."
            )
            raise typer.Exit(1)
    elif start and end:
        months = [
            str(m)
            for m in month_range(Month.parse(_parse_month(start)), Month.parse(_parse_month(end)))
        ]
    else:
        raise typer.BadParameter("give --start and --end, or --all-landed")
    try:
        report = run_months(months, console=console, jobs=jobs, backfill=True)
    except OutsidePartitions as exc:
        raise typer.BadParameter(str(exc)) from None
    raise typer.Exit(130 if report.interrupted else 0 if report.ok else 1)


@app.command()
def show(
    period: Annotated[
        str | None,
        typer.Option("--period", "-p", help="Month YYYY-MM; default the latest complete."),
    ] = None,
    warehouse_url: WarehouseUrlOption = None,
    format: FormatOption = "text",
) -> None:
    """Print a month's scorecard: perspective → objective → measure, actual vs target, status.

    --format json prints `period` and `measures` (perspective, objective, measure_id,
    measure_name, actual, target, target_high, unit, decimals, status, trend, owner, note) in
    the spec's order, then `links` of the strategy map.
    """
    from bsc_pipeline.report import latest_complete_month, render_scorecard, scorecard_json

    settings = _settings(warehouse_url)
    month = _parse_month(period) if period else latest_complete_month(settings)
    if month is None:
        _say_nothing_published(format)
        raise typer.Exit(1)
    if format == "json":
        payload = scorecard_json(settings, month)
        if payload is None:
            typer.echo(f"No published scorecard for {month}.", err=True)
            raise typer.Exit(1)
        echo_json(payload)
        return
    if not render_scorecard(settings, month, console, plain=not is_terminal()):
        raise typer.Exit(1)


@app.command()
def status(warehouse_url: WarehouseUrlOption = None, format: FormatOption = "text") -> None:
    """Last runs, gate failures, held measures, decisions on holds, missing commentary and
    pending alerts.

    --format json prints `runs` (the last ten pipeline_run rows), `failed_gates` (month,
    dataset, expectation, unexpected_count), `held_measures` (month, measure_id, why),
    `decisions` (the last ten accept/reject decisions), `missing_commentary` (red measures of
    the newest month without their owner's commentary: month, measure, owner, due) and
    `pending_alerts` (a count).
    """
    from bsc_pipeline.report import render_status, status_json

    settings = _settings(warehouse_url)
    if format == "json":
        echo_json(status_json(settings))
        return
    render_status(settings, console, plain=not is_terminal())


def _settings(warehouse_url: str | None) -> Settings:
    """Settings from the environment, with the warehouse given on the command line if any."""
    from dataclasses import replace

    settings = Settings.from_env()
    return replace(settings, warehouse_url=warehouse_url) if warehouse_url else settings


def _say_nothing_published(format: str) -> None:
    message = "Nothing is published yet. Run `bsc backfill --all-landed` first."
    if format == "json" or not is_terminal():
        typer.echo(message, err=format == "json")
    else:
        console.print(f"[red]{message}[/]")


def main() -> None:
    """The `bsc` entry point: an unexpected failure ends in one line (cause and next step), its
    trace only with --verbose."""
    _mount_sub_apps()
    try:
        app()
    except Exception as exc:
        from bsc_pipeline.failures import explain_exception

        if _verbose():
            raise
        line = explain_exception(exc, os.environ.get("BSC_WAREHOUSE_URL") or _default_url())
        console.print(f"[red]error:[/] {line}", soft_wrap=True, highlight=False)
        console.print("[dim]The full trace: re-run with `bsc --verbose ...`.[/]")
        sys.exit(1)


def _default_url() -> str:
    return Settings.from_env().warehouse_url


if __name__ == "__main__":
    main()
