"""The quality gate between a month's canonical frame and the measures computed from it.

Row rules run as pandas masks and move failing rows to quarantine; table rules judge the frame as
a whole: column presence and row counts through GX (SUMMARY results), dtypes in pandas because GX
1.x does not recognise pandas 3's default `str` dtype. The month fails when a critical table rule
fails or a critical row rule quarantines more than its tolerance (`1 - mostly`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from bsc_pipeline.periods import Month
from bsc_pipeline.quality.gx_validator import GXExpectation, GXOutcome, GXValidator
from bsc_pipeline.quality.json_safe import json_safe
from bsc_pipeline.quality.masks import RowFailures, evaluate_row_rule
from bsc_pipeline.quality.suites import (
    REFERENCE_SOURCES,
    VOLUME_HIGH,
    VOLUME_LOW,
    VOLUME_WINDOW,
    ReferenceName,
    RowRule,
    Suite,
    TableRule,
    suite_for,
)
from bsc_pipeline.sources.pii import mask_columns

if TYPE_CHECKING:
    from pathlib import Path

GateSeverity = Literal["ok", "warning", "critical"]
LINEAGE_COLUMNS = ("_source_file", "_source_line")
QUARANTINE_COLUMNS = ["dataset", "month", "file", "line", "rule", "reason", "raw"]
METADATA_SAMPLE = 5


@dataclass(frozen=True)
class GateContext:
    """What the gate checks a month against: reference datasets, recent row counts, files read.

    `references` maps dataset names (`chart_of_accounts`, `accounts`, `employees`) to their
    frames; `recent_volumes` are the row counts of the months before, newest first, None for a
    month without a file (left out of every baseline, never counted as 0); `files_read` is how
    many landing files the extract read (None: not known, the file check is skipped).
    """

    references: Mapping[str, pd.DataFrame | None] = field(default_factory=dict)
    recent_volumes: list[int | None] = field(default_factory=list)
    files_read: int | None = None

    def delivered(self, months: int) -> list[int]:
        """Row counts of the months with a file among the last `months`, newest first."""
        return [v for v in self.recent_volumes[:months] if v is not None]

    def known_values(self, reference: ReferenceName) -> pd.Series | None:
        """The values a reference allows (e.g. every department of an employee), or None."""
        dataset, column = REFERENCE_SOURCES[reference]
        frame = self.references.get(dataset)
        if frame is None or column not in frame.columns:
            return None
        return frame[column]


@dataclass(frozen=True)
class ExpectationOutcome:
    """One rule's verdict for the month, JSON-safe."""

    name: str
    column: str | None
    severity: str
    passed: bool
    element_count: int | None
    unexpected_count: int | None
    sample: list[Any]
    note: str | None = None


@dataclass(frozen=True)
class GateResult:
    """The month's verdict for one dataset."""

    dataset: str
    month: str
    passed: bool
    severity: GateSeverity
    row_count: int
    quarantined_count: int
    reason: str | None
    expectations: list[ExpectationOutcome]
    decision: dict[str, Any] | None = None
    """The person's decision applied to this verdict (`quality.decisions`), if any."""

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.passed]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe: the lake's `gate/<dataset>/<month>.json`."""
        payload: dict[str, Any] = json_safe(asdict(self))
        return payload

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> GateResult:
        fields = {k: v for k, v in payload.items() if k != "expectations"}
        outcomes = [ExpectationOutcome(**e) for e in payload.get("expectations", [])]
        return cls(**fields, expectations=outcomes)

    def to_metadata(self) -> dict[str, Any]:
        """A compact JSON-safe summary for Dagster check metadata: what failed, counts, samples."""
        return json_safe(
            {
                "passed": self.passed,
                "severity": self.severity,
                "row_count": self.row_count,
                "quarantined_count": self.quarantined_count,
                "reason": self.reason,
                "expectations_run": len(self.expectations),
                "failed_expectations": [
                    {
                        "name": e.name,
                        "column": e.column,
                        "severity": e.severity,
                        "unexpected_count": e.unexpected_count,
                        "element_count": e.element_count,
                        "sample": e.sample[:METADATA_SAMPLE],
                        "note": e.note,
                    }
                    for e in self.failed
                ],
            }
        )


@dataclass(frozen=True)
class GateOutcome:
    """The verdict, the rows that go on to measures and the rows set aside."""

    result: GateResult
    staged: pd.DataFrame
    quarantine: pd.DataFrame


def run_gate(
    dataset: str,
    month: str,
    frame: pd.DataFrame,
    *,
    context: GateContext,
    validator: GXValidator | None = None,
    contracts_path: Path | None = None,
) -> GateOutcome:
    """Check one dataset's month; the staged frame is the input minus quarantined rows."""
    suite = suite_for(dataset, contracts_path)
    period = Month.parse(month)
    table = _table_outcomes(suite, frame, context, validator or GXValidator())
    unusable = _unusable_columns(table)
    row_outcomes: list[ExpectationOutcome] = []
    failures: list[tuple[RowRule, RowFailures]] = []
    for rule in suite.row_rules:
        blocked = [c for c in rule.needs if c in unusable or c not in frame.columns]
        if blocked:
            row_outcomes.append(_not_run(rule, len(frame), blocked, unusable))
            continue
        known = context.known_values(rule.reference) if rule.reference else None
        if rule.reference and known is None:
            row_outcomes.append(_reference_missing(rule, len(frame)))
            continue
        found = evaluate_row_rule(rule, frame, period, known, suite.pii_columns)
        failures.append((rule, found))
        row_outcomes.append(_row_outcome(rule, found, len(frame)))
    bad = np.zeros(len(frame), dtype=bool)
    for _, found in failures:
        bad |= found.mask
    outcomes = table + row_outcomes
    result = _verdict(dataset, month, len(frame), int(bad.sum()), outcomes)
    staged = frame[~bad] if bad.any() else frame
    quarantine = _quarantine(dataset, month, frame, failures, bad, suite.pii_columns)
    return GateOutcome(result, staged, quarantine)


def failed_gate(
    dataset: str, month: str, reason: str, frame: pd.DataFrame | None = None
) -> GateOutcome:
    """A failed verdict without running rules: the extract was missing or unreadable."""
    outcome = ExpectationOutcome("extract_usable", None, "critical", False, None, None, [], reason)
    result = GateResult(
        dataset, month, False, "critical", 0 if frame is None else len(frame), 0, reason, [outcome]
    )
    staged = frame.iloc[0:0] if frame is not None else pd.DataFrame()
    return GateOutcome(result, staged, empty_quarantine())


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c == "line" else object) for c in QUARANTINE_COLUMNS}
    )


def _table_outcomes(
    suite: Suite, frame: pd.DataFrame, context: GateContext, validator: GXValidator
) -> list[ExpectationOutcome]:
    """Presence and row counts through GX, dtypes in pandas; in the suite's order."""
    requests: list[GXExpectation] = []
    local: dict[str, ExpectationOutcome] = {}
    for rule in suite.table_rules:
        if rule.kind == "column_type":
            if rule.column in frame.columns:
                local[rule.name] = _type_outcome(rule, frame)
        elif rule.kind == "file_present":
            if context.files_read is not None:
                local[rule.name] = _file_outcome(rule, len(frame), context.files_read)
        elif rule.kind == "volume":
            request = _volume_request(rule, len(frame), context.delivered(VOLUME_WINDOW))
            if request is not None:
                requests.append(request)
        elif rule.kind == "completeness":
            request = _completeness_request(rule, len(frame), context)
            if request is not None:
                requests.append(request)
        else:
            requests.append(_gx_request(rule))
    # GX fingerprints every column of a batch (about a second per million rows, twice per
    # validation), so it sees only what these rules read: the columns, and the row count.
    shape_rules = [r for r in requests if r.expectation == "ExpectColumnToExist"]
    count_rules = [r for r in requests if r not in shape_rules]
    answers = {
        a.rule: a
        for a in validator.check(frame.iloc[:0], f"{suite.dataset}.columns", shape_rules)
        + validator.check(frame[[]], f"{suite.dataset}.rows", count_rules)
    }
    outcomes = []
    for rule in suite.table_rules:
        if rule.name in local:
            outcomes.append(local[rule.name])
        elif rule.name in answers:
            outcomes.append(_gx_outcome(rule, answers[rule.name], len(frame), context))
    return outcomes


def _gx_request(rule: TableRule) -> GXExpectation:
    if rule.kind == "row_count":
        return GXExpectation(rule.name, "ExpectTableRowCountToBeBetween", {"min_value": 1})
    return GXExpectation(rule.name, "ExpectColumnToExist", {"column": rule.column})


def _volume_request(rule: TableRule, rows: int, window: list[int]) -> GXExpectation | None:
    """Row count within [0.25, 4] × the median of recent months; no history, no check."""
    if rows == 0 or not window or statistics.median(window) <= 0:
        return None
    median = statistics.median(window)
    bounds = {
        "min_value": math.ceil(VOLUME_LOW * median),
        "max_value": math.floor(VOLUME_HIGH * median),
    }
    return GXExpectation(rule.name, "ExpectTableRowCountToBeBetween", bounds)


def _completeness_request(rule: TableRule, rows: int, context: GateContext) -> GXExpectation | None:
    """At least `min_ratio` × the median of the delivered baseline months; no history, no check.

    Zero rows is left to `row_count`, which already holds the month.
    """
    window = context.delivered(rule.baseline_months or VOLUME_WINDOW)
    if rows == 0 or not window or statistics.median(window) <= 0:
        return None
    least = math.ceil((rule.min_ratio or 0) * statistics.median(window))
    return GXExpectation(rule.name, "ExpectTableRowCountToBeBetween", {"min_value": least})


def _file_outcome(rule: TableRule, rows: int, files_read: int) -> ExpectationOutcome:
    passed = files_read > 0
    note = None if passed else "no file for the month in the landing zone"
    sample = [files_read]
    return ExpectationOutcome(rule.name, None, rule.severity, passed, rows, None, sample, note)


def _gx_outcome(
    rule: TableRule, answer: GXOutcome, rows: int, context: GateContext
) -> ExpectationOutcome:
    observed = answer.result.get("observed_value")
    note = answer.error
    if not answer.success and note is None:
        if rule.kind == "column_present":
            note = f"column {rule.column!r} is missing"
        elif rule.kind == "row_count":
            note = "no rows for the month"
        elif rule.kind == "completeness":
            window = context.delivered(rule.baseline_months or VOLUME_WINDOW)
            median = statistics.median(window)
            note = (
                f"{rows} rows is {rows / median:.0%} of the usual {median:g} (median of the "
                f"{len(window)} months with a file among the last {rule.baseline_months}); "
                f"held below {rule.min_ratio:.0%}"
            )
        else:
            window = context.delivered(VOLUME_WINDOW)
            note = (
                f"{rows} rows is outside [{VOLUME_LOW:g}, {VOLUME_HIGH:g}] × the median "
                f"{statistics.median(window):g} of the last {len(window)} months"
            )
    sample = [rule.column] if rule.kind == "column_present" and not answer.success else []
    if observed is not None:
        sample = [observed]
    return ExpectationOutcome(
        rule.name, rule.column, rule.severity, answer.success, rows, None, sample, note
    )


_TYPE_NAMES = {
    "string": "text",
    "int": "whole numbers",
    "float": "numbers",
    "decimal": "numbers",
    "bool": "true/false",
    "date": "datetime64 dates",
    "datetime": "datetime64 (UTC-naive)",
}


def _type_outcome(rule: TableRule, frame: pd.DataFrame) -> ExpectationOutcome:
    values = frame[str(rule.column)]
    expected = str(rule.column_type)
    passed = _type_matches(values, expected)
    note = None if passed else f"expected {_TYPE_NAMES[expected]} ({expected}), got {values.dtype}"
    return ExpectationOutcome(
        rule.name, rule.column, rule.severity, passed, len(frame), None, [str(values.dtype)], note
    )


def _type_matches(values: pd.Series, expected: str) -> bool:
    """Does the column's dtype hold the contract type? Object columns are inferred from values."""
    dtype = values.dtype
    types = pd.api.types
    if dtype is np.dtype(object):
        inferred = types.infer_dtype(values, skipna=True)
        return inferred == "empty" or (expected == "string" and inferred == "string")
    if expected == "string":
        return types.is_string_dtype(dtype)
    if expected == "bool":
        return types.is_bool_dtype(dtype)
    if expected in ("date", "datetime"):
        return types.is_datetime64_dtype(dtype)
    if types.is_bool_dtype(dtype) or not types.is_numeric_dtype(dtype):
        return False
    if expected == "int" and types.is_float_dtype(dtype):
        present = values.dropna().to_numpy(dtype=float)
        return bool(np.all(np.isfinite(present) & (np.mod(present, 1) == 0)))
    return True


def _row_outcome(rule: RowRule, found: RowFailures, rows: int) -> ExpectationOutcome:
    tolerance = (1 - rule.mostly) * rows
    passed = found.count <= tolerance + 1e-9
    note = None
    if found.count:
        share = found.count / rows
        note = (
            f"{found.count} of {rows} rows ({share:.1%}) quarantined; "
            f"tolerance {1 - rule.mostly:.1%}"
        )
    return ExpectationOutcome(
        rule.name, rule.columns[0], rule.severity, passed, rows, found.count, found.sample, note
    )


def _unusable_columns(table: list[ExpectationOutcome]) -> dict[str, str]:
    """Columns missing or mistyped, with the worst severity of the schema rules they failed."""
    unusable: dict[str, str] = {}
    for o in table:
        if o.column is not None and not o.passed:
            worst = "critical" in (o.severity, unusable.get(o.column))
            unusable[o.column] = "critical" if worst else o.severity
    return unusable


def _not_run(
    rule: RowRule, rows: int, blocked: list[str], unusable: dict[str, str]
) -> ExpectationOutcome:
    """A rule on a missing optional column only warns; anything else holds the month."""
    causes = [unusable.get(c, "critical") for c in blocked]
    severity = "critical" if rule.severity == "critical" and "critical" in causes else "warning"
    note = f"not run: column {', '.join(blocked)} is missing or mistyped"
    return ExpectationOutcome(rule.name, rule.columns[0], severity, False, rows, None, [], note)


def _reference_missing(rule: RowRule, rows: int) -> ExpectationOutcome:
    """A missing reference cannot prove rows wrong: warn rather than hold the month."""
    why = f"not run: reference {rule.reference} is not available"
    return ExpectationOutcome(rule.name, rule.columns[0], "warning", False, rows, None, [], why)


def _verdict(
    dataset: str, month: str, rows: int, quarantined: int, outcomes: list[ExpectationOutcome]
) -> GateResult:
    critical = [o for o in outcomes if not o.passed and o.severity == "critical"]
    warnings = [o for o in outcomes if not o.passed and o.severity != "critical"]
    severity: GateSeverity = "critical" if critical else "warning" if warnings else "ok"
    named = critical or warnings
    reason = "; ".join(f"{o.name}: {o.note}" if o.note else o.name for o in named[:3]) or None
    if reason and len(named) > 3:
        reason += f"; and {len(named) - 3} more"
    return GateResult(dataset, month, not critical, severity, rows, quarantined, reason, outcomes)


def _quarantine(
    dataset: str,
    month: str,
    frame: pd.DataFrame,
    failures: list[tuple[RowRule, RowFailures]],
    bad: np.ndarray,
    pii: frozenset[str],
) -> pd.DataFrame:
    """One quarantine row per failing row and rule, with the row as JSON text (`pii` masked)."""
    if not bad.any():
        return empty_quarantine()
    positions = np.flatnonzero(bad)
    rows = frame.iloc[positions]
    payload = mask_columns(
        rows.drop(columns=[c for c in LINEAGE_COLUMNS if c in rows.columns]), pii
    )
    raw = np.asarray(
        payload.to_json(orient="records", lines=True, date_format="iso").splitlines(), dtype=object
    )
    files = _lineage(rows, "_source_file", object)
    lines = _lineage(rows, "_source_line", "Int64")
    parts = []
    for rule, found in failures:
        hit = np.searchsorted(positions, np.flatnonzero(found.mask))
        if not len(hit):
            continue
        parts.append(
            pd.DataFrame(
                {
                    "dataset": dataset,
                    "month": month,
                    "file": files.iloc[hit].to_numpy(),
                    "line": lines.iloc[hit].array,
                    "rule": rule.name,
                    "reason": found.reasons.to_numpy(dtype=object),
                    "raw": raw[hit],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[QUARANTINE_COLUMNS]


def _lineage(rows: pd.DataFrame, column: str, dtype: Any) -> pd.Series:
    if column not in rows.columns:
        return pd.Series(None, index=range(len(rows)), dtype=dtype)
    return pd.Series(rows[column].to_numpy()).astype(dtype)
