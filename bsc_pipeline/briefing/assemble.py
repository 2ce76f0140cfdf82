"""One month of the published warehouse assembled into a `Briefing`.

Only what finance sees is read: the reporting views (`v_scorecard_monthly`,
`v_scorecard_period_as_of`, `v_rollup_period_as_of`, `v_strategy_map_health_as_of`) and the
published dimensions for what no view carries (decimals, lead/lag, perspective order,
initiatives). Nothing is recomputed here: every figure is the published one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.briefing.formatting import (
    format_number,
    format_percent,
    is_missing,
    with_names,
)
from bsc_pipeline.briefing.model import (
    STATUSES,
    Briefing,
    Figure,
    Headline,
    InitiativeRow,
    LinkView,
    MeasureRow,
    ObjectiveBlock,
    PeriodFigure,
    PerspectiveBlock,
    SparkPoint,
    StatusChange,
)
from bsc_pipeline.periods import Month, month_range
from bsc_pipeline.spec.models import Spec
from bsc_pipeline.warehouse.readings import (
    commentary_line,
    read_commentary,
    read_rollups,
    read_scorecard,
)

HISTORY_MONTHS = 13
"""A sparkline spans this month and the twelve before it: the same month last year is on it."""
CLASSIC_ORDER = ("financ", "customer", "internal", "process", "learning", "growth", "people")
"""Kaplan and Norton's order, used only to break ties when perspectives share a spec `order`."""


class BriefingError(Exception):
    """The month cannot be reported: nothing is published for it."""


class UnknownOwnerError(BriefingError):
    """An owner view was asked for an owner the warehouse does not know."""


@dataclass(frozen=True)
class _Dimensions:
    decimals: dict[str, int]
    lead_lag: dict[str, str]
    perspective_order: dict[str, int]
    perspectives: dict[str, str]
    owners: dict[str, str]
    objectives: dict[str, str]
    initiatives: pd.DataFrame


def assemble_briefing(
    engine: Engine, month: str, *, spec: Spec | None = None, owner: str | None = None
) -> Briefing:
    """The briefing for `month` as published; with `owner`, that owner's view of it.

    `spec`, when given, names the scorecard, gives its currency and breaks ties in display order
    the way the spec lists things; figures still come only from the warehouse.
    """
    month = str(Month.parse(month))
    previous = str(Month.parse(month).shift(-1))
    rows = read_scorecard(engine, month)
    if rows.empty:
        raise BriefingError(f"no published scorecard for {month}: run the month first")
    dims = _read_dimensions(engine)
    if owner is not None and owner not in dims.owners:
        known = ", ".join(sorted(dims.owners)) or "none"
        raise UnknownOwnerError(f"unknown owner {owner!r}; owners in the warehouse: {known}")
    months = [
        str(m)
        for m in month_range(Month.parse(month).shift(-(HISTORY_MONTHS - 1)), Month.parse(month))
    ]
    history = _read_history(engine, months)
    periods = {
        kind: _by_measure(read_scorecard(engine, month, kind)) for kind in ("quarter", "ytd")
    }
    rollups = _month_rollups(read_rollups(engine, month), month)
    previous_rollups = _month_rollups(read_rollups(engine, previous), previous)
    links = _read_links(engine, month, rows)

    records = _records(rows)
    names = {str(r["measure_id"]): str(r["measure_name"]) for r in records}
    measures = [_measure_row(r, dims, history, periods, months, previous, names) for r in records]
    said = _commentary(engine, month)
    measures = [replace(m, commentary=said.get(m.measure_id, "")) for m in measures]
    if owner is not None:
        measures, links = _owner_view(owner, measures, links)
    ranks = _ranks(spec)
    perspectives = _perspectives(measures, rollups, dims, ranks)
    currency = spec.scorecard.currency if spec else "EUR"
    initiatives = _initiatives(dims, currency, owner)
    scorecard = rollups.get(("scorecard", "scorecard"), {})
    headline = Headline(
        score=_number(scorecard.get("score")),
        status=str(scorecard.get("status") or "no_data"),
        previous_score=_number(previous_rollups.get(("scorecard", "scorecard"), {}).get("score")),
        data_confidence=_number(scorecard.get("data_confidence")),
        counts=_counts(m.status for m in measures),
        changes=tuple(
            StatusChange(m.measure_id, m.name, m.previous_status, m.status)
            for p in perspectives
            for m in p.measures
            if m.previous_status is not None and m.previous_status != m.status
        ),
    )
    published = pd.to_datetime(rows["published_at"], utc=True).max()
    return Briefing(
        month=month,
        previous_month=previous,
        scorecard_name=spec.scorecard.name if spec else "Balanced scorecard",
        headline=headline,
        perspectives=perspectives,
        links=tuple(links),
        initiatives=initiatives,
        published_at=published.strftime("%Y-%m-%d %H:%M UTC") if not pd.isna(published) else "",
        owner_id=owner,
        owner_name=dims.owners.get(owner) if owner else None,
        notes=(_period_state_note(engine, month),),
    )


def _read_dimensions(engine: Engine) -> _Dimensions:
    with engine.connect() as conn:
        measures = conn.execute(sa.text("SELECT measure_id, decimals, lead_lag FROM dim_measure"))
        decimals: dict[str, int] = {}
        lead_lag: dict[str, str] = {}
        for measure_id, digits, tag in measures:
            decimals[measure_id] = int(digits) if digits is not None else 1
            lead_lag[measure_id] = str(tag or "")
        order: dict[str, int] = {}
        perspectives: dict[str, str] = {}
        query = sa.text("SELECT perspective_id, name, sort_order FROM dim_perspective")
        for pid, name, rank in conn.execute(query):
            order[pid] = int(rank or 0)
            perspectives[pid] = str(name)
        owners = {
            oid: str(name)
            for oid, name in conn.execute(sa.text("SELECT owner_id, name FROM dim_owner"))
        }
        objectives = {
            oid: str(name)
            for oid, name in conn.execute(sa.text("SELECT objective_id, name FROM dim_objective"))
        }
        initiatives = pd.read_sql(
            sa.text("SELECT * FROM dim_initiative ORDER BY objective_id, initiative_id"), conn
        )
    if not initiatives.empty:
        initiatives = initiatives[initiatives["in_spec"].map(bool)]
    return _Dimensions(decimals, lead_lag, order, perspectives, owners, objectives, initiatives)


def _read_history(engine: Engine, months: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """measure → month → the row of `v_scorecard_monthly` for the sparkline and the change."""
    query = sa.text(
        "SELECT measure_id, period, actual, target, status FROM v_scorecard_monthly "
        "WHERE period >= :first AND period <= :last"
    )
    with engine.connect() as conn:
        result = conn.execute(query, {"first": months[0], "last": months[-1]})
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for measure_id, period, actual, target, status in result:
            out.setdefault(measure_id, {})[str(period)] = {
                "actual": _number(actual),
                "target": _number(target),
                "status": str(status or "no_data"),
            }
    return out


def _commentary(engine: Engine, month: str) -> dict[str, str]:
    """measure → the owner's commentary of the month, as one line."""
    said = read_commentary(engine)
    said = said[said["period"] == month]
    lines = {
        str(r["measure_id"]): commentary_line(r["analysis"], r["recommendation"])
        for r in said.to_dict("records")
    }
    return {k: v for k, v in lines.items() if v}


def _by_measure(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(r["measure_id"]): r for r in _records(frame)}


def _month_rollups(frame: pd.DataFrame, month: str) -> dict[tuple[str, str], dict[str, Any]]:
    if frame.empty:
        return {}
    frame = frame[(frame["period_type"] == "month") & (frame["period"] == month)]
    return {(str(r["level"]), str(r["node_id"])): r for r in _records(frame)}


def _read_links(engine: Engine, month: str, rows: pd.DataFrame) -> list[LinkView]:
    """Links with their health at the month's run; a balance flag fires on driver or outcome."""
    if "v_strategy_map_health_as_of" not in sa.inspect(engine).get_view_names():
        return []
    query = sa.text(
        "SELECT driver, driver_name, outcome, outcome_name, lag_months, chain_position, "
        "correlation, holds, note FROM v_strategy_map_health_as_of WHERE as_of_month = :m "
        "ORDER BY chain_position, driver, outcome"
    )
    with engine.connect() as conn:
        health = conn.execute(query, {"m": month}).mappings().all()
    flags = {
        str(r["measure_id"]): str(r["balance_flag"])
        for r in _records(rows)
        if isinstance(r["balance_flag"], str) and r["balance_flag"]
    }
    links = []
    for h in health:
        driver, outcome = str(h["driver"]), str(h["outcome"])
        fired = f"driver {driver} is red" in flags.get(outcome, "") or (
            f"outcome {outcome} is green" in flags.get(driver, "")
        )
        links.append(
            LinkView(
                driver=driver,
                outcome=outcome,
                driver_name=str(h["driver_name"] or driver),
                outcome_name=str(h["outcome_name"] or outcome),
                lag_months=int(h["lag_months"] or 0),
                holds=None if h["holds"] is None else bool(h["holds"]),
                correlation=_number(h["correlation"]),
                note=str(h["note"] or ""),
                balance_flag=fired,
            )
        )
    return links


def _measure_row(
    r: Mapping[str, Any],
    dims: _Dimensions,
    history: Mapping[str, Mapping[str, Mapping[str, Any]]],
    periods: Mapping[str, Mapping[str, Mapping[str, Any]]],
    months: Sequence[str],
    previous: str,
    names: Mapping[str, str],
) -> MeasureRow:
    measure_id = str(r["measure_id"])
    unit = str(r["unit"] or "")
    decimals = dims.decimals.get(measure_id, 1)
    status = str(r["status"] or "no_data")
    own = history.get(measure_id, {})
    points = tuple(
        SparkPoint(
            month=m,
            actual=own.get(m, {}).get("actual"),
            target=own.get(m, {}).get("target"),
            status=str(own.get(m, {}).get("status", "no_data")),
        )
        for m in months
    )
    flag = with_names(r["balance_flag"], names) if isinstance(r["balance_flag"], str) else ""
    return MeasureRow(
        measure_id=measure_id,
        name=str(r["measure_name"]),
        objective_id=str(r["objective_id"]),
        perspective_id=str(r["perspective_id"]),
        owner_id=None if is_missing(r["owner_id"]) else str(r["owner_id"]),
        owner="" if is_missing(r["owner"]) else str(r["owner"]),
        lead_lag=dims.lead_lag.get(measure_id, ""),
        actual=_figure(r["actual"], unit, decimals),
        target=_target(r["target"], r["target_high"], unit, decimals),
        variance=_figure(r["variance"], unit, decimals, signed=True),
        variance_pct=Figure(
            _number(r["variance_pct"]), format_percent(_number(r["variance_pct"]), signed=True)
        ),
        status=status,
        previous_status=own.get(previous, {}).get("status"),
        trend=None if is_missing(r["trend"]) else str(r["trend"]),
        quarter=_period_figure(periods["quarter"].get(measure_id), unit, decimals),
        ytd=_period_figure(periods["ytd"].get(measure_id), unit, decimals),
        note=_note(status, r["data_state"], r["data_note"], r["is_official"]),
        balance_flag=flag,
        history=points,
    )


def _note(status: str, state: object, note: object, official: object) -> str:
    """Why a figure needs care: held or missing data, a partial month, an unofficial status."""
    parts = []
    if status in ("held", "no_data") or state == "partial":
        parts.append(str(note) if isinstance(note, str) and note else "no reason recorded")
    if official is not None and official is not pd.NA and not bool(official):
        parts.append("month-to-date status; official at quarter close")
    return "; ".join(parts)


def _figure(value: object, unit: str, decimals: int, *, signed: bool = False) -> Figure:
    number = _number(value)
    return Figure(number, format_number(number, unit, decimals, signed=signed))


def _target(low: object, high: object, unit: str, decimals: int) -> Figure:
    """A range target reads `285–375 employees`; any other target as one figure."""
    number = _number(low)
    if _number(high) is None:
        return _figure(number, unit, decimals)
    low_text = format_number(number, "", decimals)
    return Figure(number, f"{low_text}–{format_number(_number(high), unit, decimals)}")


def _period_figure(r: Mapping[str, Any] | None, unit: str, decimals: int) -> PeriodFigure | None:
    if r is None:
        return None
    return PeriodFigure(
        label=str(r["period"]),
        actual=_figure(r["actual"], unit, decimals),
        status=str(r["status"] or "no_data"),
        is_partial=bool(r["is_partial"]) if r["is_partial"] is not pd.NA else False,
    )


def _owner_view(
    owner: str, measures: list[MeasureRow], links: list[LinkView]
) -> tuple[list[MeasureRow], list[LinkView]]:
    """The owner's measures, the drivers that move them and the outcomes they feed."""
    own = {m.measure_id for m in measures if m.owner_id == owner}
    drivers = {link.driver for link in links if link.outcome in own} - own
    outcomes = {link.outcome for link in links if link.driver in own} - own
    roles = {**dict.fromkeys(drivers, "driver"), **dict.fromkeys(outcomes, "outcome")}
    roles.update(dict.fromkeys(own, "own"))
    kept = [replace(m, role=roles[m.measure_id]) for m in measures if m.measure_id in roles]
    kept_links = [link for link in links if link.driver in own or link.outcome in own]
    return kept, kept_links


def _ranks(spec: Spec | None) -> dict[str, int]:
    """Position of each perspective, objective and measure in the spec, to order ties."""
    if spec is None:
        return {}
    ids: Iterable[str] = [
        *(p.id for p in spec.perspectives),
        *(o.id for o in spec.objectives),
        *(m.id for m in spec.measures),
    ]
    return {node: i for i, node in enumerate(ids)}


def _classic_rank(perspective_id: str, name: str) -> int:
    text = f"{perspective_id} {name}".lower()
    for i, word in enumerate(CLASSIC_ORDER):
        if word in text:
            return i
    return len(CLASSIC_ORDER)


def _perspectives(
    measures: Sequence[MeasureRow],
    rollups: Mapping[tuple[str, str], Mapping[str, Any]],
    dims: _Dimensions,
    ranks: Mapping[str, int],
) -> tuple[PerspectiveBlock, ...]:
    """Perspective → objective → measure, perspectives in the spec's `order`."""
    by_objective: dict[str, list[MeasureRow]] = {}
    for m in measures:
        by_objective.setdefault(m.objective_id, []).append(m)
    blocks = []
    for pid in dict.fromkeys(m.perspective_id for m in measures):
        node = rollups.get(("perspective", pid), {})
        name = str(node.get("node_name") or dims.perspectives.get(pid, pid))
        objectives = []
        for oid in sorted(
            {m.objective_id for m in measures if m.perspective_id == pid},
            key=lambda o: (ranks.get(o, len(ranks)), o),
        ):
            onode = rollups.get(("objective", oid), {})
            rows = sorted(
                by_objective[oid], key=lambda m: (ranks.get(m.measure_id, len(ranks)), m.measure_id)
            )
            objectives.append(
                ObjectiveBlock(
                    objective_id=oid,
                    name=str(onode.get("node_name") or dims.objectives.get(oid, oid)),
                    status=str(onode.get("status") or "no_data"),
                    score=_number(onode.get("score")),
                    measures=tuple(rows),
                )
            )
        blocks.append(
            PerspectiveBlock(
                perspective_id=pid,
                name=name,
                status=str(node.get("status") or "no_data"),
                score=_number(node.get("score")),
                data_confidence=_number(node.get("data_confidence")),
                objectives=tuple(objectives),
            )
        )
    return tuple(
        sorted(
            blocks,
            key=lambda b: (
                dims.perspective_order.get(b.perspective_id, 0),
                ranks.get(b.perspective_id, len(ranks))
                if ranks
                else _classic_rank(b.perspective_id, b.name),
                b.name,
            ),
        )
    )


def _initiatives(dims: _Dimensions, currency: str, owner: str | None) -> tuple[InitiativeRow, ...]:
    frame = dims.initiatives
    if owner is not None and not frame.empty:
        frame = frame[frame["owner_id"] == owner]
    return tuple(
        InitiativeRow(
            initiative_id=str(r["initiative_id"]),
            name=str(r["name"]),
            objective=dims.objectives.get(str(r["objective_id"]), str(r["objective_id"])),
            owner=dims.owners.get(str(r["owner_id"]), str(r["owner_id"])),
            status=str(r["status"]),
            budget=_figure(r["budget"], currency, 0),
            start=_date(r["start_date"]),
            end=_date(r["end_date"]),
        )
        for r in _records(frame)
    )


def _period_state_note(engine: Engine, month: str) -> str:
    from bsc_pipeline.warehouse.period_close import period_state

    if period_state(engine, month) == "closed":
        return f"{month} is closed: these figures are final."
    return f"{month} is open: figures may still be restated, each with a recorded reason."


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _counts(statuses: Iterable[str]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


def _number(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if number != number else number


def _date(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)[:10]
