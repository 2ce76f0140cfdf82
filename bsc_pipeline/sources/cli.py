"""`bsc sources`: look at the landing zone through the contracts before a run does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bsc_pipeline.settings import Settings
from bsc_pipeline.sources.check import check_landing
from bsc_pipeline.sources.contracts import ContractError, load_contracts
from bsc_pipeline.sources.mappings import MappingError

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
) -> None:
    """Per file: rows read, months covered, problems found. Exit 1 if a dataset cannot be used."""
    settings = Settings.from_env()
    console = Console()
    landing_dir = landing or settings.landing_dir
    try:
        contracts = load_contracts(settings.contracts_path)
        results = check_landing(landing_dir, contracts, settings.sources_config, dataset)
    except (ContractError, MappingError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
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
    if any(not r.usable for r in results):
        raise typer.Exit(1)
