"""Quality suites per canonical dataset, declared as data.

Most rules follow from `sources/contracts.yaml` (required columns and their types, keys, allowed
values, ranges); the rest are finance rules no contract can express (references between datasets,
dates inside the partition month, volume against recent months). A *row rule* marks offending
rows, which go to quarantine; a *table rule* judges the frame as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from bsc_pipeline.settings import Settings
from bsc_pipeline.sources.contracts import DatasetContract, load_contracts
from bsc_pipeline.sources.pii import pii_columns

Severity = Literal["critical", "warning"]
RowKind = Literal[
    "not_null", "unique", "allowed", "range", "finite", "in_reference", "in_month", "not_before"
]
TableKind = Literal[
    "column_present", "column_type", "row_count", "volume", "file_present", "completeness"
]
ReferenceName = Literal["chart_of_accounts", "accounts", "departments"]

DEFAULT_MOSTLY = 0.99
"""Up to 1% of a month's rows may be quarantined by one rule before the month fails."""

VOLUME_WINDOW = 6
VOLUME_LOW = 0.25
VOLUME_HIGH = 4.0


class SuiteError(KeyError):
    """A dataset without a suite (not declared in the contracts file)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class RowRule:
    """A vectorized check per row; failing rows are quarantined.

    The month fails (for `critical`) or warns (for `warning`) when the share of failing rows
    exceeds `1 - mostly`.
    """

    kind: RowKind
    columns: tuple[str, ...]
    severity: Severity = "critical"
    mostly: float = DEFAULT_MOSTLY
    allowed: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    reference: ReferenceName | None = None
    other_column: str | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}:{'+'.join(self.columns)}"

    @property
    def needs(self) -> tuple[str, ...]:
        """Every column the rule reads: a missing one means the rule cannot run."""
        return self.columns + ((self.other_column,) if self.other_column else ())


@dataclass(frozen=True)
class TableRule:
    """A check of the whole frame: schema, types, volume and completeness."""

    kind: TableKind
    column: str | None = None
    severity: Severity = "critical"
    column_type: str | None = None
    min_ratio: float | None = None
    baseline_months: int | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.column}" if self.column else self.kind


@dataclass(frozen=True)
class Suite:
    """Every rule one dataset must pass in a month."""

    dataset: str
    mode: str
    month_column: str | None
    table_rules: tuple[TableRule, ...]
    row_rules: tuple[RowRule, ...]
    pii_columns: frozenset[str] = frozenset()
    """Personal columns: masked in quarantine rows, reasons and samples."""


EXPLICIT_ROW_RULES: Mapping[str, tuple[RowRule, ...]] = {
    "gl_lines": (RowRule("in_reference", ("account",), reference="chart_of_accounts"),),
    "budget": (RowRule("in_reference", ("account",), reference="chart_of_accounts"),),
    "opportunities": (RowRule("in_reference", ("account_id",), reference="accounts"),),
    "survey_responses": (
        RowRule("range", ("score",), min_value=0, max_value=10),
        RowRule("in_reference", ("account_id",), reference="accounts"),
    ),
    "tickets": (
        RowRule("not_before", ("resolved_at",), other_column="created_at"),
        RowRule("in_reference", ("account_id",), reference="accounts"),
    ),
    "training": (RowRule("range", ("hours",), min_value=0),),
    "engagement": (RowRule("in_reference", ("department",), reference="departments"),),
}
"""Rules beyond the contract: references, durations, resolved not before created."""

REFERENCE_SOURCES: Mapping[ReferenceName, tuple[str, str]] = {
    "chart_of_accounts": ("chart_of_accounts", "account"),
    "accounts": ("accounts", "account_id"),
    "departments": ("employees", "department"),
}
"""Where each reference's known values come from: (dataset, column)."""


def reference_datasets(dataset: str) -> tuple[str, ...]:
    """The datasets this dataset's rows are checked against (gl_lines → chart_of_accounts)."""
    rules = EXPLICIT_ROW_RULES.get(dataset, ())
    return tuple(sorted({REFERENCE_SOURCES[r.reference][0] for r in rules if r.reference}))


def build_suite(contract: DatasetContract) -> Suite:
    """The suite a contract implies, plus the dataset's explicit rules."""
    table: list[TableRule] = []
    if contract.mode in ("period", "snapshot"):
        # An incremental month also gathers rows of earlier files; completeness judges it.
        table.append(TableRule("file_present"))
    table.append(TableRule("row_count"))
    table += [
        TableRule("column_present", name, severity="critical" if col.required else "warning")
        for name, col in contract.columns.items()
    ]
    table += [
        TableRule("column_type", name, column_type=col.type)
        for name, col in contract.columns.items()
    ]
    table.append(TableRule("volume", severity="warning"))
    rule = contract.completeness
    table.append(
        TableRule(
            "completeness",
            severity=rule.severity,
            min_ratio=rule.min_ratio,
            baseline_months=rule.baseline_months,
        )
    )

    rows: list[RowRule] = [RowRule("not_null", (name,)) for name in contract.required_columns]
    rows.append(RowRule("unique", tuple(contract.keys)))
    for name, col in contract.columns.items():
        if col.allowed:
            rows.append(RowRule("allowed", (name,), allowed=tuple(col.allowed)))
        if col.min is not None or col.max is not None:
            rows.append(RowRule("range", (name,), min_value=col.min, max_value=col.max))
        if col.type in ("decimal", "float"):
            rows.append(RowRule("finite", (name,)))
    if contract.mode == "period" and contract.month_column:
        rows.append(RowRule("in_month", (contract.month_column,)))
    rows += [r for r in EXPLICIT_ROW_RULES.get(contract.name, ()) if r not in rows]
    return Suite(
        dataset=contract.name,
        mode=contract.mode,
        month_column=contract.month_column,
        table_rules=tuple(table),
        row_rules=_unique_rules(rows),
        pii_columns=pii_columns(contract),
    )


def _unique_rules(rules: list[RowRule]) -> tuple[RowRule, ...]:
    """First rule of each name wins: a contract range and an explicit one are the same check."""
    seen: dict[str, RowRule] = {}
    for rule in rules:
        seen.setdefault(rule.name, rule)
    return tuple(seen.values())


@cache
def _suites_at(path: Path) -> dict[str, Suite]:
    return {name: build_suite(c) for name, c in load_contracts(path).items()}


def suites(contracts_path: Path | None = None) -> dict[str, Suite]:
    """Every dataset's suite, read once per contracts file."""
    path = contracts_path or Settings.from_env().contracts_path
    return _suites_at(Path(path).resolve())


def suite_for(dataset: str, contracts_path: Path | None = None) -> Suite:
    known = suites(contracts_path)
    if dataset not in known:
        raise SuiteError(
            f"no quality suite for dataset {dataset!r}; the contracts file declares {sorted(known)}"
        )
    return known[dataset]
