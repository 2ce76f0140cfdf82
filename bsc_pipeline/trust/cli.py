"""`bsc explain`, `bsc spec diff` and `bsc trust definitions`: why a published number is what
it is, and what a definition change would move.

Exit codes: 0 done, 1 the warehouse or a spec could not be read, 2 bad usage (unknown measure
or period, bad option).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bsc_pipeline.cli_options import OutputFormat, WarehouseUrlOption, resolve_warehouse_url

if TYPE_CHECKING:
    import sqlalchemy as sa

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="text (plain, pipe-friendly) or json")
]

app = typer.Typer(
    help="Definition versions and the reasons published values changed.", no_args_is_help=True
)


@app.callback()
def _group() -> None:
    """Definition versions and the reasons published values changed."""


def _engine(url: str | None) -> sa.Engine:
    from bsc_pipeline.warehouse import make_engine, upgrade_warehouse

    url = resolve_warehouse_url(url)
    upgrade_warehouse(url)
    return make_engine(url)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


def explain_command(
    measure: Annotated[str, typer.Option("--measure", help="measure id, e.g. revenue")],
    period: Annotated[
        str, typer.Option("--period", help="YYYY-MM, or a period label such as FY2025-Q1")
    ],
    period_type: Annotated[
        str, typer.Option("--period-type", help="month, quarter, fiscal_year, ytd or ttm")
    ] = "month",
    format: FormatOption = "text",
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Explain one published value: definition, input files, gates, quarantine, publications."""
    import sqlalchemy as sa

    from bsc_pipeline.trust.explain import ExplainError, explain_value, render_json, render_text

    try:
        explanation = explain_value(_engine(warehouse_url), measure, period, period_type)
    except ExplainError as error:
        raise _fail(str(error), 2) from error
    except sa.exc.SQLAlchemyError as error:
        raise _fail(f"cannot read the warehouse: {error}", 1) from error
    typer.echo(render_json(explanation) if format == "json" else render_text(explanation), nl=False)


def spec_diff_command(
    old: Annotated[Path, typer.Argument(help="the spec in force (YAML)")],
    new: Annotated[Path, typer.Argument(help="the proposed spec (YAML)")],
    warehouse_url: Annotated[
        str | None,
        typer.Option(
            "--warehouse-url",
            help="also say which published months a run would restate (open) or leave (closed)",
        ),
    ] = None,
    format: FormatOption = "text",
) -> None:
    """Which measures change between two specs (added, removed, changed, also through a
    measure they read) and, with --warehouse-url, which published months would move."""
    import sqlalchemy as sa

    from bsc_pipeline.spec.loader import load_spec, resolve_targets_file
    from bsc_pipeline.trust.definitions import measure_definitions
    from bsc_pipeline.trust.spec_diff import (
        as_json,
        diff_definitions,
        render_text,
        restatement_plan,
    )

    definitions = []
    for path in (old, new):
        try:
            spec = load_spec(path)
            definitions.append(
                measure_definitions(spec, targets_file=resolve_targets_file(path, spec))
            )
        except Exception as error:  # a spec that does not load: say which and why
            raise _fail(f"{path}: {error}", 2) from error
    changes = diff_definitions(definitions[0], definitions[1])
    plan = None
    if warehouse_url is not None:
        try:
            plan = restatement_plan(_engine(warehouse_url), changes, definitions[1])
        except sa.exc.SQLAlchemyError as error:
            raise _fail(f"cannot read the warehouse: {error}", 1) from error
    if format == "json":
        typer.echo(json.dumps(as_json(changes, plan), indent=2, default=str))
    else:
        typer.echo(render_text(changes, plan, str(old), str(new)), nl=False)


@app.command("definitions")
def definitions_command(
    measure: Annotated[str | None, typer.Option("--measure", help="one measure id")] = None,
    format: FormatOption = "text",
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """When each measure's definition changed (the view v_measure_definition_history)."""
    import sqlalchemy as sa

    engine = _engine(warehouse_url)
    view = sa.table(
        "v_measure_definition_history",
        *(
            sa.column(c)
            for c in (
                "measure_id",
                "definition_version",
                "previous_version",
                "spec_commit",
                "first_as_of_month",
                "first_published_at",
                "superseded_at",
                "retired",
                "formula",
            )
        ),
    )
    query = sa.select(view).order_by(view.c.measure_id, view.c.first_published_at)
    if measure is not None:
        query = query.where(view.c.measure_id == measure)
    with engine.connect() as connection:
        rows: list[dict[str, Any]] = [dict(r._mapping) for r in connection.execute(query)]
    if measure is not None and not rows:
        raise _fail(f"no published definition of measure {measure!r}", 2)
    if format == "json":
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        state = "retired" if r["retired"] else "current" if r["superseded_at"] is None else "old"
        commit = (r["spec_commit"] or "no commit")[:12]
        typer.echo(
            f"{r['measure_id']:<28} {r['definition_version']}  {state:<7} "
            f"from {r['first_as_of_month']} ({r['first_published_at']}, {commit})  {r['formula']}"
        )
