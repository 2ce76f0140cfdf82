"""Mappings as configuration: how one vendor's export becomes a canonical dataset.

A mapping file (YAML under `sources/mappings/`) says how to read the file (encoding, delimiter,
preamble, footer, number and date conventions) and where each canonical column comes from. The
sources file (`sources/sources.yaml`) says which mapping and which file names apply per dataset.
"""

from __future__ import annotations

import difflib
import re
from functools import cached_property
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

from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources.expressions import Expression, ExpressionError, parse_expression
from bsc_pipeline.sources.problems import SourceError

DEFAULT_FILE_PATTERN = r"^{dataset}_(?P<month>\d{4}-\d{2})\.(csv|parquet|xlsx)$"
DEMO_MAPPING = PROJECT_ROOT / "sources" / "mappings" / "demo.yaml"


class MappingError(SourceError):
    """A mapping or sources file that cannot be used as written."""


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class SignRule(BaseModel):
    """A debit/credit indicator column that turns an unsigned amount into a signed one."""

    model_config = ConfigDict(extra="forbid")

    column: str
    negative: list[str]
    positive: list[str] | None = None


class RowRule(BaseModel):
    """A row to drop (totals, balances, section headers): one test on one source column."""

    model_config = ConfigDict(extra="forbid")

    column: str
    equals: str | None = None
    starts_with: str | None = None
    matches: str | None = None
    empty: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> RowRule:
        tests = [self.equals, self.starts_with, self.matches, self.empty]
        if sum(t is not None for t in tests) != 1:
            raise ValueError("give exactly one of equals, starts_with, matches, empty")
        if self.matches is not None:
            re.compile(self.matches)
        return self


class Sections(BaseModel):
    """Report sections (QuickBooks accounts): a label row whose value is carried down its rows."""

    model_config = ConfigDict(extra="forbid")

    label_column: str
    when_empty: list[str]
    into: str

    _list = field_validator("when_empty", mode="before")(_as_list)


class ColumnMapping(BaseModel):
    """Where one canonical column comes from and how its text is read."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: list[str] | None = Field(default=None, alias="from")
    constant: Any = None
    concat: list[str] | None = None
    sep: str = "-"
    sequence_within: list[str] | None = None
    debit: str | None = None
    credit: str | None = None
    sign_from: SignRule | None = None
    negate: bool = False
    expr: str | None = None
    pattern: str | None = None
    values: dict[str, str | bool | None] | None = None
    other: str | None = None
    keep_unmapped: bool = True
    case_insensitive: bool = True
    format: list[str] | None = None
    timezone: str | None = None
    true_values: list[str] | None = None
    false_values: list[str] | None = None

    _expression: Expression | None = PrivateAttr(default=None)

    _lists = field_validator("from_", "format", "sequence_within", mode="before")(_as_list)

    @field_validator("values", mode="before")
    @classmethod
    def _text_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in value:
                if isinstance(key, bool) or key is None:
                    raise ValueError(
                        f"value map key {key!r}: YAML reads yes/no/on/off/true/false/null "
                        "unquoted as a flag; quote the vendor's word, e.g. 'yes': true"
                    )
            return {str(k): t for k, t in value.items()}
        return value

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnMapping:
        origins = [
            self.from_ is not None,
            self.constant is not None,
            self.concat is not None,
            self.sequence_within is not None,
            self.debit is not None or self.credit is not None,
            self.expr is not None,
        ]
        if sum(origins) != 1:
            raise ValueError(
                "give exactly one origin: from, constant, concat, sequence_within, "
                "debit/credit or expr"
            )
        if self.expr is not None:
            try:
                self._expression = parse_expression(self.expr)
            except ExpressionError as exc:
                raise ValueError(str(exc)) from None
        if self.other is not None:
            self.keep_unmapped = False
        if self.pattern is not None and "(?P<value>" not in self.pattern:
            raise ValueError("pattern needs a named group (?P<value>...) saying what to keep")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self

    @property
    def expression(self) -> Expression | None:
        """`expr` as checked against the grammar."""
        return self._expression

    @property
    def sources(self) -> list[str]:
        """Source columns this mapping reads (alternatives of `from` count once)."""
        names = [*(self.concat or []), *[c for c in (self.debit, self.credit) if c]]
        if self.expression is not None:
            names.extend(sorted(self.expression.names))
        if self.sign_from:
            names.append(self.sign_from.column)
        return names


class Mapping(BaseModel):
    """How to read one vendor's export of one dataset (or, for `columns: canonical`, of any)."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    dataset: str | None = None
    format: Literal["csv", "xlsx", "parquet"] | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    quote: str = '"'
    newlines_in_values: bool = False
    skip_lines: int = Field(default=0, ge=0)
    header_starts_with: str | None = None
    skip_footer_lines: int = Field(default=0, ge=0)
    short_rows: Literal["reject", "pad"] = "reject"
    sheet: str | int | None = None
    decimal: str = "."
    thousands: str | None = None
    strip: list[str] = Field(default_factory=list)
    negative_parentheses: bool = False
    trailing_minus: bool = False
    date_format: list[str] = Field(default_factory=lambda: ["%Y-%m-%d"])
    datetime_format: list[str] = Field(default_factory=lambda: ["%Y-%m-%dT%H:%M:%S"])
    timezone: str = "UTC"
    missing: list[str] = Field(default_factory=lambda: [""])
    drop_rows: list[RowRule] = Field(default_factory=list)
    sections: Sections | None = None
    fill_down: list[str] = Field(default_factory=list)
    collapse_repeated: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, ColumnMapping] | Literal["canonical"] = "canonical"
    ignore: list[str] = Field(default_factory=list)
    pii: list[str] = Field(default_factory=list)
    """Source columns with personal data beyond those mapped to a `pii` canonical column."""

    _lists = field_validator("date_format", "datetime_format", "missing", mode="before")(_as_list)

    @field_validator("columns", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"from": v} if isinstance(v, str | list) else v for k, v in value.items()}
        return value

    @field_validator("delimiter", "quote", "decimal")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"must be a single character, got {value!r}")
        return value

    @cached_property
    def column_map(self) -> dict[str, ColumnMapping] | None:
        return dict(self.columns) if isinstance(self.columns, dict) else None


class DatasetSource(BaseModel):
    """Which mapping and which file names apply to one dataset."""

    model_config = ConfigDict(extra="forbid")

    mapping: str
    file_pattern: str = DEFAULT_FILE_PATTERN
    split_by_month: bool = False
    """Files whose name gives no month hold many months (a full-history export): a month's run
    takes their rows whose contract month column falls in the month."""


class SourcesConfig(BaseModel):
    """The contents of `sources/sources.yaml`."""

    model_config = ConfigDict(extra="forbid")

    defaults: DatasetSource = Field(
        default_factory=lambda: DatasetSource(mapping=str(DEMO_MAPPING))
    )
    datasets: dict[str, DatasetSource] = Field(default_factory=dict)
    settle_seconds: float = Field(default=1.0, ge=0)
    base_dir: Path = Path()

    def for_dataset(self, dataset: str) -> DatasetSource:
        return self.datasets.get(dataset, self.defaults)

    def file_regex(self, dataset: str) -> re.Pattern[str]:
        pattern = self.for_dataset(dataset).file_pattern.replace("{dataset}", re.escape(dataset))
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise MappingError(f"sources config: file_pattern for {dataset!r}: {exc}") from exc

    def mapping_path(self, dataset: str) -> Path:
        path = Path(self.for_dataset(dataset).mapping)
        return path if path.is_absolute() else self.base_dir / path


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"cannot read {what} {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc


def _field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _unknown_key(path: Path, where: str, key: yaml.Node, allowed: list[str]) -> MappingError:
    name = str(key.value)
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return MappingError(
        f"{path}, line {key.start_mark.line + 1}: {where} has an unknown key {name!r}.{hint} "
        f"The keys allowed there are: {', '.join(allowed)} (see docs/sources.md, Mapping "
        "reference)."
    )


def _check_keys(path: Path, text: str) -> None:
    """Name an unknown key with its line and the keys allowed there, before pydantic's text."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return
    if not isinstance(root, yaml.MappingNode):
        return
    top = [k for k in _field_names(Mapping) if k != "base_dir"]
    for key, value in root.value:
        if key.value not in top:
            raise _unknown_key(path, "the mapping", key, top)
        if key.value != "columns" or not isinstance(value, yaml.MappingNode):
            continue
        allowed = _field_names(ColumnMapping)
        for column, body in value.value:
            if not isinstance(body, yaml.MappingNode):
                continue
            for inner, _ in body.value:
                if inner.value not in allowed:
                    raise _unknown_key(path, f"column {column.value!r}", inner, allowed)


def _check_sources_keys(path: Path, text: str) -> None:
    """The sources file's unknown keys, named with their line, like a mapping's."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return
    if not isinstance(root, yaml.MappingNode):
        return
    top = [k for k in _field_names(SourcesConfig) if k != "base_dir"]
    allowed = _field_names(DatasetSource)
    for key, value in root.value:
        if key.value not in top:
            raise _unknown_key(path, "the sources file", key, top)
        if key.value == "defaults" and isinstance(value, yaml.MappingNode):
            entries = [(key, value)]
        elif key.value == "datasets" and isinstance(value, yaml.MappingNode):
            entries = list(value.value)
        else:
            continue
        for name, body in entries:
            if not isinstance(body, yaml.MappingNode):
                continue
            for inner, _ in body.value:
                if inner.value not in allowed:
                    raise _unknown_key(path, f"dataset {name.value!r}", inner, allowed)


def _where(loc: tuple[int | str, ...]) -> str:
    """An error location in the file's own words (pydantic's union branch names left out)."""
    parts = [str(p) for p in loc if not re.match(r"^[a-z-]+\[", str(p))]
    return ".".join(parts) or "(top level)"


def _explain(path: Path, exc: ValidationError) -> MappingError:
    errors = exc.errors()
    # `columns` is a dict of column mappings or the word 'canonical': when the dict is wrong,
    # the 'canonical' branch's complaint only misleads.
    errors = [
        e
        for e in errors
        if not (e["type"] == "literal_error" and e["loc"][:1] == ("columns",) and len(errors) > 1)
    ]
    lines = [f"  {_where(err['loc'])}: {err['msg']}" for err in errors[:5]]
    return MappingError(f"{path}: invalid mapping:\n" + "\n".join(lines))


def load_sources_config(path: Path) -> SourcesConfig:
    """The sources file; mapping paths in it are relative to its folder. A missing file = demo."""
    path = Path(path)
    if not path.exists():
        return SourcesConfig(base_dir=path.parent)
    loaded = _read_yaml(path, "sources config") or {}
    if not isinstance(loaded, dict):
        raise MappingError(f"{path}: expected a mapping with 'defaults:' and 'datasets:'")
    _check_sources_keys(path, path.read_text(encoding="utf-8"))
    try:
        return SourcesConfig.model_validate({**loaded, "base_dir": path.parent})
    except ValidationError as exc:
        raise _explain(path, exc) from exc


def load_mapping(path: Path, dataset: str | None = None) -> Mapping:
    """One mapping file, checked against the dataset it is used for."""
    path = Path(path)
    loaded = _read_yaml(path, "mapping")
    if not isinstance(loaded, dict):
        raise MappingError(f"{path}: expected a mapping with 'columns:'")
    _check_keys(path, path.read_text(encoding="utf-8"))
    try:
        mapping = Mapping.model_validate(loaded)
    except ValidationError as exc:
        raise _explain(path, exc) from exc
    if dataset and mapping.dataset and mapping.dataset != dataset:
        raise MappingError(
            f"{path}: mapping is for dataset {mapping.dataset!r}, configured for {dataset!r}"
        )
    return mapping
