"""`bsc dq`: the quality gate's results as the warehouse keeps them, and decisions on holds."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bsc_pipeline.cli_options import FormatOption, echo_json, is_terminal, resolve_warehouse_url

if TYPE_CHECKING:
    import sqlalchemy as sa
    from rich.table import Table

    from bsc_pipeline.quality.decisions import Decision, DecisionKind

app = typer.Typer(
    help="Data-quality gate results, and people's decisions on held months.",
    no_args_is_help=True,
)

PeriodOption = Annotated[str, typer.Option("--period", "-p", help="Month as YYYY-MM.")]
WarehouseOption = Annotated[
    str | None,
    typer.Option(
        "--warehouse-url",
        "--warehouse",
        help="SQLAlchemy URL of the warehouse; default BSC_WAREHOUSE_URL, else the demo "
        "SQLite (--warehouse is the old spelling).",
    ),
]
DatasetOption = Annotated[
    str, typer.Option("--dataset", help="Dataset as named in sources/contracts.yaml.")
]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why: kept with the decision and shown in reports.")
]

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

DECISION_KEYS = (
    "dataset",
    "month",
    "decision",
    "decided_by",
    "decided_at",
    "reason",
    "consumed_by_run_id",
)
"""The keys of each decision in `bsc dq report --format json`."""


@app.callback()
def _group() -> None:
    """Data-quality gate results, and people's decisions on held months."""


@app.command()
def report(
    period: PeriodOption,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="One run; default: the latest run per dataset.")
    ] = None,
    failed_only: Annotated[bool, typer.Option("--failed", help="Only failed checks.")] = False,
    url: WarehouseOption = None,
    format: FormatOption = "text",
) -> None:
    """Print a month's gate results (one line per dataset verdict and expectation), then the
    accept/reject decisions recorded for it, newest first.

    --format json prints `period`, `results` (dataset, expectation ("gate" for the dataset's
    verdict), column, severity, passed, element_count, unexpected_count, sample, run_id) and
    `decisions` (dataset, month, decision, decided_by, decided_at, reason, consumed_by_run_id).
    """
    import sqlalchemy as sa

    from bsc_pipeline.quality.decisions import read_decisions

    month = _month(period)
    engine = sa.create_engine(resolve_warehouse_url(url))
    rows = read_results(engine, month, run_id)
    decisions = read_decisions(engine, month)
    if not rows and not decisions:
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
                "decisions": [{k: getattr(d, k) for k in DECISION_KEYS} for d in decisions],
            }
        )
    elif is_terminal():
        from rich.console import Console

        console = Console()
        if shown:
            console.print(_table(month, shown))
        if decisions:
            console.print(decision_table(decisions, f"Decisions on {month}"))
    else:
        for r in shown:
            typer.echo(_line(month, r))
        for d in decisions:
            typer.echo(_decision_line(d))


@app.command()
def accept(
    dataset: DatasetOption,
    period: PeriodOption,
    reason: ReasonOption,
    warehouse_url: WarehouseOption = None,
) -> None:
    """Release a held dataset-month: the next run publishes it as it is.

    For a real drop in volume or a file that will never come. Recorded with who (BSC_USER, else
    the OS user), when and why; shown by `bsc dq report` and `bsc status`.
    """
    _decide(dataset, period, "accept", reason, warehouse_url)


@app.command()
def reject(
    dataset: DatasetOption,
    period: PeriodOption,
    reason: ReasonOption,
    warehouse_url: WarehouseOption = None,
) -> None:
    """Keep a dataset-month held, whatever its gate says, until a newer decision.

    Recorded with who (BSC_USER, else the OS user), when and why; shown by `bsc dq report` and
    `bsc status`.
    """
    _decide(dataset, period, "reject", reason, warehouse_url)


def _decide(
    dataset: str, period: str, kind: DecisionKind, reason: str, warehouse_url: str | None
) -> None:
    from rich.console import Console

    from bsc_pipeline.quality.decisions import DecisionError, record_decision
    from bsc_pipeline.settings import Settings
    from bsc_pipeline.sources import load_contracts
    from bsc_pipeline.warehouse import make_engine, upgrade_warehouse

    settings = Settings.from_env()
    month = _month(period)
    known = load_contracts(settings.contracts_path)
    if dataset not in known:
        raise typer.BadParameter(
            f"unknown dataset {dataset!r}; the contracts declare {', '.join(sorted(known))}",
            param_hint="--dataset",
        )
    url = resolve_warehouse_url(warehouse_url)
    upgrade_warehouse(url)
    try:
        decision = record_decision(make_engine(url), dataset, month, kind, reason)
    except DecisionError as exc:
        raise typer.BadParameter(str(exc), param_hint="--reason") from exc
    effect = "publish it as it is" if kind == "accept" else "keep it held"
    Console().print(
        f"Recorded: {decision.decided_by} {kind}s {dataset} {month} ({decision.reason}). "
        f"The next run of {month} will {effect}: bsc run --period {month}"
    )


def _month(period: str) -> str:
    from bsc_pipeline.periods import Month, PeriodError

    try:
        return str(Month.parse(period))
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc


def decision_table(decisions: list[Decision], title: str) -> Table:
    """Decisions as `bsc dq report` and `bsc status` show them, newest first."""
    from rich.table import Table

    table = Table(title=title)
    for name in ("dataset", "month", "decision", "by", "at", "reason", "published by run"):
        table.add_column(name)
    for d in decisions:
        table.add_row(
            d.dataset,
            d.month,
            "[green]accept[/]" if d.decision == "accept" else "[red]reject[/]",
            d.decided_by,
            f"{d.decided_at:%Y-%m-%d %H:%M} UTC",
            d.reason,
            d.consumed_by_run_id or "[dim]not yet[/]",
        )
    return table


def _decision_line(d: Decision) -> str:
    """`month dataset decision: accept by ana at 2025-03-02 10:00 UTC: reason (run ...)`."""
    run = d.consumed_by_run_id or "not yet published"
    return (
        f"{d.month} {d.dataset} decision: {d.decision} by {d.decided_by} at "
        f"{d.decided_at:%Y-%m-%d %H:%M} UTC: {d.reason} (run: {run})"
    )


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
