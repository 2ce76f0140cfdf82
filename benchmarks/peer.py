"""The peer: DuckDB SQL computing the month's measure values straight from the landing files.

What a team on dbt with DuckDB would run: no validation, one scan per dataset with an aggregate
per measure (`agg(...) FILTER (WHERE ...)`), and the ratios, formulas and changes as SQL
expressions over those aggregates. The SQL is generated from the spec and the contracts, so every
measure kind of the spec is computed, with the engine's rules: no rows give no value (counts give
0), a zero or missing denominator gives no value, incremental datasets keep the newest version
per key. Identifiers come only from the contracts and the spec and are quoted.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.floor import files_read
from bsc_pipeline.periods import Month
from bsc_pipeline.spec.formula import parse_formula
from bsc_pipeline.spec.models import (
    BaseMeasure,
    ChangeMeasure,
    DerivedMeasure,
    Filter,
    ManualMeasure,
    RatioMeasure,
    SnapshotMeasure,
    Spec,
)

SQL_TYPES = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "decimal": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}
UPDATES = "updates"
"""The owners' returned update files: where manual measures' values come from."""
COMPUTED_TYPES = {
    "between": "bool",
    "not_after": "bool",
    "greater_than": "bool",
    "hours_between": "float",
}
AGGREGATES = {
    "sum": "sum({c})",
    "mean": "avg({c})",
    "median": "median({c})",
    "p90": "quantile_cont({c}, 0.9)",
    "min": "min({c})",
    "max": "max({c})",
    "count_distinct": "count(DISTINCT {c})",
}
COMPARE = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
REL_TOL = 1e-9


class PeerError(ValueError):
    """The spec asks for something the peer's SQL generator does not translate."""


@dataclass(frozen=True)
class Difference:
    """A month value on which DuckDB and the pipeline disagree (None: no value)."""

    measure_id: str
    pipeline: float | None
    peer: float | None

    def __str__(self) -> str:
        return f"{self.measure_id}: pipeline {self.pipeline!r} vs duckdb {self.peer!r}"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any, column_type: str) -> str:
    """A filter value as an SQL literal of the column's type (never spliced as code)."""
    if column_type == "bool" or isinstance(value, bool):
        if str(value).lower() not in ("true", "false"):
            raise PeerError(f"{value!r} is not a boolean")
        return "TRUE" if str(value).lower() == "true" else "FALSE"
    if column_type in ("int", "float", "decimal") and not isinstance(value, str):
        return repr(float(value))
    if column_type == "date":
        return f"DATE {_text(value)}"
    if column_type == "datetime":
        return f"TIMESTAMP {_text(value)}"
    return _text(value)


def _text(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class PeerQuery:
    """The SQL of one month's values for a spec over one landing zone."""

    def __init__(self, spec: Spec, contracts: dict[str, Any], landing: Path, month: str):
        self.spec = spec
        self.contracts = contracts
        self.month = month
        self.files = files_read(landing, contracts, month)
        self.landing = landing
        self.measures = {m.id: m for m in spec.measures}
        self._aggregates: dict[str, dict[str, str]] = {}
        """Aggregate column name → its SQL, per dataset (filled while expressions are built)."""
        self._months: dict[str, set[str]] = {}
        """Months each dataset is aggregated over (a period dataset reads those months' files)."""

    def paths(self, dataset: str) -> list[Path]:
        """Files the query reads: the extract's files, plus earlier months a change compares to."""
        if self.contracts[dataset].mode != "period":
            return self.files[dataset]
        months = self._months.get(dataset, set()) | {self.month}
        folder = self.landing / dataset
        return sorted(p for m in months for p in folder.glob(f"{dataset}_{m}.csv"))

    def sql(self) -> str:
        """One statement: a row with a column per measure of the spec, for the month."""
        values = [
            f"{self.expression(m.id, self.month)} AS {quote(m.id)}" for m in self.spec.measures
        ]
        relations = ",\n".join(
            f"{quote(d)} AS ({self._relation(d)})" for d in sorted(self._aggregates)
        )
        aggregates = ",\n".join(
            f"{quote('agg_' + d)} AS (SELECT {_select_list(cols)} FROM {quote(d)})"
            for d, cols in sorted(self._aggregates.items())
        )
        joined = ", ".join(quote("agg_" + d) for d in sorted(self._aggregates))
        return f"WITH {relations},\n{aggregates}\nSELECT {', '.join(values)} FROM {joined}"

    def expression(self, measure_id: str, month: str) -> str:
        """SQL for the measure's value over `month` (NULL where the engine gives no value)."""
        measure = self.measures.get(measure_id)
        match measure:
            case BaseMeasure():
                return f"({self._base(measure, month)} * {float(measure.scale)!r})"
            case SnapshotMeasure():
                return self._snapshot(measure, month)
            case RatioMeasure():
                num = self.expression(measure.numerator, month)
                den = self.expression(measure.denominator, month)
                factor = float(measure.scale) * (12.0 if measure.annualise else 1.0)
                return (
                    f"(CASE WHEN {den} IS NULL OR {den} = 0 OR {num} IS NULL THEN NULL "
                    f"ELSE {num} / {den} * {factor!r} END)"
                )
            case DerivedMeasure():
                return self._formula(parse_formula(measure.formula).tree, month)
            case ChangeMeasure():
                shift = -12 if measure.versus == "prior_year" else -1
                now = self.expression(measure.of, month)
                then = self.expression(measure.of, str(Month.parse(month).shift(shift)))
                if measure.change_as == "absolute":
                    return f"({now} - {then})"
                return (
                    f"(CASE WHEN {then} IS NULL OR {then} = 0 OR {now} IS NULL THEN NULL "
                    f"ELSE ({now} - {then}) / abs({then}) * 100.0 END)"
                )
            case ManualMeasure():
                return self._manual(measure, month)
        raise PeerError(f"measure {measure_id!r} is not in the spec")

    def _manual(self, measure: ManualMeasure, month: str) -> str:
        """The value the owner reported for the month: the newest file's row wins (the updates
        contract is incremental, keyed by measure and period)."""
        where = [
            self._in_month(UPDATES, "period", month),
            f"{self._col(UPDATES, 'measure_id')} = {_text(measure.id)}",
        ]
        value = f"max(TRY_CAST({self._col(UPDATES, 'value')} AS DOUBLE))"
        return self._aggregate(UPDATES, f"{measure.id}@{month}", value, where)

    def _base(self, measure: BaseMeasure, month: str) -> str:
        contract = self.contracts[measure.source]
        date_column = measure.date_column or contract.month_column
        if date_column is None:
            raise PeerError(f"measure {measure.id}: no date column")
        where = [self._in_month(measure.source, date_column, month)]
        where += [self._filter(measure.source, f) for f in measure.filters]
        if measure.agg == "count":
            value = (
                "count(*)"
                if measure.column is None
                else f"count({self._col(measure.source, measure.column)})"
            )
        else:
            if measure.column is None:
                raise PeerError(f"measure {measure.id}: agg {measure.agg} needs a column")
            value = AGGREGATES[measure.agg].format(c=self._col(measure.source, measure.column))
        return self._aggregate(measure.source, f"{measure.id}@{month}", value, where)

    def _snapshot(self, measure: SnapshotMeasure, month: str) -> str:
        end = f"TIMESTAMP '{Month.parse(month).end}'"
        where = [f"{self._col(measure.source, measure.active_from)} < {end}"]
        if measure.active_to:
            to = self._col(measure.source, measure.active_to)
            where.append(f"({to} IS NULL OR {to} >= {end})")
        where += [self._filter(measure.source, f) for f in measure.filters]
        if measure.agg == "count":
            value = "count(*)"
        elif measure.column is None:
            raise PeerError(f"measure {measure.id}: agg {measure.agg} needs a column")
        else:
            value = AGGREGATES[measure.agg].format(c=self._col(measure.source, measure.column))
        return self._aggregate(measure.source, f"{measure.id}@{month}", value, where)

    def _aggregate(self, dataset: str, name: str, value: str, where: list[str]) -> str:
        self._months.setdefault(dataset, set()).add(name.rsplit("@", 1)[1])
        cols = self._aggregates.setdefault(dataset, {})
        cols[name] = f"{value} FILTER (WHERE {' AND '.join(where)})"
        return f"{quote('agg_' + dataset)}.{quote(name)}"

    def _formula(self, node: ast.expr, month: str) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            return self.expression(node.id, month)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            return f"({sign}{self._formula(node.operand, month)})"
        if isinstance(node, ast.BinOp):
            left, right = self._formula(node.left, month), self._formula(node.right, month)
            if isinstance(node.op, ast.Div):
                return f"({left} / NULLIF({right}, 0))"
            ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
            return f"({left} {ops[type(node.op)]} {right})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [self._formula(a, month) for a in node.args]
            if node.func.id == "abs":
                return f"abs({args[0]})"
            pick = "least" if node.func.id == "min" else "greatest"
            missing = " OR ".join(f"{a} IS NULL" for a in args)
            return f"(CASE WHEN {missing} THEN NULL ELSE {pick}({', '.join(args)}) END)"
        raise PeerError(f"formula node {ast.unparse(node)!r} is not translated")

    def _in_month(self, dataset: str, column: str, month: str) -> str:
        m = Month.parse(month)
        col = self._col(dataset, column)
        return f"{col} >= TIMESTAMP '{m.start}' AND {col} < TIMESTAMP '{m.end}'"

    def _filter(self, dataset: str, item: Filter) -> str:
        col = self._col(dataset, item.column)
        kind = self._type(dataset, item.column)
        if item.op == "is_null":
            return f"{col} IS NULL"
        if item.op == "not_null":
            return f"{col} IS NOT NULL"
        if item.op in ("in", "not_in"):
            values = ", ".join(literal(v, kind) for v in item.values or [])
            return f"{col} {'IN' if item.op == 'in' else 'NOT IN'} ({values})"
        return f"{col} {COMPARE[item.op]} {literal(item.value, kind)}"

    def _type(self, dataset: str, column: str) -> str:
        contract = self.contracts[dataset]
        if column in contract.columns:
            return str(contract.columns[column].type)
        if column in contract.computed:
            computed = contract.computed[column]
            if computed.expression is not None:
                return _expression_type(computed.expression.tree, contract)
            return COMPUTED_TYPES[computed.op]
        raise PeerError(f"column {column!r} is not in the {dataset} contract")

    def _col(self, dataset: str, column: str) -> str:
        self._type(dataset, column)
        return quote(column)

    def _relation(self, dataset: str) -> str:
        """The dataset's rows as the month's extract sees them, with computed columns."""
        contract = self.contracts[dataset]
        paths = self.paths(dataset)
        if not paths:
            raise PeerError(f"no landing files for {dataset}")
        header = paths[0].open(encoding="utf-8").readline().strip().split(",")
        types = {
            c: SQL_TYPES[contract.columns[c].type] if c in contract.columns else "VARCHAR"
            for c in header
        }
        columns = "{" + ", ".join(f"{_text(c)}: {_text(t)}" for c, t in types.items()) + "}"
        files = "[" + ", ".join(_text(str(p)) for p in paths) + "]"
        source = (
            f"SELECT * FROM read_csv({files}, header = true, delim = ',', auto_detect = false, "
            f"columns = {columns}, filename = true)"
        )
        absent = [  # optional columns the files do not carry (`absent_ok`): typed nulls
            f"CAST(NULL AS {SQL_TYPES[c.type]}) AS {quote(n)}"
            for n, c in contract.columns.items()
            if n not in types
        ]
        computed = [
            f"{self._computed(dataset, c)} AS {quote(n)}" for n, c in contract.computed.items()
        ]
        select = ", ".join(["*", *absent])
        source = f"SELECT {select} FROM ({source})"
        select = ", ".join(["*", *computed])
        if contract.mode != "incremental":
            return f"SELECT {select} FROM ({source})"
        keys = ", ".join(quote(k) for k in contract.keys)
        order = (
            f"{quote(contract.version_column)} DESC NULLS LAST, " if contract.version_column else ""
        )
        return (
            f"SELECT {select} FROM ({source}) "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {order}filename DESC) = 1"
        )

    def _computed(self, dataset: str, column: Any) -> str:
        contract = self.contracts[dataset]
        if column.expression is not None:
            return _expression_sql(column.expression.tree, contract)

        def arg(value: Any) -> str:
            if isinstance(value, str) and value in contract.columns:
                return quote(value)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return repr(float(value))
            return _text(value)

        a = [arg(v) for v in column.args]
        match column.op:
            case "between":
                return f"({a[0]} >= {a[1]} AND {a[0]} <= {a[2]})"
            case "hours_between":
                return f"(date_diff('microsecond', {a[0]}, {a[1]}) / 3600000000.0)"
            case "not_after":
                return f"({a[0]} <= {a[1]})"
            case "greater_than":
                return f"({a[0]} > {a[1]})"
        raise PeerError(f"computed op {column.op!r} is not translated")


_SQL_OPERATORS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Eq: "=",
    ast.NotEq: "<>",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_SQL_CALLS = {"coalesce": "coalesce", "abs": "abs", "min": "least", "max": "greatest"}


def _expression_sql(node: ast.expr, contract: Any) -> str:
    """A row expression of a contract (already checked by its grammar) written as DuckDB SQL,
    independently of the pipeline's pandas evaluator: the peer's own reading of the rule."""

    def sql(n: ast.expr) -> str:
        return _expression_sql(n, contract)

    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            return "TRUE" if node.value else "FALSE"
        if isinstance(node.value, int | float):
            return repr(float(node.value))
        return _text(node.value)
    if isinstance(node, ast.Name):
        if node.id in ("true", "false"):
            return node.id.upper()
        return quote(node.id)
    if isinstance(node, ast.UnaryOp):
        return (
            f"(NOT {sql(node.operand)})"
            if isinstance(node.op, ast.Not)
            else f"(-{sql(node.operand)})"
        )
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Div):
            return f"({sql(node.left)} / NULLIF({sql(node.right)}, 0))"
        return f"({sql(node.left)} {_SQL_OPERATORS[type(node.op)]} {sql(node.right)})"
    if isinstance(node, ast.BoolOp):
        word = " AND " if isinstance(node.op, ast.And) else " OR "
        return "(" + word.join(sql(v) for v in node.values) + ")"
    if isinstance(node, ast.Compare):
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            parts.append(f"({sql(left)} {_SQL_OPERATORS[type(op)]} {sql(right)})")
            left = right
        return "(" + " AND ".join(parts) + ")"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name, args = node.func.id, node.args
        if name == "col":
            return quote(str(ast.literal_eval(args[0])))
        if name == "if_":
            return f"(CASE WHEN {sql(args[0])} THEN {sql(args[1])} ELSE {sql(args[2])} END)"
        if name == "startswith":
            return f"starts_with({sql(args[0])}, {sql(args[1])})"
        return f"{_SQL_CALLS[name]}({', '.join(sql(a) for a in args)})"
    raise PeerError(f"expression node {ast.dump(node)} is not translated")


def _expression_type(node: ast.expr, contract: Any) -> str:
    """The contract type an expression yields: comparisons and logic are bool, arithmetic float."""
    if isinstance(node, ast.Compare | ast.BoolOp) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    ):
        return "bool"
    if isinstance(node, ast.Name):
        if node.id in ("true", "false"):
            return "bool"
        return str(contract.columns[node.id].type) if node.id in contract.columns else "float"
    if isinstance(node, ast.Constant):
        return (
            "bool"
            if isinstance(node.value, bool)
            else "string"
            if isinstance(node.value, str)
            else "float"
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "startswith":
            return "bool"
        if node.func.id == "if_":
            return _expression_type(node.args[1], contract)
        if node.func.id in ("coalesce", "min", "max"):
            return _expression_type(node.args[0], contract)
    return "float"


def _select_list(columns: dict[str, str]) -> str:
    return ", ".join(f"{sql} AS {quote(name)}" for name, sql in columns.items())


def peer_values(
    spec: Spec, contracts: dict[str, Any], landing: Path, month: str
) -> dict[str, float | None]:
    """Every measure's value for `month`, computed by DuckDB from the landing files."""
    import duckdb

    sql = PeerQuery(spec, contracts, landing, month).sql()
    with duckdb.connect() as con:
        row = con.execute(sql).fetchone()
        names = [d[0] for d in con.description or []]
    assert row is not None
    return {name: (None if v is None else float(v)) for name, v in zip(names, row, strict=True)}


def differences(
    pipeline: Mapping[str, float | None], peer: Mapping[str, float | None]
) -> list[Difference]:
    """Measures whose values differ beyond float summation order (both missing is equal)."""
    found = []
    for measure_id, theirs in peer.items():
        ours = pipeline.get(measure_id)
        ours = None if ours is None or math.isnan(ours) else ours
        theirs = None if theirs is None or math.isnan(theirs) else theirs
        if ours is None and theirs is None:
            continue
        if (
            ours is None
            or theirs is None
            or not math.isclose(ours, theirs, rel_tol=REL_TOL, abs_tol=1e-9)
        ):
            found.append(Difference(measure_id, ours, theirs))
    return found
