"""`bsc dq`: the quality gate's results as the warehouse keeps them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bsc_pipeline.cli_options import FormatOption, echo_json, is_terminal, resolve_warehouse_url

if TYPE_CHECKING:
    import sqlalchemy as sa
    from rich.table import Table

app = typer.Typer(help="Data-quality gate results.", no_args_is_help=True)

RESULT_KEYS = (
    "dataset",
    "expectation",
    "column",
    "severity",
    "passed",
    "element_count",
    "unexpected_count",
    "sample",
    "run_id",
)
"""The keys of each result in `bsc dq report --format json`."""


@app.callback()
def _group() -> None:
    """Data-quality gate results."""


@app.command()
def report(
    period: Annotated[str, typer.Option("--period", "-p", help="Month as YYYY-MM.")],
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="One run; default: the latest run per dataset.")
    ] = None,
    failed_only: Annotated[bool, typer.Option("--failed", help="Only failed checks.")] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--warehouse-url",
            "--warehouse",
            help="SQLAlchemy URL of the warehouse; default BSC_WAREHOUSE_URL, else the demo "
            "SQLite (--warehouse is the old spelling).",
        ),
    ] = None,
    format: FormatOption = "text",
) -> None:
    """Print the gate results of a month: one line per dataset verdict and expectation.

    --format json prints `period` and `results`, each with dataset, expectation ("gate" for the
    dataset's verdict), column, severity, passed, element_count, unexpected_count, sample, run_id.
    """
    import sqlalchemy as sa

    from bsc_pipeline.periods import Month, PeriodError

    try:
        month = str(Month.parse(period))
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    rows = read_results(sa.create_engine(resolve_warehouse_url(url)), month, run_id)
    if not rows:
        typer.echo(f"No gate results for {month} in the warehouse.", err=format == "json")
        raise typer.Exit(code=1)
    shown = [r for r in rows if not (failed_only and r["passed"])]
    if format == "json":
        echo_json(
            {
                "period": month,
                "results": [
                    {k: _sample(r[k]) if k == "sample" else r[k] for k in RESULT_KEYS}
                    for r in shown
                ],
            }
        )
    elif is_terminal():
        from rich.console import Console

        Console().print(_table(month, shown))
    else:
        for r in shown:
            typer.echo(_line(month, r))


def read_results(engine: sa.Engine, month: str, run_id: str | None) -> list[dict[str, Any]]:
    """`dq_result` rows of the month, from the given run or each dataset's latest run."""
    import sqlalchemy as sa

    from bsc_pipeline.warehouse import schema

    dq = schema.dq_result
    query = sa.select(dq).where(dq.c.month == month)
    if run_id is not None:
        query = query.where(dq.c.run_id == run_id)
    else:
        latest = (
            sa.select(dq.c.dataset, sa.func.max(dq.c.dq_result_id).label("last_id"))
            .where(dq.c.month == month)
            .group_by(dq.c.dataset)
            .subquery()
        )
        last_run = (
            sa.select(dq.c.dataset, dq.c.run_id)
            .join(latest, dq.c.dq_result_id == latest.c.last_id)
            .subquery()
        )
        query = query.join(
            last_run, (dq.c.dataset == last_run.c.dataset) & (dq.c.run_id == last_run.c.run_id)
        )
    query = query.order_by(dq.c.dataset, dq.c.dq_result_id)
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(query)]


def _result_word(r: dict[str, Any]) -> str:
    if r["expectation"] == "gate" and r["passed"] and r["severity"] == "warning":
        return "pass (warnings)"
    return "pass" if r["passed"] else "FAIL"


def _line(month: str, r: dict[str, Any]) -> str:
    """`month dataset check[column]: severity: result (failing/rows) sample` on one line."""
    check = r["expectation"] + (f"[{r['column']}]" if r["column"] else "")
    counts = ""
    if r["element_count"] is not None:
        counts = f" ({r['unexpected_count'] or 0} of {r['element_count']} failing)"
    sample = _sample_text(r["sample"])
    return f"{month} {r['dataset']} {check}: {r['severity']}: {_result_word(r)}{counts}" + (
        f" e.g. {sample}" if sample else ""
    )


def _table(month: str, rows: list[dict[str, Any]]) -> Table:
    from rich.table import Table

    table = Table(title=f"Quality gate {month}")
    for name in ("dataset", "check", "column", "severity", "result", "rows", "failing", "sample"):
        table.add_column(name, justify="right" if name in ("rows", "failing") else "left")
    for r in rows:
        verdict = r["expectation"] == "gate"
        colour = "green" if r["passed"] else "red"
        if verdict and r["severity"] == "warning" and r["passed"]:
            colour = "yellow"
        table.add_row(
            f"[bold]{r['dataset']}[/]" if verdict else "",
            "[bold]gate[/]" if verdict else r["expectation"],
            r["column"] or "",
            r["severity"],
            f"[{colour}]{_result_word(r)}[/]",
            "" if r["element_count"] is None else str(r["element_count"]),
            "" if r["unexpected_count"] is None else str(r["unexpected_count"]),
            _sample_text(r["sample"]),
        )
    return table


def _sample(sample: Any) -> Any:
    """The stored sample as a list (SQLite may hand back the JSON text)."""
    if isinstance(sample, str):
        try:
            return json.loads(sample)
        except ValueError:
            return sample
    return sample


def _sample_text(sample: Any) -> str:
    sample = _sample(sample)
    if isinstance(sample, str):
        return sample
    if not sample:
        return ""
    text = ", ".join(str(v) for v in sample[:5])
    return text if len(text) <= 80 else text[:77] + "..."
