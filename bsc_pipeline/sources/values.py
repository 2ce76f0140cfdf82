"""Vectorized readers for text values: numbers, dates, datetimes, booleans and value maps.

Each returns the typed array and a mask of values that were present but could not be read, so
the caller can reject exactly those rows and say what was seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TRUE_WORDS = ["true", "t", "yes", "y", "1"]
FALSE_WORDS = ["false", "f", "no", "n", "0"]
ISO_FALLBACK = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]
_FRACTION = r"(\d\d:\d\d:\d\d)[.,]\d{1,9}"

Array: TypeAlias = "pa.Array | pa.ChunkedArray"


@dataclass(frozen=True)
class NumberStyle:
    """How a file writes numbers: separators, characters to strip, negative notations."""

    decimal: str = "."
    thousands: str | None = None
    strip: tuple[str, ...] = ()
    parentheses: bool = False
    trailing_minus: bool = False

    def describe(self) -> str:
        style = f"decimal {self.decimal!r}"
        if self.thousands:
            style += f", thousands {self.thousands!r}"
        if self.parentheses:
            style += ", (negatives)"
        if self.trailing_minus:
            style += ", trailing minus"
        return style


def _mask(arr: Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)


def present(arr: Array) -> np.ndarray:
    return _mask(pc.is_valid(arr))


def as_text(arr: Array) -> Array:
    """Text with surrounding blanks removed; blank becomes missing."""
    text = arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())
    text = pc.utf8_trim_whitespace(text)
    blank = pc.equal(text, "")
    if not pc.any(blank).as_py():
        return text
    return pc.if_else(blank, pa.scalar(None, pa.string()), text)


def null_tokens(arr: Array, missing: list[str]) -> Array:
    """Missing-value tokens (`?`, `N/A`, `0000-00-00`) as nulls."""
    tokens = [t for t in missing if t]
    if not tokens or not pa.types.is_string(arr.type):
        return arr
    return pc.if_else(pc.is_in(arr, pa.array(tokens)), pa.scalar(None, pa.string()), arr)


def parse_number(arr: Array, style: NumberStyle = NumberStyle()) -> tuple[Array, np.ndarray]:
    """Numbers as float64 under the file's conventions; bad = present but not a number."""
    if (
        pa.types.is_integer(arr.type)
        or pa.types.is_floating(arr.type)
        or pa.types.is_decimal(arr.type)
    ):
        return pc.cast(arr, pa.float64()), np.zeros(len(arr), dtype=bool)
    if style == NumberStyle():
        try:
            return pc.cast(arr, pa.float64()), np.zeros(len(arr), dtype=bool)
        except pa.ArrowInvalid:
            pass  # blanks, signs or stray text: the careful path below says which
    text = as_text(arr)
    for chars in style.strip:
        text = pc.replace_substring(text, chars, "")
    negative = pa.array(np.zeros(len(text), dtype=bool))
    if style.parentheses:
        negative = pc.or_(
            negative, pc.fill_null(pc.match_substring_regex(text, r"^\(.*\)$"), False)
        )
        text = pc.replace_substring_regex(text, r"^\((.*)\)$", r"\1")
    if style.trailing_minus:
        negative = pc.or_(negative, pc.fill_null(pc.match_substring_regex(text, r"-$"), False))
        text = pc.replace_substring_regex(text, r"-$", "")
    if style.thousands:
        text = pc.replace_substring(text, style.thousands, "")
    if style.decimal != ".":
        text = pc.replace_substring(text, style.decimal, ".")
    text = pc.utf8_trim_whitespace(text)
    try:
        values: Array = pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        series = pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)
        values = pa.array(
            pd.to_numeric(series, errors="coerce").to_numpy(dtype=float), from_pandas=True
        )
    values = pc.if_else(negative, pc.negate(values), values)
    bad = present(text) & ~present(values)
    return values, bad


PANDAS_FIRST = datetime(1677, 9, 22)
PANDAS_LAST = datetime(2262, 4, 11)
"""The days a canonical frame can hold (`datetime64[ns]`; its last instant is 23:47 that day)."""
INT64_LIMIT = 2.0**63
"""Whole numbers at or beyond ±2⁶³ overflow the canonical `Int64` column."""


def out_of_range_time(values: Array) -> tuple[Array, np.ndarray]:
    """Timestamps outside what pandas can hold (9999-12-31, 0001-01-01) as missing, and the mask
    of them: the row is rejected with its reason rather than failing the whole month."""
    first = pa.scalar(PANDAS_FIRST, pa.timestamp("s"))
    last = pa.scalar(PANDAS_LAST + timedelta(hours=23), pa.timestamp("s"))
    seconds = pc.cast(values, pa.timestamp("s"))
    outside = pc.or_(pc.less(seconds, first), pc.greater_equal(seconds, last))
    mask = _mask(pc.fill_null(outside, False))
    if not mask.any():
        return values, mask
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values), mask


def out_of_range_number(values: Array, whole: bool) -> tuple[Array, np.ndarray]:
    """Numbers that overflowed (`1e400` reads as infinity) or a whole number past ±2⁶³ as missing,
    and the mask of them."""
    floats = pc.cast(values, pa.float64())
    outside = pc.greater_equal(pc.abs(floats), INT64_LIMIT) if whole else pc.is_inf(floats)
    mask = _mask(pc.fill_null(outside, False))
    if not mask.any():
        return values, mask
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values), mask


def parse_int(arr: Array, style: NumberStyle = NumberStyle()) -> tuple[Array, np.ndarray]:
    values, bad = parse_number(arr, style)
    fractional = _mask(pc.fill_null(pc.not_equal(values, pc.floor(values)), False))
    values = pc.if_else(fractional, pa.scalar(None, pa.float64()), values)
    return values, bad | fractional


def _strip_fraction(fmt: str, text: Array) -> tuple[str, Array]:
    if "%f" not in fmt:
        return fmt, text
    fmt = fmt.replace(".%f", "").replace(",%f", "").replace("%f", "")
    return fmt, pc.replace_substring_regex(text, _FRACTION, r"\1")


def parse_temporal(
    arr: Array, formats: list[str], timezone: str | None = None
) -> tuple[Array, np.ndarray]:
    """Timestamps (seconds, UTC, no zone) trying each format in turn; bad = present, no format fit.

    `timezone` is the zone of values that carry no offset; None leaves them as they are.
    """
    if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
        values = _naive_utc(
            pc.cast(
                arr,
                pa.timestamp("s", arr.type.tz)
                if pa.types.is_timestamp(arr.type)
                else pa.timestamp("s"),
            ),
            timezone,
        )
        return values, np.zeros(len(arr), dtype=bool)
    first, *_ = formats or ["%Y-%m-%d"]
    if "%f" not in first:
        direct = pc.strptime(arr, format=first, unit="s", error_is_null=True)
        if direct.null_count == arr.null_count:
            return _naive_utc(direct, None if "%z" in first else timezone), np.zeros(
                len(arr), dtype=bool
            )
    text = as_text(arr)
    result: Array = pa.nulls(len(text), pa.timestamp("s"))
    for fmt in formats:
        plain, values = _strip_fraction(fmt, text)
        parsed = pc.strptime(values, format=plain, unit="s", error_is_null=True)
        result = pc.coalesce(result, _naive_utc(parsed, None if "%z" in fmt else timezone))
    bad = present(text) & ~present(result)
    return result, bad


def _naive_utc(values: Array, timezone: str | None) -> Array:
    if values.type.tz is not None:
        return pc.cast(values, pa.timestamp("s"))
    if timezone and timezone.upper() != "UTC":
        zoned = pc.assume_timezone(
            values, timezone=timezone, ambiguous="earliest", nonexistent="latest"
        )
        return pc.cast(zoned, pa.timestamp("s"))
    return values


def to_date(values: Array) -> Array:
    """Midnight of the day (a date column keeps no time of day)."""
    return pc.cast(pc.cast(values, pa.date32()), pa.timestamp("s"))


def parse_bool(
    arr: Array, true_values: list[str] | None = None, false_values: list[str] | None = None
) -> tuple[Array, np.ndarray]:
    if pa.types.is_boolean(arr.type):
        return arr, np.zeros(len(arr), dtype=bool)
    text = pc.utf8_lower(as_text(arr))
    trues = pa.array([v.lower() for v in (true_values or TRUE_WORDS)])
    falses = pa.array([v.lower() for v in (false_values or FALSE_WORDS)])
    is_true = pc.is_in(text, trues)
    is_false = pc.is_in(text, falses)
    known = pc.or_(is_true, is_false)
    values = pc.if_else(known, is_true, pa.scalar(None, pa.bool_()))
    bad = present(text) & ~_mask(known)
    return values, bad


def map_values(
    arr: Array,
    mapping: dict[str, str | None],
    *,
    other: str | None = None,
    keep_unmapped: bool = True,
    case_insensitive: bool = True,
) -> Array:
    """Vendor values replaced by canonical ones; unmapped ones kept or set to `other`."""
    text = as_text(arr)
    keys = list(mapping)
    targets = pa.array([mapping[k] for k in keys], pa.string())
    probe = pc.utf8_lower(text) if case_insensitive else text
    key_array = pa.array([k.lower() if case_insensitive else k for k in keys], pa.string())
    index = pc.index_in(probe, value_set=key_array)
    mapped = pc.take(targets, index)
    fallback = (
        text
        if keep_unmapped
        else pc.if_else(
            pc.is_valid(text), pa.scalar(other, pa.string()), pa.scalar(None, pa.string())
        )
    )
    return pc.if_else(pc.is_valid(index), mapped, fallback)


def join_present(parts: list[Array], sep: str) -> Array:
    """Present values joined by `sep`, missing ones skipped; all missing gives missing.

    (pyarrow's `null_handling="skip"` drops rows whose inputs are all null, so it is not used.)
    """
    result = parts[0]
    for part in parts[1:]:
        both = pc.binary_join_element_wise(result, part, sep)
        result = pc.if_else(pc.is_null(result), part, pc.if_else(pc.is_null(part), result, both))
    return result
