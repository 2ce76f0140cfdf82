"""Canonical dataset contracts read from `sources/contracts.yaml`.

A contract names what every mapping must produce: columns and types, keys, the date that places a
row in a month, and how files of the dataset relate to each other over time (the extract mode).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from bsc_pipeline.sources.expressions import Expression, ExpressionError, parse_expression

ColumnType = Literal["string", "int", "float", "decimal", "bool", "date", "datetime"]
ExtractMode = Literal["snapshot", "incremental", "period"]
ComputedOp = Literal["between", "hours_between", "not_after", "greater_than"]


class ContractError(ValueError):
    """The contracts file is missing or does not describe valid datasets."""


class ColumnContract(BaseModel):
    """One canonical column: its type and the rules a source must meet for it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: ColumnType
    required: bool = False
    allowed: list[str] | None = None
    min: float | None = None
    max: float | None = None
    description: str | None = None
    pii: bool = False
    """Personal data: masked wherever rows are shown outside the lake (see `sources/pii.py`)."""
    absent_ok: bool = False
    """An optional column most exports lack (one of two ways to say a thing): no warning when a
    file has no source for it."""

    @field_validator("type", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> Any:
        """`boolean` is the same type as `bool` (true/false outcome flags)."""
        return "bool" if value == "boolean" else value


class ComputedColumn(BaseModel):
    """A column derived from others: one allow-listed operation, or a row-level `expr`."""

    model_config = ConfigDict(extra="forbid")

    op: ComputedOp | None = None
    args: list[Any] = Field(default_factory=list)
    expr: str | None = None
    _expression: Expression | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_form(self) -> ComputedColumn:
        if (self.op is None) == (self.expr is None):
            raise ValueError("give either op with args, or expr")
        if self.op is not None and len(self.args) < 2:
            raise ValueError(f"op {self.op!r} takes at least 2 args")
        if self.expr is not None:
            try:
                self._expression = parse_expression(self.expr)
            except ExpressionError as exc:
                raise ValueError(str(exc)) from None
        return self

    @property
    def expression(self) -> Expression | None:
        return self._expression

    @property
    def inputs(self) -> list[str]:
        """Column names the computation reads."""
        if self._expression is not None:
            return sorted(self._expression.names)
        return [a for a in self.args if isinstance(a, str)]


class Completeness(BaseModel):
    """How far a month's row count may fall below its usual volume before the month is held.

    The baseline is the median row count of the `baseline_months` months before, leaving out
    months without a file (a dataset's first months, a missed delivery). Seasonal data (a quiet
    summer, a survey that pauses) lowers `min_ratio` for its dataset rather than the default.
    """

    model_config = ConfigDict(extra="forbid")

    min_ratio: float = Field(default=0.5, ge=0, le=1)
    baseline_months: int = Field(default=6, ge=1, le=24)
    severity: Literal["critical", "warning"] = "critical"


class DatasetContract(BaseModel):
    """What a canonical dataset holds and how its files combine into a month."""

    model_config = ConfigDict(extra="forbid")

    name: str
    source: str
    mode: ExtractMode
    keys: list[str]
    month_column: str | None = None
    version_column: str | None = None
    event_columns: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnContract]
    computed: dict[str, ComputedColumn] = Field(default_factory=dict)
    completeness: Completeness = Field(default_factory=Completeness)
    starts: str | None = Field(
        default=None,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="first month the source delivers (YYYY-MM); earlier months are not_started. "
        "Null: the month of its first delivery",
    )
    skip_rows_without: list[str] = Field(default_factory=list)
    """A row with none of these columns filled carries nothing (an untouched template row):
    it is dropped when read, before versions of a key are combined."""

    @model_validator(mode="after")
    def _names_exist(self) -> DatasetContract:
        named = [*self.keys, *self.event_columns]
        named += [c for c in (self.month_column, self.version_column) if c]
        named += self.skip_rows_without
        unknown = [c for c in named if c not in self.columns]
        if unknown:
            raise ValueError(f"names columns that are not declared: {unknown}")
        if self.mode == "incremental" and not self.event_columns and self.month_column:
            self.event_columns = [self.month_column]
        known = set(self.columns)
        for name, comp in self.computed.items():
            missing = [a for a in comp.inputs if a not in known]
            if missing:
                raise ValueError(f"computed column {name!r} uses undeclared columns {missing}")
            known.add(name)
        return self

    @property
    def required_columns(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.required]


def load_contracts(path: Path) -> dict[str, DatasetContract]:
    """Every dataset contract in the file, keyed by dataset name."""
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContractError(f"cannot read contracts file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from exc
    datasets = (loaded or {}).get("datasets") if isinstance(loaded, dict) else None
    if not isinstance(datasets, dict) or not datasets:
        raise ContractError(f"{path}: expected a top-level 'datasets:' mapping of dataset names")
    contracts: dict[str, DatasetContract] = {}
    for name, body in datasets.items():
        try:
            contracts[name] = DatasetContract.model_validate({"name": name, **(body or {})})
        except ValidationError as exc:
            raise ContractError(f"{path}: dataset {name!r}: {_first_error(exc)}") from exc
    return contracts


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]
