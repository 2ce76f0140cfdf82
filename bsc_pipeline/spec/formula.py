"""The safe arithmetic grammar of derived measures.

A formula is parsed into a Python syntax tree and every node is checked against an allow-list:
numbers, measure ids, unary minus/plus, `+ - * /`, parentheses and calls to `min`, `max`, `abs`.
Nothing is ever compiled or executed: `evaluate` (in `evaluation.py`, the only part that needs
numpy and pandas, so `bsc spec check` runs without them) walks the checked tree itself, vectorized
over pandas Series. Division by zero and missing operands give NaN, never inf and never an
exception.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bsc_pipeline.spec.evaluation import Value, evaluate

MAX_LENGTH = 1000
"""Longest formula accepted, in characters: a formula is a line of arithmetic, not a program."""

MAX_DEPTH = 64
"""Deepest syntax tree accepted: bounds the evaluator's recursion and the parser's work."""

FUNCTIONS: frozenset[str] = frozenset({"min", "max", "abs"})
ALLOWED = "numbers, measure ids, + - * /, parentheses, min(), max(), abs()"

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

_DESCRIPTIONS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "subscripts ('[...]')",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Pow: "'**' (power)",
    ast.FloorDiv: "'//' (floor division)",
    ast.Mod: "'%' (modulo)",
    ast.MatMult: "'@'",
    ast.BitAnd: "'&'",
    ast.BitOr: "'|'",
    ast.BitXor: "'^'",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.Invert: "'~'",
    ast.Not: "'not'",
    ast.BoolOp: "'and'/'or'",
    ast.Compare: "comparisons",
    ast.IfExp: "'if ... else'",
    ast.NamedExpr: "':='",
    ast.Tuple: "tuples (',')",
    ast.List: "lists",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.JoinedStr: "strings",
    ast.Starred: "'*' unpacking",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
    ast.Slice: "slices",
}


class FormulaError(ValueError):
    """A formula outside the grammar: says what is not allowed and at which column (1-based)."""

    def __init__(self, text: str, message: str, offset: int | None = None) -> None:
        self.text = text
        self.reason = message
        self.offset = offset
        """0-based character offset into `text`, None when the whole formula is at fault."""
        where = f" at column {offset + 1}" if offset is not None else ""
        super().__init__(f"formula {text!r}: {message}{where}; allowed: {ALLOWED}")

    @property
    def column(self) -> int | None:
        """1-based column, as an editor shows it."""
        return None if self.offset is None else self.offset + 1


@dataclass(frozen=True)
class Formula:
    """A checked formula: its text, the measure ids it reads, and the checked syntax tree."""

    text: str
    names: frozenset[str]
    tree: ast.expr = field(repr=False, compare=False)


def parse_formula(text: str) -> Formula:
    """Check `text` against the grammar and return it with the measure ids it references."""
    tree, indent = read_tree(text, FormulaError, "a formula", "valid arithmetic")
    names: set[str] = set()
    _check(tree, text, indent, 0, names)
    return Formula(text=text, names=frozenset(names), tree=tree)


def read_tree(
    text: object, fail: Callable[..., Exception], kind: str, valid: str
) -> tuple[ast.expr, int]:
    """The syntax tree of `text` (nothing is compiled or run) and the indent its column offsets
    add; `fail(text, reason, offset)` builds the caller's error, `kind` names the text ("a
    formula") and `valid` what it must be ("valid arithmetic"). Shared by row expressions."""
    noun = kind.split(" ", 1)[1]
    if not isinstance(text, str):
        raise fail(str(text), f"{kind} must be text")
    if len(text) > MAX_LENGTH:
        raise fail(text[:40] + "...", f"longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise fail(text, f"the {noun} is empty")
    # Line breaks from folded YAML are spaces; same length keeps the column offsets true.
    flat = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    indent = len(flat) - len(flat.lstrip())
    try:
        # ast.parse only builds the syntax tree (PyCF_ONLY_AST): no bytecode, nothing runs.
        module = ast.parse(flat.lstrip(), mode="eval")
    except SyntaxError as exc:
        offset = None if exc.offset is None else max(exc.offset - 1, 0) + indent
        raise fail(text, f"not {valid} ({exc.msg})", offset) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise fail(text, f"cannot be read ({type(exc).__name__})") from None
    return module.body, indent


def _check(node: ast.expr, text: str, indent: int, depth: int, names: set[str]) -> None:
    """Reject every node outside the allow-list, recording the measure ids seen."""
    offset = getattr(node, "col_offset", 0) + indent
    if depth > MAX_DEPTH:
        raise FormulaError(text, f"nested deeper than {MAX_DEPTH} levels", offset)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            kind = "strings" if isinstance(node.value, str | bytes) else repr(node.value)
            raise FormulaError(text, f"{kind} not allowed", offset)
        return
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise FormulaError(
                text, f"'{node.id}' is a function: call it as {node.id}(...)", offset
            )
        if not _NAME.match(node.id):
            raise FormulaError(
                text, f"'{node.id}' is not a measure id (lower snake_case, e.g. revenue)", offset
            )
        names.add(node.id)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise FormulaError(text, f"{_describe(node.op)} not allowed", offset)
        _check(node.operand, text, indent, depth + 1, names)
        return
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            op_offset = _operator_offset(node, text, indent)
            raise FormulaError(text, f"{_describe(node.op)} not allowed", op_offset)
        _check(node.left, text, indent, depth + 1, names)
        _check(node.right, text, indent, depth + 1, names)
        return
    if isinstance(node, ast.Call):
        _check_call(node, text, indent, depth, names)
        return
    if isinstance(node, ast.Attribute):
        inner: ast.expr = node
        while isinstance(inner, ast.Attribute):
            inner = inner.value
        dot = getattr(inner, "end_col_offset", None)
        offset = offset if dot is None else dot + indent
    raise FormulaError(text, f"{_describe(node)} not allowed", offset)


def _check_call(node: ast.Call, text: str, indent: int, depth: int, names: set[str]) -> None:
    offset = node.col_offset + indent
    if isinstance(node.func, ast.Attribute):
        _check(node.func, text, indent, depth + 1, names)
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        called = node.func.id if isinstance(node.func, ast.Name) else None
        what = f"calling '{called}'" if called else "calling anything but min, max or abs"
        raise FormulaError(text, f"{what} not allowed", offset)
    if node.keywords:
        kw_offset = node.keywords[0].col_offset + indent
        raise FormulaError(text, "keyword arguments not allowed", kw_offset)
    name = node.func.id
    if name == "abs" and len(node.args) != 1:
        raise FormulaError(text, f"abs() takes one argument, got {len(node.args)}", offset)
    if name in {"min", "max"} and len(node.args) < 2:
        raise FormulaError(text, f"{name}() takes two or more arguments", offset)
    for arg in node.args:
        _check(arg, text, indent, depth + 1, names)


def _operator_offset(node: ast.BinOp, text: str, indent: int) -> int:
    """Column of the operator itself (ast keeps only the operands' positions)."""
    end = getattr(node.left, "end_col_offset", None)
    start = node.right.col_offset
    if end is None:
        return node.col_offset + indent
    gap = text[end + indent : start + indent]
    return end + indent + (len(gap) - len(gap.lstrip(" ()")))


def _describe(node: ast.AST) -> str:
    for kind, description in _DESCRIPTIONS.items():
        if isinstance(node, kind):
            return description
    return f"'{type(node).__name__}'"


def __getattr__(name: str) -> object:
    """`evaluate` and `Value` still import from here; they load numpy and pandas on first use."""
    if name in ("evaluate", "Value"):
        return getattr(importlib.import_module("bsc_pipeline.spec.evaluation"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALLOWED",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Formula",
    "FormulaError",
    "Value",
    "evaluate",
    "parse_formula",
]
