"""Evaluating a checked formula over floats or index-aligned pandas Series.

Only trees `formula.parse_formula` accepted reach here; the walk below handles exactly the
allow-listed nodes. Division by zero and missing operands give NaN, never inf or an exception.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from bsc_pipeline.spec.formula import Formula, FormulaError

Value: TypeAlias = "float | pd.Series"


def evaluate(formula: Formula, values: Mapping[str, Value | None]) -> Value:
    """Evaluate over floats or index-aligned Series; zero divisors and missing operands give NaN.

    Returns a float64 Series when any operand used is a Series, otherwise a float.
    """
    with np.errstate(all="ignore"):
        result = _eval(formula.tree, values)
    if isinstance(result, pd.Series):
        return result.replace([np.inf, -np.inf], np.nan)
    return float(result) if np.isfinite(result) else float("nan")


def _eval(node: ast.expr, values: Mapping[str, Value | None]) -> Value:
    if isinstance(node, ast.Constant):
        return _operand(node.value)
    if isinstance(node, ast.Name):
        return _operand(values.get(node.id))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        op = _BINARY[type(node.op)]
        return _finite(op(_eval(node.left, values), _eval(node.right, values)))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_eval(arg, values) for arg in node.args]
        if node.func.id == "abs":
            return args[0].abs() if isinstance(args[0], pd.Series) else abs(args[0])
        pick = np.minimum if node.func.id == "min" else np.maximum
        result: Value = args[0]
        for arg in args[1:]:
            result = _pairwise(pick, result, arg)
        return result
    raise FormulaError(ast.unparse(node), "unchecked node reached the evaluator")


def _operand(value: object) -> Value:
    """A measure's value as float64; None or an absent measure is NaN (no data, never 0)."""
    if value is None:
        return float("nan")
    if isinstance(value, pd.Series):
        data = pd.to_numeric(value, errors="coerce")
        return pd.Series(data.to_numpy(dtype="float64", na_value=np.nan), index=value.index)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _pairwise(pick: Callable[..., Any], left: Value, right: Value) -> Value:
    """min/max that keeps a NaN (missing data stays missing) and aligns Series on the index."""
    if isinstance(left, pd.Series) or isinstance(right, pd.Series):
        left_s, right_s = _align(left, right)
        picked = pick(left_s.to_numpy(), right_s.to_numpy())
        return pd.Series(picked, index=left_s.index, dtype="float64")
    return float(pick(left, right))


def _align(left: Value, right: Value) -> tuple[pd.Series, pd.Series]:
    if not isinstance(left, pd.Series):
        assert isinstance(right, pd.Series)
        return pd.Series(left, index=right.index, dtype="float64"), right
    if not isinstance(right, pd.Series):
        return left, pd.Series(right, index=left.index, dtype="float64")
    aligned_left, aligned_right = left.align(right)
    return aligned_left, aligned_right


def _divide(left: Value, right: Value) -> Value:
    if isinstance(left, pd.Series) or isinstance(right, pd.Series):
        return left / right
    if right == 0 or np.isnan(right):
        return float("nan")
    return left / right


def _finite(value: Value) -> Value:
    """Overflow and x/0 give inf in IEEE arithmetic; a measure has no value there instead."""
    if isinstance(value, pd.Series):
        return value.replace([np.inf, -np.inf], np.nan)
    return value if np.isfinite(value) else float("nan")


_BINARY: dict[type[ast.operator], Callable[[Value, Value], Value]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: _divide,
}
