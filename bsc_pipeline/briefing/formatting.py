"""Numbers as a reader expects them: the spec's unit and decimals, thousands separators."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}
"""Units that are currencies print as an amount (`€1,500.0`); any other unit follows the number."""
MINUS = "−"
"""A true minus sign: a hyphen is easy to miss in a printed variance."""
WORD_JOINER = "\u2060"
"""Invisible; keeps a sign on the same line as the currency symbol after it (`−€187,656`)."""


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_number(value: float | None, unit: str, decimals: int, *, signed: bool = False) -> str:
    """`value` in `unit` with `decimals`: `€1,500.0`, `48.0 %`, `7.0 hours`; missing is `–`."""
    if value is None or math.isnan(value):
        return "–"
    digits = f"{abs(value):,.{decimals}f}"
    sign = _sign(value, digits, signed)
    if unit.upper() in CURRENCY_SYMBOLS:
        joiner = WORD_JOINER if sign else ""
        return f"{sign}{joiner}{CURRENCY_SYMBOLS[unit.upper()]}{digits}"
    if unit == "%":
        return f"{sign}{digits} %"
    words = unit.replace("_", " ").strip()
    return f"{sign}{digits} {words}".rstrip()


def format_percent(value: float | None, *, decimals: int = 1, signed: bool = False) -> str:
    """A share already in percent (`+50.0 %`), e.g. a variance against target."""
    if value is None or math.isnan(value):
        return "–"
    digits = f"{abs(value):,.{decimals}f}"
    return f"{_sign(value, digits, signed)}{digits} %"


def format_score(score: float | None) -> str:
    """A 0–10 score with one decimal, or `–` when nothing underneath has data."""
    if score is None or math.isnan(score):
        return "–"
    return f"{score:.1f}"


def _sign(value: float, digits: str, signed: bool) -> str:
    """Minus for negatives; plus too when asked. A value that rounds to zero carries none."""
    if not any(ch not in "0.," for ch in digits):
        return ""
    if value < 0:
        return MINUS
    return "+" if signed else ""


def with_names(text: str, names: Mapping[str, str]) -> str:
    """A published text (a balance flag) with measure ids replaced by the names a reader knows."""
    if not names:
        return text
    ids = sorted(names, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(i) for i in ids) + r")\b")
    return pattern.sub(lambda match: names[match.group(1)], text)
