"""`bsc spec`: check a scorecard spec and export its JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bsc_pipeline.settings import Settings
from bsc_pipeline.spec.problems import SpecProblem
from bsc_pipeline.spec.schema import schema_text, write_schema
from bsc_pipeline.spec.validate import check_spec

app = typer.Typer(
    help="Validate the scorecard spec (every problem, its line and fix); export its JSON Schema.",
    no_args_is_help=True,
)


@app.command("check")
def check_command(
    path: Annotated[
        Path | None, typer.Argument(help="spec YAML; default BSC_SPEC or specs/demo.yaml")
    ] = None,
    contracts: Annotated[
        Path | None,
        typer.Option(help="canonical contracts; default BSC_CONTRACTS or sources/contracts.yaml"),
    ] = None,
) -> None:
    """List every problem of the spec at once; exit 1 if any is an error."""
    settings = Settings.from_env()
    spec_path = path or settings.spec_path
    problems = check_spec(spec_path, contracts or settings.contracts_path)
    console = Console(soft_wrap=False)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if problems:
        console.print(problem_table(problems))
    verdict = "[red]invalid[/red]" if errors else "[green]valid[/green]"
    console.print(f"{spec_path}: {verdict} — {errors} error(s), {warnings} warning(s)")
    if errors:
        raise typer.Exit(code=1)


@app.command("schema")
def schema_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="write to this file instead of standard output")
    ] = None,
) -> None:
    """Export the JSON Schema of the spec (for editor completion)."""
    if out is None:
        typer.echo(schema_text(), nl=False)
    else:
        typer.echo(f"wrote {write_schema(out)}")


def problem_table(problems: list[SpecProblem]) -> Table:
    """Problems as a table: where, what, and how to fix it."""
    table = Table(show_lines=False, expand=False)
    table.add_column("severity")
    table.add_column("where", no_wrap=True)
    table.add_column("path", overflow="fold")
    table.add_column("problem", overflow="fold")
    table.add_column("fix", overflow="fold")
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        table.add_row(
            f"[{style}]{problem.severity}[/{style}]",
            problem.location(),
            problem.path,
            problem.message,
            problem.fix,
            end_section=False,
        )
    return table
