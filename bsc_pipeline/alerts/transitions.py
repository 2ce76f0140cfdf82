"""Which alert events a published month creates: status transitions per measure, planned purely.

A measure is judged on its official rows only (a monthly measure on its month row, a quarterly
measure on its complete quarter row), so a quarter-to-date wobble never pages anyone. Each event
carries a dedup key (measure, period, state); the outbox refuses a key it already holds, so
planning the same month twice creates nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from bsc_pipeline.spec.formula import parse_formula
from bsc_pipeline.spec.models import Spec

EventKind = Literal[
    "red",
    "recovery",
    "repeat",
    "held",
    "no_data",
    "state",
    "pipeline_failure",
    "dead_letter",
    "commentary_reminder",
]
JUDGED = ("green", "amber", "red")
"""Statuses that say something about performance; `held` and `no_data` say something about data."""
DATA_STATES = ("held", "no_data")
HISTORY_LENGTH = 6
"""How many recent periods a message shows as the trend."""
SCORECARD_VIEW = "v_scorecard_monthly"
PENDING, HISTORICAL = "pending", "historical"
"""Outbox states an event starts in: to deliver, or kept as history and never sent."""

_EVENT_NAMESPACE = uuid.UUID("6f1d8c1e-5c0a-4a57-9a37-3f0c1b2d4e5a")


@dataclass(frozen=True)
class AlertEvent:
    """One thing an owner must hear about once; the payload holds everything the message says."""

    dedup_key: str
    kind: EventKind
    recipient: str
    run_id: str
    measure_id: str | None = None
    period: str | None = None
    status: str | None = None
    previous_status: str | None = None
    is_restatement: bool = False
    historical: bool = False
    """Recorded but never sent: its month is history to the owner (see `alerts.recency`)."""
    payload: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def event_id(self) -> str:
        """Derived from the dedup key, so the same event always gets the same id."""
        return uuid.uuid5(_EVENT_NAMESPACE, self.dedup_key).hex

    def to_row(self) -> dict[str, Any]:
        """The `alert_event` row, less `created_at` which the writer sets."""
        return {
            "event_id": self.event_id,
            "dedup_key": self.dedup_key,
            "kind": self.kind,
            "measure_id": self.measure_id,
            "period": self.period,
            "status": self.status,
            "previous_status": self.previous_status,
            "recipient_owner_id": self.recipient,
            "is_restatement": self.is_restatement,
            "payload": self.payload,
            "run_id": self.run_id,
            "state": HISTORICAL if self.historical else PENDING,
        }


def dedup_key(measure_id: str, period: str, state: str) -> str:
    """Stable text key: a repeat shares the `red` state, so one period alerts red at most once."""
    return f"{measure_id}/{period}/{'red' if state == 'repeat' else state}"


def _period_index(labels: pd.Series) -> pd.Series:
    """Month labels as months since year 0, quarter labels as quarters; differences count periods.

    Official rows of one measure are all months or all quarters, so the two scales never mix.
    """
    text = labels.astype("string")
    month = text.str.extract(r"^(\d{4})-(\d{2})$").astype("Float64")
    quarter = text.str.extract(r"^FY(\d{4})-Q([1-4])$").astype("Float64")
    return (month[0] * 12 + month[1] - 1).fillna(quarter[0] * 4 + quarter[1])


def data_owners(spec: Spec) -> dict[str, str]:
    """Measure → owner of the first dataset it is computed from (through ratios and formulas)."""
    by_id = {m.id: m for m in spec.measures}

    def sources(measure_id: str, seen: frozenset[str]) -> list[str]:
        measure = by_id.get(measure_id)
        if measure is None or measure_id in seen:
            return []
        inner = seen | {measure_id}
        match measure.kind:
            case "base" | "snapshot":
                return [measure.source]
            case "ratio":
                return sources(measure.numerator, inner) + sources(measure.denominator, inner)
            case "change":
                return sources(measure.of, inner)
            case "derived":
                names = sorted(parse_formula(measure.formula).names)
                return [s for name in names for s in sources(name, inner)]
        return []

    owners: dict[str, str] = {}
    for measure in spec.measures:
        owned = [s for s in sources(measure.id, frozenset()) if s in spec.datasets]
        if owned:
            owners[measure.id] = spec.datasets[owned[0]].owner
    return owners


def plan_events(
    spec: Spec,
    current: pd.DataFrame,
    previous: pd.DataFrame,
    *,
    run_id: str,
    is_restatement: bool = False,
    data_owner_for: Mapping[str, str] | None = None,
    last_red_alert: Mapping[str, str] | None = None,
) -> list[AlertEvent]:
    """Events for the official rows of `current`, judged against the statuses in `previous`.

    `previous` holds earlier published scored rows (at least each measure's prior official
    period; more periods give a longer trend). For a restatement it may also hold the old version
    of the restated period, which is then what the new status is compared with.
    `last_red_alert` maps a measure to the period of its last red or repeat alert, so a still-red
    measure repeats after `spec.alerts.repeat_after_periods`; a measure missing from it is due.
    """
    if previous.empty:
        previous = current.iloc[0:0]
    official = _official(spec, current)
    now = official.drop_duplicates("measure_id", keep="last").reset_index(drop=True)
    if now.empty:
        return []
    history = (
        pd.concat([_official(spec, previous), official], ignore_index=True)
        .sort_values(["measure_id", "period"], kind="stable")
        .drop_duplicates(["measure_id", "period"], keep="last")
    )
    prior = _prior_judged(now, _official(spec, previous), history, is_restatement)
    merged = now.merge(prior, on="measure_id", how="left")
    kinds = _kinds(spec, merged, last_red_alert or {})
    merged = merged.assign(kind=kinds)[kinds != ""]
    owners = data_owners(spec) if data_owner_for is None else dict(data_owner_for)
    return [
        _event(spec, row, current, history, owners, run_id, is_restatement)
        for row in merged.to_dict("records")
    ]


def state_events(
    spec: Spec, current: pd.DataFrame, previous: pd.DataFrame, *, month: str, run_id: str
) -> list[AlertEvent]:
    """One `state` event per measure owner: where each of their measures stands as of `month`.

    A backfill tells owners the present once, not the path there: each measure's latest official
    status (a quarterly measure's last complete quarter), value, target and, when red, since when.
    """
    if previous.empty:
        previous = current.iloc[0:0]
    history = (
        pd.concat([_official(spec, previous), _official(spec, current)], ignore_index=True)
        .sort_values(["measure_id", "period", "as_of_month"], kind="stable")
        .drop_duplicates(["measure_id", "period"], keep="last")
    )
    newest_rows = history.drop_duplicates("measure_id", keep="last").to_dict("records")
    latest = {row["measure_id"]: row for row in newest_rows}
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for measure in spec.scored_measures():
        row = latest.get(measure.id)
        if measure.owner is None or row is None:
            continue
        by_owner.setdefault(measure.owner, []).append(
            {
                "measure_id": measure.id,
                "measure_name": measure.name,
                "unit": measure.unit,
                "decimals": measure.decimals,
                "period": row["period"],
                "status": row["status"],
                "value": _number(row.get("value")),
                "target": _number(row.get("target")),
                "target_high": _number(row.get("target_high")),
                "red_since": _red_since(history, measure.id, row["period"])
                if row["status"] == "red"
                else None,
            }
        )
    return [
        AlertEvent(
            dedup_key=f"state/{owner}/{month}",
            kind="state",
            recipient=owner,
            run_id=run_id,
            period=month,
            payload={
                "as_of_month": month,
                "measures": measures,
                "run_id": run_id,
                "where": SCORECARD_VIEW,
            },
        )
        for owner, measures in by_owner.items()
    ]


def _official(spec: Spec, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows a measure is judged on; one per measure, period and the latest run that scored it."""
    if frame.empty:
        return frame.assign(status=pd.Series(dtype=object))
    review = frame["measure_id"].map({m.id: m.review for m in spec.scored_measures()})
    complete = ~_bool_column(frame, "is_partial", default=False)
    mask = ((review == "monthly") & (frame["period_type"] == "month")) | (
        (review == "quarterly") & (frame["period_type"] == "quarter") & complete
    )
    mask &= _bool_column(frame, "is_official", default=True)
    rows = frame[mask].sort_values(["measure_id", "period", "as_of_month"], kind="stable")
    return rows.drop_duplicates(["measure_id", "period"], keep="last").reset_index(drop=True)


def _bool_column(frame: pd.DataFrame, column: str, *, default: bool) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(default, index=frame.index)
    return frame[column].astype("boolean").fillna(default).astype(bool)


def _prior_judged(
    now: pd.DataFrame, previous: pd.DataFrame, history: pd.DataFrame, is_restatement: bool
) -> pd.DataFrame:
    """Per measure, the last green/amber/red status before the current period.

    `held` and `no_data` are skipped: missing data does not end a red streak nor start a recovery.
    """
    current = now[["measure_id", "period"]].rename(columns={"period": "current_period"})
    candidates = history[history["status"].isin(JUDGED)].merge(current, on="measure_id")
    candidates = candidates[candidates["period"] < candidates["current_period"]].assign(rank=0)
    if is_restatement:
        restated = previous[previous["status"].isin(JUDGED)].merge(current, on="measure_id")
        restated = restated[restated["period"] == restated["current_period"]].assign(rank=1)
        candidates = pd.concat([candidates, restated], ignore_index=True)
    latest = candidates.sort_values(
        ["measure_id", "rank", "period", "as_of_month"]
    ).drop_duplicates("measure_id", keep="last")
    return latest[["measure_id", "period", "status", "value"]].rename(
        columns={
            "period": "previous_period",
            "status": "previous_status",
            "value": "previous_value",
        }
    )


def _kinds(spec: Spec, rows: pd.DataFrame, last_red_alert: Mapping[str, str]) -> np.ndarray:
    """The event kind of each row, or "" when nothing changed that anyone must hear about."""
    status, before = rows["status"], rows["previous_status"]
    last_alert = rows["measure_id"].map(dict(last_red_alert))
    since = _period_index(rows["period"]) - _period_index(last_alert)
    due = (since.isna() | (since >= spec.alerts.repeat_after_periods)).fillna(True).astype(bool)
    same_period = rows["previous_period"] == rows["period"]
    return np.select(
        [
            (status == "red") & (before != "red"),
            (status == "red") & (before == "red") & due & ~same_period,
            status.isin(["green", "amber"]) & (before == "red"),
            status == "held",
            # A measure that never had a value (growth in its first year) is not news, nor one
            # whose source has not started delivering (data_state not_started).
            (status == "no_data") & before.isin(JUDGED) & ~_not_started(rows),
        ],
        ["red", "repeat", "recovery", "held", "no_data"],
        default="",
    )


def _not_started(rows: pd.DataFrame) -> pd.Series:
    """Rows with no data because a source had not started yet: nothing went missing."""
    if "data_state" not in rows.columns:
        return pd.Series(False, index=rows.index)
    return (rows["data_state"] == "not_started").fillna(False).astype(bool)


def _event(
    spec: Spec,
    row: Mapping[str, Any],
    current: pd.DataFrame,
    history: pd.DataFrame,
    data_owners_by_measure: Mapping[str, str],
    run_id: str,
    is_restatement: bool,
) -> AlertEvent:
    measure = spec.measure(row["measure_id"])
    kind: EventKind = row["kind"]
    if kind in DATA_STATES:
        recipient = data_owners_by_measure.get(measure.id) or _fallback(spec)
    else:
        recipient = measure.owner or _fallback(spec)
    payload = {
        "measure_id": measure.id,
        "measure_name": measure.name,
        "unit": measure.unit,
        "decimals": measure.decimals,
        "direction": measure.direction,
        "review": measure.review,
        "period_type": row["period_type"],
        "period": row["period"],
        "as_of_month": row["as_of_month"],
        "status": row["status"],
        "previous_status": _text(row.get("previous_status")),
        "previous_period": _text(row.get("previous_period")),
        "previous_value": _number(row.get("previous_value")),
        "value": _number(row.get("value")),
        "target": _number(row.get("target")),
        "target_high": _number(row.get("target_high")),
        "variance": _number(row.get("variance")),
        "variance_pct": _number(row.get("variance_pct")),
        "trend": _text(row.get("trend")),
        "data_note": _text(row.get("data_note")),
        "history": _recent(history, measure.id),
        "red_since": _red_since(history, measure.id, row["period"])
        if row["status"] == "red"
        else None,
        "drivers": _linked(spec, current, row, "driver"),
        "outcomes": _linked(spec, current, row, "outcome"),
        "is_restatement": is_restatement,
        "run_id": run_id,
        "where": SCORECARD_VIEW,
    }
    return AlertEvent(
        dedup_key=dedup_key(measure.id, row["period"], kind),
        kind=kind,
        recipient=recipient,
        run_id=run_id,
        measure_id=measure.id,
        period=row["period"],
        status=row["status"],
        previous_status=payload["previous_status"],
        is_restatement=is_restatement,
        payload=payload,
    )


def _fallback(spec: Spec) -> str:
    receiver = spec.alerts.fallback_owner or spec.alerts.engineers
    if receiver is None:
        raise ValueError(
            "an alert has no receiver: give the measure (or its dataset) an owner, "
            "or set alerts.fallback_owner in the spec"
        )
    return receiver


def _recent(history: pd.DataFrame, measure_id: str) -> list[dict[str, Any]]:
    """The last few official periods of one measure, oldest first."""
    rows = history[history["measure_id"] == measure_id].tail(HISTORY_LENGTH)
    return [
        {"period": r["period"], "value": _number(r.get("value")), "status": r["status"]}
        for r in rows.to_dict("records")
    ]


def _red_since(history: pd.DataFrame, measure_id: str, period: str) -> str | None:
    """First period of the red streak that ends with `period` (a red one).

    `held` and `no_data` periods neither end the streak nor start it, as in the transitions.
    """
    rows = history[(history["measure_id"] == measure_id) & (history["period"] <= period)]
    since = None
    for status, label in reversed(list(zip(rows["status"], rows["period"], strict=True))):
        if status == "red":
            since = label
        elif status in JUDGED:
            break
    return since


def _linked(
    spec: Spec, current: pd.DataFrame, row: Mapping[str, Any], role: Literal["driver", "outcome"]
) -> list[dict[str, Any]]:
    """Status of the measures linked to this one: its drivers (the why) or outcomes (at risk).

    A linked measure is shown for the same period when it has a row for it, else for its month.
    """
    other = "outcome" if role == "driver" else "driver"
    links = [link for link in spec.links if getattr(link, other) == row["measure_id"]]
    found: list[dict[str, Any]] = []
    for link in links:
        linked_id = getattr(link, role)
        rows = current[current["measure_id"] == linked_id]
        same = rows[(rows["period_type"] == row["period_type"]) & (rows["period"] == row["period"])]
        month = rows[(rows["period_type"] == "month") & (rows["period"] == row["as_of_month"])]
        chosen = same if not same.empty else month
        record = chosen.iloc[-1].to_dict() if not chosen.empty else {}
        found.append(
            {
                "measure_id": linked_id,
                "measure_name": _name(spec, linked_id),
                **_format_of(spec, linked_id),
                "lag_months": link.lag_months,
                "period": _text(record.get("period")),
                "status": _text(record.get("status")) or "no_data",
                "value": _number(record.get("value")),
                "target": _number(record.get("target")),
            }
        )
    return found


def _format_of(spec: Spec, measure_id: str) -> dict[str, Any]:
    """Unit and decimals of a linked measure, so its figure reads as the spec shows it."""
    try:
        measure = spec.measure(measure_id)
    except KeyError:
        return {}
    return {"unit": measure.unit, "decimals": measure.decimals}


def _name(spec: Spec, measure_id: str) -> str:
    try:
        return spec.measure(measure_id).name
    except KeyError:
        return measure_id


def _number(value: Any) -> float | None:
    """JSON-safe number: NaN and missing become None, never 0."""
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)
