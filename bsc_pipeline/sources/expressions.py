"""Row-level expressions of mappings and computed columns: `Quantity * UnitPrice`.

The grammar extends the spec's formula grammar (`bsc_pipeline/spec/formula.py`) with what a row
needs: column names, text and true/false literals, comparisons, `and`/`or`/`not`, and the calls
`coalesce`, `if_`, `startswith`, `col`, `abs`, `min`, `max`. As there, the text is parsed into a
syntax tree, every node is checked against an allow-list, and the evaluator walks the checked tree
itself, vectorized over pandas Series (`sources/row_evaluation.py`, so that parsing a mapping
needs no pandas); nothing is ever compiled or executed.

Missing values propagate (SQL style: a comparison with a missing side is missing, `coalesce`
picks the first present value); division by zero gives missing, never inf, and is reported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from bsc_pipeline.spec.formula import MAX_DEPTH, _describe, _operator_offset, read_tree

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

LITERAL_NAMES = {"true": True, "false": False}


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
    tree, indent = read_tree(text, ExpressionError, "an expression", "a valid expression")
    names: set[str] = set()
    _Checker(text, indent, names).check(tree, 0)
    return Expression(text=text, names=frozenset(names), tree=tree)


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
            if node.id not in LITERAL_NAMES:
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
