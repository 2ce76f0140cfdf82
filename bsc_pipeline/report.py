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


def _note(balance_flag: object, data_note: object, status: str, names: dict[str, str]) -> str:
    """Why a row needs a second look: a balance flag (in measure names), or why it is held or
    has no data."""
    from bsc_pipeline.briefing.formatting import with_names

    if isinstance(balance_flag, str) and balance_flag:
        return with_names(balance_flag, names)
    if status in ("held", "no_data") and isinstance(data_note, str):
        return data_note
    return ""


def _number(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _fmt(value: object, unit: str, decimals: int) -> str:
    """A figure in the spec's unit and decimals: `365 people`, `74.2 %`, `€1,500.0`."""
    from bsc_pipeline.briefing.formatting import format_number

    return format_number(_number(value), unit, decimals)


def _fmt_target(low: object, high: object, unit: str, decimals: int) -> str:
    """A range target reads `285–375 people`; any other target as a single figure."""
    if _number(high) is None:
        return _fmt(low, unit, decimals)
    return f"{_fmt(low, '', decimals)}–{_fmt(high, unit, decimals)}"


def _dimensions(engine: sa.Engine) -> tuple[dict[str, int], dict[str, int]]:
    """Decimals per measure and the perspectives' order, as the spec published them."""
    with engine.connect() as conn:
        decimals = {
            str(m): int(d)
            for m, d in conn.execute(sa.text("SELECT measure_id, decimals FROM dim_measure"))
        }
        order = {
            str(p): int(o)
            for p, o in conn.execute(
                sa.text("SELECT perspective_id, sort_order FROM dim_perspective")
            )
        }
    return decimals, order


def scorecard_rows(engine: sa.Engine, month: str) -> list[dict[str, Any]]:
    """The month's measures in the spec's perspective order, each with its display fields:
    decimals, formatted actual and target, and a note that names measures by their names."""
    from bsc_pipeline.warehouse import read_scorecard

    frame = read_scorecard(engine, month)
    if frame.empty:
        return []
    decimals, order = _dimensions(engine)
    records = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    names = {str(r["measure_id"]): str(r["measure_name"]) for r in records}
    position = {
        p: i for i, p in enumerate(dict.fromkeys(str(r["perspective_id"]) for r in records))
    }
    records.sort(
        key=lambda r: (
            order.get(str(r["perspective_id"]), 0),
            position[str(r["perspective_id"])],
        )
    )
    rows = []
    for r in records:
        places = decimals.get(str(r["measure_id"]), 1)
        unit = str(r["unit"] or "")
        rows.append(
            {
                "perspective": r["perspective"],
                "objective": r["objective"],
                "measure_id": r["measure_id"],
                "measure_name": r["measure_name"],
                "actual": _number(r["actual"]),
                "target": _number(r["target"]),
                "target_high": _number(r["target_high"]),
                "unit": unit,
                "decimals": places,
                "actual_text": _fmt(r["actual"], unit, places),
                "target_text": _fmt_target(r["target"], r["target_high"], unit, places),
                "status": str(r["status"]),
                "trend": None if pd.isna(r["trend"]) else str(r["trend"]),
                "owner": None if pd.isna(r["owner"]) else str(r["owner"]),
                "note": _note(r["balance_flag"], r["data_note"], str(r["status"]), names),
            }
        )
    return rows


def render_scorecard(
    settings: Settings, month: str, console: Console, *, plain: bool = False
) -> bool:
    """Perspective → objective → measure for one month, with actual vs target and status.

    `plain` (a pipe) prints one tab-separated line per measure instead of a table. Returns
    whether the month has a published scorecard.
    """
    engine = _engine(settings)
    rows = scorecard_rows(engine, month)
    if not rows:
        console.print(f"No published scorecard for {month}.", style="red", markup=False)
        return False
    arrows = {"up": "↑", "down": "↓", "flat": "→"}
    if plain:
        _plain(console, "\t".join(PLAIN_COLUMNS))
        for r in rows:
            _plain(
                console,
                "\t".join(
                    (
                        month,
                        str(r["perspective"]),
                        str(r["objective"]),
                        str(r["measure_name"]),
                        r["actual_text"],
                        r["target_text"],
                        r["status"],
                        r["trend"] or "",
                        r["owner"] or "",
                        r["note"],
                    )
                ),
            )
        render_commentary(engine, month, rows, console, plain=True)
        render_strategy_map(engine, month, console, plain=True)
        return True
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
    perspective = objective = None
    for r in rows:
        if r["perspective"] != perspective:
            perspective, objective = r["perspective"], None
            table.add_row(f"[bold]{perspective}[/]", "", "", "", "", "", "")
        if r["objective"] != objective:
            objective = r["objective"]
            table.add_row(f"  [italic]{objective}[/]", "", "", "", "", "", "")
        table.add_row(
            f"    {r['measure_name']}",
            r["actual_text"],
            r["target_text"],
            STATUS_STYLE.get(r["status"], r["status"]),
            arrows.get(r["trend"] or "", ""),
            r["owner"] or "",
            r["note"],
        )
    console.print(table)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    console.print("  ".join(f"{STATUS_STYLE.get(k, k)} {v}" for k, v in sorted(counts.items())))
    render_commentary(engine, month, rows, console)
    render_strategy_map(engine, month, console)
    return True


PLAIN_COLUMNS = (
    "period",
    "perspective",
    "objective",
    "measure",
    "actual",
    "target",
    "status",
    "trend",
    "owner",
    "note",
)
"""The header of `bsc show` in a pipe: one tab-separated line per measure under it."""

JSON_MEASURE_KEYS = (
    "perspective",
    "objective",
    "measure_id",
    "measure_name",
    "actual",
    "target",
    "target_high",
    "unit",
    "decimals",
    "status",
    "trend",
    "owner",
    "note",
)
"""The keys of each measure in `bsc show --format json`."""


def scorecard_json(settings: Settings, month: str) -> dict[str, Any] | None:
    """`bsc show --format json`: the month's measures and strategy-map links, or None."""
    engine = _engine(settings)
    rows = scorecard_rows(engine, month)
    if not rows:
        return None
    return {
        "period": month,
        "measures": [{k: r[k] for k in JSON_MEASURE_KEYS} for r in rows],
        "links": [
            {
                "driver": _link_ends(r)[0],
                "outcome": _link_ends(r)[1],
                "lag_months": int(r["lag_months"]),
                "correlation": None if pd.isna(r["correlation"]) else float(r["correlation"]),
                "n": int(r["n"]),
                "holds": _is_true(r["holds"]),
                "note": None if pd.isna(r["note"]) else str(r["note"]),
            }
            for r in _links(engine, month)
        ],
    }


def _plain(console: Console, line: str) -> None:
    """A line for a pipe, written as it is: no markup, no wrapping, tabs kept as tabs."""
    print(line, file=console.file)


def render_commentary(
    engine: sa.Engine,
    month: str,
    rows: list[dict[str, Any]],
    console: Console,
    *,
    plain: bool = False,
) -> None:
    """The owners' analysis and recommendation of the month, measure by measure, card order."""
    from bsc_pipeline.updates.storage import commentary_text, latest_commentary

    said = latest_commentary(engine, month)
    names = {str(r["measure_id"]): str(r["measure_name"]) for r in rows}
    shown = [(mid, text) for mid in names if (text := commentary_text(said.get((mid, month))))]
    if not shown:
        return
    if plain:
        _plain(console, f"# Owners' commentary {month}")
    else:
        console.print(f"[bold]Owners' commentary — {month}[/]")
    for measure_id, text in shown:
        comment = said[(measure_id, month)]
        who = f" ({comment.submitted_by})" if comment.submitted_by else ""
        if plain:
            _plain(console, f"{names[measure_id]}{who}\t{text}")
        else:
            console.print(f"  {names[measure_id]}{who}: {text}", markup=False, highlight=False)


def _links(engine: sa.Engine, month: str) -> list[dict[str, Any]]:
    """The strategy map's links as of `month`, in chain order; none before link health exists."""
    if "v_strategy_map_health_as_of" not in sa.inspect(engine).get_view_names():
        return []
    with engine.connect() as conn:
        links = pd.read_sql(
            sa.text(
                "SELECT * FROM v_strategy_map_health_as_of WHERE as_of_month = :p "
                "ORDER BY chain_position, driver, outcome"
            ),
            conn,
            params={"p": month},
        )
    return [{str(k): v for k, v in r.items()} for r in links.to_dict("records")]


def render_strategy_map(
    engine: sa.Engine, month: str, console: Console, *, plain: bool = False
) -> None:
    """Each cause-and-effect link as of `month`: lagged r, paired months, whether it holds."""
    rows = _links(engine, month)
    if not rows:
        return
    if plain:
        _plain(console, "\t".join(("link", "driver", "outcome", "lag", "r", "n", "holds", "note")))
        for r in rows:
            holds = {True: "yes", False: "no", None: "not judged"}[_is_true(r["holds"])]
            r_text = "–" if pd.isna(r["correlation"]) else f"{float(r['correlation']):+.2f}"
            note = "" if pd.isna(r["note"]) else str(r["note"])
            lag = f"{int(r['lag_months'])} mo"
            _plain(
                console,
                "\t".join(("link", *_link_ends(r), lag, r_text, str(int(r["n"])), holds, note)),
            )
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


def _link_ends(row: dict[str, Any]) -> tuple[str, str]:
    """Driver and outcome by name (by id for a measure no longer in the spec)."""
    driver = row["driver"] if pd.isna(row["driver_name"]) else row["driver_name"]
    outcome = row["outcome"] if pd.isna(row["outcome_name"]) else row["outcome_name"]
    return str(driver), str(outcome)


def _link_name(row: dict[str, Any]) -> str:
    driver, outcome = _link_ends(row)
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


def _status_frames(
    settings: Settings,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """The last ten runs, the last ten failed gate expectations, the last ten held measures,
    the last ten decisions on holds, the pending alert count."""
    from bsc_pipeline.quality.cli import DECISION_KEYS
    from bsc_pipeline.quality.decisions import read_decisions

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
        held = pd.read_sql(
            sa.text(
                "SELECT as_of_month AS month, measure_id, data_note AS why "
                "FROM fact_measure_period WHERE period_type = 'month' "
                "AND period = as_of_month AND data_state = 'held' "
                "ORDER BY as_of_month DESC, measure_id LIMIT 10"
            ),
            conn,
        )
        pending = pd.read_sql(
            sa.text("SELECT COUNT(*) AS n FROM alert_event WHERE state = 'pending'"), conn
        )
    decisions = pd.DataFrame(
        [{k: getattr(d, k) for k in DECISION_KEYS} for d in read_decisions(engine, limit=10)],
        columns=list(DECISION_KEYS),
    )
    return runs, gates, held, decisions, int(pending["n"].iloc[0])


def _missing_commentary(settings: Settings, engine: sa.Engine) -> pd.DataFrame:
    """Red measures of the newest month whose owner has not commented, with when it is due."""
    from bsc_pipeline.spec.loader import load_spec
    from bsc_pipeline.spec.problems import SpecError
    from bsc_pipeline.updates.reminders import missing_commentary

    columns = ["month", "measure", "owner", "due"]
    try:
        spec = load_spec(settings.spec_path)
    except SpecError:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(
        [
            (m.period, m.measure_name, str(m.owner or ""), m.due_at.strftime("%Y-%m-%d %H:%M UTC"))
            for m in missing_commentary(engine, spec, settings.commentary_days)
        ],
        columns=columns,
    )


def render_status(settings: Settings, console: Console, *, plain: bool = False) -> None:
    """Last runs, gates that failed, measures held, people's decisions, alerts waiting.

    `plain` (a pipe) prints each section as a title line, a tab-separated header and rows.
    """
    runs, gates, held, decisions, pending = _status_frames(settings)
    _print_frame(console, "Last runs", runs, plain)
    _print_frame(console, "Failed gate expectations", gates, plain)
    _print_frame(
        console, "Held measures (bsc dq accept / reject, see docs/runbook.md)", held, plain
    )
    if not decisions.empty:
        _print_frame(console, "Decisions on held months", decisions, plain)
    missing = _missing_commentary(settings, _engine(settings))
    _print_frame(console, "Commentary missing on red measures", missing, plain)
    if plain:
        _plain(console, f"Pending alerts: {pending}")
    else:
        console.print(f"Pending alerts: {pending}")


def status_json(settings: Settings) -> dict[str, Any]:
    """`bsc status --format json`: `runs`, `failed_gates`, `held_measures`, `decisions`,
    `missing_commentary` and `pending_alerts`."""
    runs, gates, held, decisions, pending = _status_frames(settings)
    return {
        "runs": _records(runs),
        "failed_gates": _records(gates),
        "held_measures": _records(held),
        "decisions": _records(decisions),
        "missing_commentary": _records(_missing_commentary(settings, _engine(settings))),
        "pending_alerts": pending,
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, a missing value as None (JSON null), not NaN."""
    return [
        {str(k): (None if _missing(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str | bytes) and bool(pd.isna(value)))  # type: ignore[call-overload,unused-ignore]


def _print_frame(console: Console, title: str, frame: pd.DataFrame, plain: bool) -> None:
    cells = [["" if _missing(v) else str(v) for v in row] for row in frame.itertuples(index=False)]
    if plain:
        _plain(console, f"# {title}")
        _plain(console, "\t".join(str(c) for c in frame.columns))
        for row in cells:
            _plain(console, "\t".join(row))
        return
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in cells:
        table.add_row(*row)
    console.print(table)
