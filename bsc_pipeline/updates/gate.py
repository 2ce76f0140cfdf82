"""The gate of returned update files: each row must be the owner's, about a measure that takes it.

Rules need the spec (who owns what, which measures are manual, their units and valid ranges), so
they run here rather than in the contract-driven suites; the verdict, staged frame and
quarantine have the layout of every other gate (`bsc_pipeline.quality.gate`). A bad row is
quarantined with its file, line and reason; the month never fails for it, so the other rows,
and every measure that does not read the updates, publish as usual.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bsc_pipeline.quality.gate import (
    LINEAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    ExpectationOutcome,
    GateOutcome,
    GateResult,
    empty_quarantine,
)
from bsc_pipeline.spec.models import ManualMeasure, Measure, Spec

SAMPLE = 5


@dataclass(frozen=True)
class _Row:
    measure_id: str
    owner: str | None
    unit: str | None
    value: str | None


Rule = Callable[[_Row, Measure], str | None]


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _owner(row: _Row, measure: Measure) -> str | None:
    if row.owner is None:
        return f"no owner named; {measure.id} belongs to {measure.owner!r}"
    if row.owner != measure.owner:
        return f"row names owner {row.owner!r} but {measure.id} belongs to {measure.owner!r}"
    return None


def _computed(row: _Row, measure: Measure) -> str | None:
    if row.value is not None and not isinstance(measure, ManualMeasure):
        return (
            f"a value for {measure.id}, which is computed from source data (kind "
            f"{measure.kind}); only `kind: manual` measures take a reported value"
        )
    return None


def _numeric(row: _Row, measure: Measure) -> str | None:
    if row.value is not None and _number(row.value) is None:
        return f"value {row.value!r} for {measure.id} is not a number"
    return None


def _unit(row: _Row, measure: Measure) -> str | None:
    if row.value is not None and row.unit is not None and row.unit != measure.unit:
        return f"value in {row.unit!r} but {measure.id} is measured in {measure.unit!r}"
    return None


def _range(row: _Row, measure: Measure) -> str | None:
    number = _number(row.value) if row.value is not None else None
    if number is None or measure.valid_range is None:
        return None
    low, high = measure.valid_range
    if not low <= number <= high:
        return f"value {number:g} is outside {measure.id}'s valid range [{low:g}, {high:g}]"
    return None


RULES: tuple[tuple[str, Rule], ...] = (
    ("owner_matches", _owner),
    ("value_only_for_manual", _computed),
    ("value_is_number", _numeric),
    ("unit_matches", _unit),
    ("value_in_range", _range),
)
"""Checked in order after `known_measure`; a row is quarantined by the first it fails."""


def gate_updates(month: str, frame: pd.DataFrame, spec: Spec) -> GateOutcome:
    """Check one month's update rows against the spec: staged rows, quarantine and verdict."""
    measures = {m.id: m for m in spec.measures}
    names = ["known_measure", *(name for name, _ in RULES)]
    failed: dict[str, list[tuple[int, str]]] = {name: [] for name in names}
    for position, record in enumerate(frame.itertuples(index=False)):
        row = _Row(
            measure_id=str(getattr(record, "measure_id", "")),
            owner=_text(getattr(record, "owner", None)),
            unit=_text(getattr(record, "unit", None)),
            value=_text(getattr(record, "value", None)),
        )
        measure = measures.get(row.measure_id)
        if measure is None:
            failed["known_measure"].append(
                (position, f"measure {row.measure_id!r} is not in the spec")
            )
            continue
        for name, rule in RULES:
            refused = rule(row, measure)
            if refused is not None:
                failed[name].append((position, refused))
                break
    bad = np.zeros(len(frame), dtype=bool)
    for hits in failed.values():
        for position, _ in hits:
            bad[position] = True
    outcomes = [_outcome(name, hits, frame) for name, hits in failed.items()]
    quarantined = int(bad.sum())
    reason: str | None = None
    if quarantined:
        reason = "; ".join(f"updates:{n}: {len(h)} row(s)" for n, h in failed.items() if h)
    result = GateResult(
        "updates",
        month,
        True,
        "warning" if quarantined else "ok",
        len(frame),
        quarantined,
        reason,
        outcomes,
    )
    staged = frame[~bad].reset_index(drop=True) if bad.any() else frame
    return GateOutcome(result, staged, _quarantine(month, frame, failed))


def _outcome(name: str, hits: list[tuple[int, str]], frame: pd.DataFrame) -> ExpectationOutcome:
    ids = frame["measure_id"].astype(str).tolist() if "measure_id" in frame.columns else []
    sample = [ids[p] for p, _ in hits[:SAMPLE]] if ids else []
    note = f"{len(hits)} of {len(frame)} rows quarantined" if hits else None
    return ExpectationOutcome(
        f"updates:{name}", None, "warning", not hits, len(frame), len(hits), sample, note
    )


def _quarantine(
    month: str, frame: pd.DataFrame, failed: dict[str, list[tuple[int, str]]]
) -> pd.DataFrame:
    """One quarantine row per refused row, with the rule, reason and the row as JSON text."""
    rows = [(p, name, reason) for name, hits in failed.items() for p, reason in hits]
    if not rows:
        return empty_quarantine()
    rows.sort()
    content = frame.drop(columns=[c for c in LINEAGE_COLUMNS if c in frame.columns])
    raw = content.to_json(orient="records", lines=True, date_format="iso").splitlines()
    records = [
        {
            "dataset": "updates",
            "month": month,
            "file": str(frame["_source_file"].iloc[p]) if "_source_file" in frame else None,
            "line": int(frame["_source_line"].iloc[p]) if "_source_line" in frame else None,
            "rule": f"updates:{name}",
            "reason": reason,
            "raw": raw[p],
        }
        for p, name, reason in rows
    ]
    quarantine = pd.DataFrame.from_records(records, columns=QUARANTINE_COLUMNS)
    return quarantine.astype({"line": "Int64"})
