"""Evaluating a checked row expression (`sources/expressions.py`) over pandas columns.

Missing values propagate (SQL style: a comparison with a missing side is missing, `coalesce`
picks the first present value); division by zero gives missing, never inf, and is reported.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bsc_pipeline.sources.expressions import LITERAL_NAMES, Expression, ExpressionError

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
            if node.id in LITERAL_NAMES:
                return LITERAL_NAMES[node.id]
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
