"""`bsc spec`: check a scorecard spec and export its JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bsc_pipeline.cli_options import FormatOption, echo_json, is_terminal

if TYPE_CHECKING:
    from rich.table import Table

    from bsc_pipeline.spec.problems import SpecProblem

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
    format: FormatOption = "text",
) -> None:
    """List every problem of the spec at once; exit 1 if any is an error.

    In a terminal a table; in a pipe one `file:line: severity: message (fix: ...)` line per
    problem, as compilers print; with --format json an object with `spec`, `valid`, `errors`,
    `warnings` and `problems` (each: severity, file, line, path, message, fix).
    """
    from bsc_pipeline.settings import Settings
    from bsc_pipeline.spec.validate import check_spec

    settings = Settings.from_env()
    spec_path = path or settings.spec_path
    problems = check_spec(spec_path, contracts or settings.contracts_path)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if format == "json":
        echo_json(
            {
                "spec": str(spec_path),
                "valid": not errors,
                "errors": errors,
                "warnings": warnings,
                "problems": [problem_json(p) for p in problems],
            }
        )
    elif is_terminal():
        from rich.console import Console

        console = Console(soft_wrap=False)
        if problems:
            console.print(problem_table(problems))
        verdict = "[red]invalid[/red]" if errors else "[green]valid[/green]"
        console.print(f"{spec_path}: {verdict} — {errors} error(s), {warnings} warning(s)")
    else:
        for problem in problems:
            typer.echo(problem_line(problem))
        verdict = "invalid" if errors else "valid"
        typer.echo(f"{spec_path}: {verdict}: {errors} error(s), {warnings} warning(s)")
    if errors:
        raise typer.Exit(code=1)


@app.command("schema")
def schema_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="write to this file instead of standard output")
    ] = None,
) -> None:
    """Export the JSON Schema of the spec (for editor completion)."""
    from bsc_pipeline.spec.schema import schema_text, write_schema

    if out is None:
        typer.echo(schema_text(), nl=False)
    else:
        typer.echo(f"wrote {write_schema(out)}")


def problem_line(problem: SpecProblem) -> str:
    """`file:line: severity: message [at path] (fix: ...)` — what editors and CI annotate."""
    at = f" [at {problem.path}]" if problem.path else ""
    return f"{problem.location()}: {problem.severity}: {problem.message}{at} (fix: {problem.fix})"


def problem_json(problem: SpecProblem) -> dict[str, object]:
    """One problem with stable keys for scripts."""
    return {
        "severity": problem.severity,
        "file": problem.file,
        "line": problem.line,
        "path": problem.path,
        "message": problem.message,
        "fix": problem.fix,
    }


def problem_table(problems: list[SpecProblem]) -> Table:
    """Problems as a table: where, what, and how to fix it."""
    from rich.table import Table

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
