"""`bsc sources` and `bsc demo-data`: the landing zone through the contracts before a run does."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bsc_pipeline.cli_options import FormatOption, echo_json, is_terminal

if TYPE_CHECKING:
    from bsc_pipeline.sources.check import DatasetCheck

app = typer.Typer(
    help="Check landing files against source contracts and mappings.", no_args_is_help=True
)


@app.callback()
def _sources() -> None:
    """Source extracts: contracts, mappings and the landing zone."""


@app.command()
def check(
    dataset: Annotated[str | None, typer.Option(help="Check only this dataset.")] = None,
    landing: Annotated[
        Path | None, typer.Option(help="Landing folder (default BSC_LANDING_DIR).")
    ] = None,
    format: FormatOption = "text",
) -> None:
    """Per file: rows read, months covered, problems found. Exit 1 if a dataset cannot be used.

    --format json prints `landing` and `datasets`, each with dataset, mapping, usable, reason,
    files (file, rows_read, rows_rejected, rows_dropped, months, readable) and problems (file,
    line, column, expected, seen, severity, message).
    """
    from bsc_pipeline.settings import Settings
    from bsc_pipeline.sources.check import check_landing
    from bsc_pipeline.sources.contracts import ContractError, load_contracts
    from bsc_pipeline.sources.mappings import MappingError

    settings = Settings.from_env()
    landing_dir = landing or settings.landing_dir
    try:
        contracts = load_contracts(settings.contracts_path)
        results = check_landing(landing_dir, contracts, settings.sources_config, dataset)
    except (ContractError, MappingError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if format == "json":
        echo_json({"landing": str(landing_dir), "datasets": [asdict(r) for r in results]})
    elif is_terminal():
        _print_table(landing_dir, results)
    else:
        _print_lines(results)
    if any(not r.usable for r in results):
        raise typer.Exit(1)


def _print_lines(results: list[DatasetCheck]) -> None:
    """One line per file, then one per problem: greppable, never wrapped."""
    for result in results:
        if not result.files:
            typer.echo(f"{result.dataset}: no files" + ("" if result.usable else " (unusable)"))
        for f in result.files:
            months = f"{f.months[0]}..{f.months[-1]}" if len(f.months) > 1 else "".join(f.months)
            state = "unreadable" if not f.readable else (f.note or "ok")
            typer.echo(
                f"{result.dataset}: {f.file}: {state}: {f.rows_read} rows read, "
                f"{f.rows_rejected} rejected, {f.rows_dropped} dropped, months {months or '-'}"
            )
    for result in results:
        for problem in result.problems:
            typer.echo(str(problem))
        if not result.usable:
            typer.echo(f"error: {result.dataset} cannot be used: {result.reason}")


def _print_table(landing_dir: Path, results: list[DatasetCheck]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Landing zone {landing_dir}")
    for name in ("dataset", "file", "rows", "rejected", "dropped", "months", "status"):
        table.add_column(
            name, justify="right" if name in ("rows", "rejected", "dropped") else "left"
        )
    for result in results:
        if not result.files:
            status = "[red]unusable[/red]" if not result.usable else "[yellow]no files[/yellow]"
            table.add_row(result.dataset, "-", "-", "-", "-", "-", status)
        for f in result.files:
            months = f"{f.months[0]}..{f.months[-1]}" if len(f.months) > 1 else "".join(f.months)
            status = "[green]ok[/green]" if f.readable else "[red]unreadable[/red]"
            if f.readable and f.note:
                colour = "yellow" if f.note.startswith("never read") else "green"
                status = f"[{colour}]{f.note}[/{colour}]"
            table.add_row(
                result.dataset,
                f.file,
                str(f.rows_read),
                str(f.rows_rejected),
                str(f.rows_dropped),
                months,
                status,
            )
    console.print(table)
    for result in results:
        for problem in result.problems:
            colour = "red" if problem.severity == "error" else "yellow"
            console.print(f"[{colour}]{problem}[/{colour}]", highlight=False)
        if not result.usable:
            console.print(
                f"[red]{result.dataset} cannot be used:[/red] {result.reason}", highlight=False
            )


def demo_data_command(
    months: Annotated[int, typer.Option(help="How many months to generate.")] = 36,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed writes the same bytes.")
    ] = 7,
    scale: Annotated[
        float, typer.Option(help="Row volume multiplier (1: about 600 customers, 300 staff).")
    ] = 1.0,
    out: Annotated[
        Path | None, typer.Option(help="Landing folder (default: BSC_LANDING_DIR).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last month as YYYY-MM (default: the last complete month).")
    ] = None,
) -> None:
    """Generate the demo company's extracts (finance, CRM, ticketing, HR) into a landing folder."""
    from bsc_pipeline.sources.demo_data import demo_data

    demo_data(months=months, seed=seed, scale=scale, out=out, end=end)
