"""The scorecard and the pipeline's state in a terminal, read from the published warehouse."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from bsc_pipeline.settings import Settings

STATUS_STYLE = {
    "green": "[bold green]● green[/]",
    "amber": "[bold yellow]● amber[/]",
    "red": "[bold red]● red[/]",
    "no_data": "[dim]○ no data[/]",
    "held": "[magenta]◌ held[/]",
}
COMPLETE_SHARE = 0.5
"""A month counts as complete for `bsc show` once half its measures have a colour."""


def _engine(settings: Settings) -> sa.Engine:
    from bsc_pipeline.warehouse import make_engine

    return make_engine(settings.warehouse_url)


def _has_view(engine: sa.Engine) -> bool:
    return "v_scorecard_monthly" in sa.inspect(engine).get_view_names()


def latest_complete_month(settings: Settings) -> str | None:
    """The newest published month where most measures have a green, amber or red status."""
    engine = _engine(settings)
    if not _has_view(engine):
        return None
    query = sa.text(
        "SELECT period, "
        "SUM(CASE WHEN status IN ('green', 'amber', 'red') THEN 1 ELSE 0 END) AS coloured, "
        "COUNT(*) AS measures FROM v_scorecard_monthly GROUP BY period ORDER BY period DESC"
    )
    with engine.connect() as conn:
        for period, coloured, measures in conn.execute(query):
            if measures and coloured / measures >= COMPLETE_SHARE:
                return str(period)
    return None


def _note(balance_flag: object, data_note: object, status: str) -> str:
    """Why a row needs a second look: a balance flag, or why it is held or has no data."""
    if isinstance(balance_flag, str) and balance_flag:
        return balance_flag
    if status in ("held", "no_data") and isinstance(data_note, str):
        return data_note
    return ""


def _fmt_target(low: object, high: object, unit: str) -> str:
    """A range target reads `285–375 people`; any other target as a single figure."""
    if high is None or (isinstance(high, float) and math.isnan(high)):
        return _fmt(low, unit)
    return f"{_fmt(low, '').strip()}–{_fmt(high, unit)}"


def _fmt(value: object, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    number = float(value)  # type: ignore[arg-type]
    text = f"{number:,.0f}" if abs(number) >= 1000 else f"{number:,.1f}"
    if unit == "%":
        return f"{text} %"
    return f"{text} {unit.replace('_', ' ')}".rstrip()


def render_scorecard(settings: Settings, month: str, console: Console) -> None:
    """Perspective → objective → measure for one month, with actual vs target and status."""
    from bsc_pipeline.warehouse import read_scorecard

    engine = _engine(settings)
    rows = read_scorecard(engine, month)
    if rows.empty:
        console.print(f"[red]No published scorecard for {month}.[/]")
        return
    table = Table(title=f"Balanced scorecard — {month}", show_lines=False)
    for name, justify in (
        ("perspective / objective / measure", "left"),
        ("actual", "right"),
        ("target", "right"),
        ("status", "left"),
        ("trend", "center"),
        ("owner", "left"),
        ("note", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    arrows = {"up": "↑", "down": "↓", "flat": "→"}
    for perspective, by_perspective in rows.groupby("perspective", sort=False):
        table.add_row(f"[bold]{perspective}[/]", "", "", "", "", "", "")
        for objective, by_objective in by_perspective.groupby("objective", sort=False):
            table.add_row(f"  [italic]{objective}[/]", "", "", "", "", "", "")
            for r in by_objective.itertuples():
                note = _note(r.balance_flag, r.data_note, str(r.status))
                table.add_row(
                    f"    {r.measure_name}",
                    _fmt(r.actual, str(r.unit)),
                    _fmt_target(r.target, r.target_high, str(r.unit)),
                    STATUS_STYLE.get(str(r.status), str(r.status)),
                    arrows.get(str(r.trend), ""),
                    str(r.owner or ""),
                    str(note or ""),
                )
    console.print(table)
    counts = {str(k): int(v) for k, v in rows["status"].value_counts().items()}
    console.print("  ".join(f"{STATUS_STYLE.get(k, k)} {v}" for k, v in sorted(counts.items())))
    render_commentary(engine, month, rows, console)
    render_strategy_map(engine, month, console)


def render_commentary(engine: sa.Engine, month: str, rows: pd.DataFrame, console: Console) -> None:
    """The owners' analysis and recommendation of the month, measure by measure, card order."""
    from bsc_pipeline.updates.storage import commentary_text, latest_commentary

    said = latest_commentary(engine, month)
    names = dict(zip(rows["measure_id"], rows["measure_name"], strict=True))
    shown = [(mid, text) for mid in names if (text := commentary_text(said.get((mid, month))))]
    if not shown:
        return
    console.print(f"[bold]Owners' commentary — {month}[/]")
    for measure_id, text in shown:
        comment = said[(measure_id, month)]
        who = f" ({comment.submitted_by})" if comment.submitted_by else ""
        console.print(f"  {names[measure_id]}{who}: {text}", markup=False, highlight=False)


def render_strategy_map(engine: sa.Engine, month: str, console: Console) -> None:
    """Each cause-and-effect link as of `month`: lagged r, paired months, whether it holds."""
    if "v_strategy_map_health_as_of" not in sa.inspect(engine).get_view_names():
        return
    with engine.connect() as conn:
        links = pd.read_sql(
            sa.text(
                "SELECT * FROM v_strategy_map_health_as_of WHERE as_of_month = :p "
                "ORDER BY chain_position, driver, outcome"
            ),
            conn,
            params={"p": month},
        )
    if links.empty:
        return
    table = Table(title=f"Strategy map — link health as of {month}")
    for name, justify in (
        ("driver → outcome", "left"),
        ("lag", "right"),
        ("r", "right"),
        ("n", "right"),
        ("holds", "left"),
        ("note", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    rows = [{str(k): v for k, v in r.items()} for r in links.to_dict("records")]
    for r in rows:
        table.add_row(
            _link_name(r),
            f"{int(r['lag_months'])} mo",
            "–" if pd.isna(r["correlation"]) else f"{float(r['correlation']):+.2f}",
            str(int(r["n"])),
            _holds_mark(r["holds"], r["note"]),
            "" if pd.isna(r["note"]) else str(r["note"]),
        )
    console.print(table)
    broken = [_link_name(r) for r in rows if _is_true(r["holds"]) is False]
    if broken:
        console.print(f"[bold red]The chain breaks at[/] {'; '.join(broken)}")


def _link_name(row: dict[str, Any]) -> str:
    driver = row["driver"] if pd.isna(row["driver_name"]) else row["driver_name"]
    outcome = row["outcome"] if pd.isna(row["outcome_name"]) else row["outcome_name"]
    return f"{driver} → {outcome}"


def _is_true(value: object) -> bool | None:
    """A stored boolean (SQLite reads back 0/1) as True/False, or None when not judged."""
    if value is None or pd.isna(value):  # type: ignore[call-overload,unused-ignore]
        return None
    return bool(value)


def _holds_mark(value: object, note: object) -> str:
    judged = _is_true(value)
    if judged is True:
        return "[bold green]✓[/]"
    if judged is False:
        return "[bold red]✗[/]"
    if isinstance(note, str) and note.startswith("too little history"):
        return "[dim]not enough history[/]"
    return "[dim]not judged[/]"


def render_status(settings: Settings, console: Console) -> None:
    """Last runs, gates that failed and alerts waiting to be delivered."""
    engine = _engine(settings)
    with engine.connect() as conn:
        runs = pd.read_sql(
            sa.text("SELECT * FROM pipeline_run ORDER BY started_at DESC LIMIT 10"), conn
        )
        gates = pd.read_sql(
            sa.text(
                "SELECT month, dataset, expectation, unexpected_count FROM dq_result "
                "WHERE passed = :f ORDER BY month DESC LIMIT 10"
            ),
            conn,
            params={"f": False},
        )
        pending = pd.read_sql(
            sa.text("SELECT COUNT(*) AS n FROM alert_event WHERE state = 'pending'"), conn
        )
    _print_frame(console, "Last runs", runs)
    _print_frame(console, "Failed gate expectations", gates)
    console.print(f"Pending alerts: {int(pending['n'].iloc[0])}")
    render_missing_commentary(settings, engine, console)


def render_missing_commentary(settings: Settings, engine: sa.Engine, console: Console) -> None:
    """Red measures of the newest month whose owner has not commented, with when it is due."""
    from bsc_pipeline.spec.loader import load_spec
    from bsc_pipeline.spec.problems import SpecError
    from bsc_pipeline.updates.reminders import missing_commentary

    try:
        spec = load_spec(settings.spec_path)
    except SpecError:
        return
    missing = missing_commentary(engine, spec, settings.commentary_days)
    if not missing:
        console.print("Commentary missing on red measures: none")
        return
    table = Table(title="Commentary missing on red measures")
    for column in ("month", "measure", "owner", "due"):
        table.add_column(column)
    for item in missing:
        due = item.due_at.strftime("%Y-%m-%d %H:%M UTC")
        table.add_row(item.period, item.measure_name, str(item.owner or ""), due)
    console.print(table)


def _print_frame(console: Console, title: str, frame: pd.DataFrame) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    console.print(table)
