"""`bsc dq`: the quality gate's results as the warehouse keeps them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from bsc_pipeline.periods import Month, PeriodError
from bsc_pipeline.settings import Settings
from bsc_pipeline.warehouse import schema

app = typer.Typer(help="Data-quality gate results.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Data-quality gate results."""


@app.command()
def report(
    period: Annotated[str, typer.Option("--period", help="Month as YYYY-MM.")],
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="One run; default: the latest run per dataset.")
    ] = None,
    failed_only: Annotated[bool, typer.Option("--failed", help="Only failed checks.")] = False,
    warehouse_url: Annotated[
        str | None, typer.Option("--warehouse", help="Default: BSC_WAREHOUSE_URL.")
    ] = None,
) -> None:
    """Print the gate results of a month: one line per dataset verdict and expectation."""
    try:
        month = str(Month.parse(period))
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    engine = sa.create_engine(warehouse_url or Settings.from_env().warehouse_url)
    rows = read_results(engine, month, run_id)
    console = Console()
    if not rows:
        console.print(f"No gate results for {month} in the warehouse.")
        raise typer.Exit(code=1)
    shown = [r for r in rows if not (failed_only and r["passed"])]
    console.print(_table(month, shown))


def read_results(engine: sa.Engine, month: str, run_id: str | None) -> list[dict[str, Any]]:
    """`dq_result` rows of the month, from the given run or each dataset's latest run."""
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


def _table(month: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Quality gate {month}")
    for name in ("dataset", "check", "column", "severity", "result", "rows", "failing", "sample"):
        table.add_column(name, justify="right" if name in ("rows", "failing") else "left")
    for r in rows:
        verdict = r["expectation"] == "gate"
        result = "[green]pass[/]" if r["passed"] else "[red]FAIL[/]"
        if verdict and r["severity"] == "warning":
            result = "[yellow]pass (warnings)[/]"
        table.add_row(
            f"[bold]{r['dataset']}[/]" if verdict else "",
            "[bold]gate[/]" if verdict else r["expectation"],
            r["column"] or "",
            r["severity"],
            result,
            "" if r["element_count"] is None else str(r["element_count"]),
            "" if r["unexpected_count"] is None else str(r["unexpected_count"]),
            _sample_text(r["sample"]),
        )
    return table


def _sample_text(sample: Any) -> str:
    if isinstance(sample, str):
        try:
            sample = json.loads(sample)
        except ValueError:
            return sample
    if not sample:
        return ""
    text = ", ".join(str(v) for v in sample[:5])
    return text if len(text) <= 80 else text[:77] + "..."
