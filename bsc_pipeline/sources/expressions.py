"""Row-level expressions of mappings and computed columns: `Quantity * UnitPrice`.

The grammar extends the spec's formula grammar (`bsc_pipeline/spec/formula.py`) with what a row
needs: column names, text and true/false literals, comparisons, `and`/`or`/`not`, and the calls
`coalesce`, `if_`, `startswith`, `col`, `abs`, `min`, `max`. As there, the text is parsed into a
syntax tree, every node is checked against an allow-list, and the evaluator walks the checked tree
itself, vectorized over pandas Series; nothing is ever compiled or executed.

Missing values propagate (SQL style: a comparison with a missing side is missing, `coalesce`
picks the first present value); division by zero gives missing, never inf, and is reported.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bsc_pipeline.spec.formula import MAX_DEPTH, MAX_LENGTH, _describe, _operator_offset

FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "coalesce": (2, None),
    "if_": (3, 3),
    "startswith": (2, 2),
    "col": (1, 1),
    "abs": (1, 1),
    "min": (2, None),
    "max": (2, None),
}
"""Allowed calls with their least and most argument counts (None: any number)."""

ALLOWED = (
    'column names, numbers, "text", true/false, + - * /, comparisons (== != < <= > >=), '
    'and/or/not, coalesce(a, b, ...), if_(condition, a, b), startswith(column, "C"), '
    'col("Name with spaces"), abs(), min(), max()'
)

_LITERAL_NAMES = {"true": True, "false": False}


class ExpressionError(ValueError):
    """An expression outside the grammar: what is not allowed and at which column (1-based)."""

    def __init__(self, text: str, reason: str, offset: int | None = None) -> None:
        self.text = text
        self.reason = reason
        self.offset = offset
        where = f" at column {offset + 1}" if offset is not None else ""
        super().__init__(f"expression {text!r}: {reason}{where}; allowed: {ALLOWED}")


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, the column names it reads, and the checked tree."""

    text: str
    names: frozenset[str]
    tree: ast.expr = field(repr=False, compare=False)


def parse_expression(text: str) -> Expression:
    """Check `text` against the grammar and return it with the column names it reads."""
    if not isinstance(text, str):
        raise ExpressionError(str(text), "an expression must be text")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text[:40] + "...", f"longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExpressionError(text, "the expression is empty")
    flat = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    indent = len(flat) - len(flat.lstrip())
    try:
        # ast.parse only builds the syntax tree (PyCF_ONLY_AST): no bytecode, nothing runs.
        module = ast.parse(flat.lstrip(), mode="eval")
    except SyntaxError as exc:
        offset = None if exc.offset is None else max(exc.offset - 1, 0) + indent
        raise ExpressionError(text, f"not a valid expression ({exc.msg})", offset) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(text, f"cannot be read ({type(exc).__name__})") from None
    names: set[str] = set()
    _Checker(text, indent, names).check(module.body, 0)
    return Expression(text=text, names=frozenset(names), tree=module.body)


@dataclass
class _Checker:
    text: str
    indent: int
    names: set[str]

    def fail(self, node: ast.AST, reason: str) -> ExpressionError:
        return ExpressionError(self.text, reason, getattr(node, "col_offset", 0) + self.indent)

    def check(self, node: ast.expr, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            if node.value is None or isinstance(node.value, bytes):
                raise self.fail(node, f"{node.value!r} not allowed")
            return
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise self.fail(node, f"'{node.id}' is a function: call it as {node.id}(...)")
            if node.id not in _LITERAL_NAMES:
                self.names.add(node.id)
            return
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
                raise self.fail(node, f"{_describe(node.op)} not allowed")
            self.check(node.operand, depth + 1)
            return
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
                offset = _operator_offset(node, self.text, self.indent)
                raise ExpressionError(self.text, f"{_describe(node.op)} not allowed", offset)
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and isinstance(side.value, str):
                    raise self.fail(side, "text in arithmetic (+ - * / take numbers)")
            self.check(node.left, depth + 1)
            self.check(node.right, depth + 1)
            return
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.check(value, depth + 1)
            return
        if isinstance(node, ast.Compare):
            allowed = ast.Eq | ast.NotEq | ast.Lt | ast.LtE | ast.Gt | ast.GtE
            if len(node.ops) != 1 or not isinstance(node.ops[0], allowed):
                raise self.fail(node, "only one comparison (== != < <= > >=) at a time")
            self.check(node.left, depth + 1)
            self.check(node.comparators[0], depth + 1)
            return
        if isinstance(node, ast.Call):
            self.call(node, depth)
            return
        raise self.fail(node, f"{_describe(node)} not allowed")

    def call(self, node: ast.Call, depth: int) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = node.func.id if isinstance(node.func, ast.Name) else None
            what = f"calling '{called}'" if called else "calling anything but the functions"
            raise self.fail(node, f"{what} not allowed")
        if node.keywords:
            raise self.fail(node.keywords[0], "keyword arguments not allowed")
        name = node.func.id
        least, most = FUNCTIONS[name]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            wanted = str(least) if least == most else f"{least} or more"
            raise self.fail(node, f"{name}() takes {wanted} argument(s), got {count}")
        if name == "col":
            (arg,) = node.args
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise self.fail(node, 'col() takes a column name in quotes: col("Unit Price")')
            self.names.add(arg.value)
            return
        if name == "startswith":
            prefix = node.args[1]
            if not (isinstance(prefix, ast.Constant) and isinstance(prefix.value, str)):
                raise self.fail(prefix, 'startswith() takes a prefix in quotes: startswith(x, "C")')
        for arg in node.args:
            self.check(arg, depth + 1)


Resolver = Callable[[str], pd.Series]
ToNumber = Callable[[pd.Series], pd.Series]


@dataclass
class Evaluated:
    """An expression's values over the rows, and the rows where it divided by zero."""

    values: pd.Series
    divided_by_zero: np.ndarray


def evaluate_rows(
    expression: Expression,
    resolve: Resolver,
    index: pd.Index,
    to_number: ToNumber | None = None,
) -> Evaluated:
    """Evaluate over the rows of `index`; `resolve` gives a column by name.

    `to_number` reads a text column as numbers where arithmetic needs it (a mapping passes its
    number conventions; the default reads plain numbers, anything else missing).
    """
    run = _Run(resolve, index, to_number or _plain_number)
    with np.errstate(all="ignore"):
        result = run.eval(expression.tree)
    return Evaluated(run.series(result), run.zero)


def _plain_number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.astype(object), errors="coerce").astype("Float64")


class _Run:
    def __init__(self, resolve: Resolver, index: pd.Index, to_number: ToNumber) -> None:
        self.resolve = resolve
        self.index = index
        self.to_number = to_number
        self.zero = np.zeros(len(index), dtype=bool)

    def series(self, value: Any) -> pd.Series:
        """A value as a Series over the rows (literals repeated), in a nullable dtype."""
        if isinstance(value, pd.Series):
            return value
        if isinstance(value, bool):
            return pd.Series(value, index=self.index, dtype="boolean")
        if isinstance(value, int | float):
            return pd.Series(float(value), index=self.index, dtype="Float64")
        return pd.Series(value, index=self.index, dtype="string")

    def number(self, value: Any) -> Any:
        if not isinstance(value, pd.Series):
            if isinstance(value, str):
                raise ExpressionError(value, "text used in arithmetic")
            return float(value)
        if pd.api.types.is_string_dtype(value.dtype) or value.dtype == object:
            return self.to_number(value)
        if pd.api.types.is_datetime64_any_dtype(value.dtype):
            raise ExpressionError(str(value.name), "dates cannot take part in arithmetic")
        return value.astype("Float64")

    def boolean(self, value: Any) -> pd.Series:
        series = self.series(value)
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.astype("boolean")
        return series.astype("Float64").ne(0).astype("boolean")

    def eval(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in _LITERAL_NAMES:
                return _LITERAL_NAMES[node.id]
            return self.resolve(node.id)
        if isinstance(node, ast.UnaryOp):
            operand = self.eval(node.operand)
            if isinstance(node.op, ast.Not):
                return ~self.boolean(operand)
            number = self.number(operand)
            return -number if isinstance(node.op, ast.USub) else number
        if isinstance(node, ast.BinOp):
            return self.arithmetic(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.BoolOp):
            values = [self.boolean(self.eval(v)) for v in node.values]
            result = values[0]
            for value in values[1:]:
                result = result & value if isinstance(node.op, ast.And) else result | value
            return result
        if isinstance(node, ast.Compare):
            return self.compare(node.ops[0], self.eval(node.left), self.eval(node.comparators[0]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node.func.id, node.args)
        raise ExpressionError(ast.unparse(node), "unchecked node reached the evaluator")

    def arithmetic(self, op: ast.operator, left: Any, right: Any) -> Any:
        a, b = self.number(left), self.number(right)
        if isinstance(op, ast.Add):
            result = a + b
        elif isinstance(op, ast.Sub):
            result = a - b
        elif isinstance(op, ast.Mult):
            result = a * b
        else:
            divisor = self.series(b)
            zero = divisor.eq(0).fillna(False).to_numpy(dtype=bool)
            self.zero |= zero & self.series(a).notna().to_numpy(dtype=bool)
            result = self.series(a) / divisor.mask(zero)
        result = self.series(result).astype("Float64")
        infinite = np.isinf(result.to_numpy(dtype="float64", na_value=np.nan))
        return result.mask(infinite)

    def compare(self, op: ast.cmpop, left: Any, right: Any) -> pd.Series:
        """Numbers when either side is a number (a source's text is read as one), else times
        when either side is a time, else text, else flags."""
        a, b = self.series(left), self.series(right)
        kinds = {_kind(a), _kind(b)}
        if "number" in kinds:
            a, b = self.series(self.number(a)), self.series(self.number(b))
        elif "time" in kinds:
            a, b = (pd.to_datetime(s, errors="coerce") for s in (a, b))
        elif "text" in kinds:
            a, b = a.astype("string"), b.astype("string")
        missing = (a.isna() | b.isna()).to_numpy(dtype=bool)
        compared = {
            ast.Eq: lambda: a == b,
            ast.NotEq: lambda: a != b,
            ast.Lt: lambda: a < b,
            ast.LtE: lambda: a <= b,
            ast.Gt: lambda: a > b,
            ast.GtE: lambda: a >= b,
        }[type(op)]()
        return pd.Series(compared, index=self.index).astype("boolean").mask(missing)

    def call(self, name: str, args: list[ast.expr]) -> Any:
        if name == "col":
            node = args[0]
            assert isinstance(node, ast.Constant)
            return self.resolve(str(node.value))
        if name == "startswith":
            text = self.series(self.eval(args[0])).astype("string")
            prefix = args[1]
            assert isinstance(prefix, ast.Constant)
            return text.str.startswith(str(prefix.value)).astype("boolean")
        values = [self.eval(a) for a in args]
        if name == "if_":
            condition = self.boolean(values[0])
            yes, no = self._same_kind(values[1], values[2])
            chosen = no.where(~condition.fillna(False), yes)
            return chosen.mask(condition.isna().to_numpy(dtype=bool))
        if name == "coalesce":
            result = self.series(values[0])
            for value in values[1:]:
                result, other = self._same_kind(result, value)
                result = result.where(result.notna(), other)
            return result
        numbers = [self.series(self.number(v)) for v in values]
        if name == "abs":
            return numbers[0].abs()
        result = numbers[0]
        for other in numbers[1:]:
            keep = (result <= other) if name == "min" else (result >= other)
            missing = (result.isna() | other.isna()).to_numpy(dtype=bool)
            result = result.where(keep.fillna(True), other).mask(missing)
        return result

    def _same_kind(self, left: Any, right: Any) -> tuple[pd.Series, pd.Series]:
        """Two branches in one dtype: text wins over numbers, numbers over true/false."""
        a, b = self.series(left), self.series(right)
        if a.isna().all() and not b.isna().all():
            a = a.astype(b.dtype)
        elif b.isna().all():
            b = b.astype(a.dtype)
        kinds = {_kind(a), _kind(b)}
        if len(kinds) == 1:
            return a, b
        if "text" in kinds:
            return a.astype("string"), b.astype("string")
        if kinds <= {"number", "bool"}:
            return a.astype("Float64"), b.astype("Float64")
        return a.astype(object), b.astype(object)


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "time"
    return "text"
