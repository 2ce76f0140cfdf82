"""Apply a mapping to a raw table: the canonical frame of one file, its problems and rejects."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bsc_pipeline.sources import values as v
from bsc_pipeline.sources.contracts import ColumnContract, DatasetContract
from bsc_pipeline.sources.expressions import ExpressionError
from bsc_pipeline.sources.mappings import ColumnMapping, Mapping, MappingError
from bsc_pipeline.sources.pii import mask_line, mask_value, pii_source_columns
from bsc_pipeline.sources.problems import SourceProblem, empty_rejected
from bsc_pipeline.sources.readers import RawTable
from bsc_pipeline.sources.row_evaluation import evaluate_rows

LINEAGE = ["_source_file", "_source_line"]
_TEXT = ColumnContract(type="string")
TYPE_FAMILY = {
    "string": ("string",),
    "int": ("integer", "floating", "decimal"),
    "float": ("integer", "floating", "decimal"),
    "decimal": ("integer", "floating", "decimal"),
    "bool": ("boolean",),
    "date": ("date", "timestamp"),
    "datetime": ("timestamp", "date"),
}


@dataclass
class FileFrame:
    """One file in canonical form."""

    frame: pd.DataFrame
    rejected: pd.DataFrame
    problems: list[SourceProblem] = field(default_factory=list)
    dropped: int = 0
    fatal: str | None = None
    rejected_months: list[str | None] = field(default_factory=list)
    """The month of each rejected row where it could be read (a multi-month file's rejects
    belong to their month's read); None where it could not."""


@dataclass
class _Bad:
    column: str
    source: str
    expected: str
    mask: np.ndarray
    seen: pa.Array | pa.ChunkedArray


class _Context:
    def __init__(
        self, raw: RawTable, rel: str, mapping: Mapping, personal: frozenset[str] = frozenset()
    ) -> None:
        self.raw = raw
        self.rel = rel
        self.mapping = mapping
        self.personal = personal
        self.problems: list[SourceProblem] = []
        self.bad: list[_Bad] = []
        self.used: set[str] = set()
        self.absent_ok: set[str] = set()

    def warn(self, column: str | None, expected: str, seen: str, message: str) -> None:
        self.problems.append(
            SourceProblem(self.rel, None, column, expected, seen, "warning", message)
        )

    @property
    def names(self) -> list[str]:
        return list(self.raw.table.column_names)

    def shown(self, texts: list[str], names: list[str]) -> list[str]:
        """Raw lines as they may be kept outside the lake: personal fields masked."""
        if not self.personal:
            return texts
        raw = self.raw
        return [mask_line(t, names, self.personal, raw.delimiter, raw.quote) for t in texts]


def _arrow_family(dtype: pa.DataType) -> str:
    for family in ("string", "integer", "floating", "decimal", "boolean", "date", "timestamp"):
        if getattr(pa.types, f"is_{family}")(dtype):
            return family
    if pa.types.is_large_string(dtype):
        return "string"
    return str(dtype)


def _closest(name: str, present: list[str]) -> str:
    hits = difflib.get_close_matches(name, present, n=1, cutoff=0.7)
    if not hits:
        lowered = {p.lower(): p for p in present}
        hits = [lowered[name.lower()]] if name.lower() in lowered else []
    return f"; closest present: {hits[0]!r}" if hits else ""


def _preprocess(ctx: _Context) -> int:
    """Drop total/balance rows, carry section labels and filled-down cells, collapse repeats."""
    m = ctx.mapping
    table = ctx.raw.table
    drop = np.zeros(table.num_rows, dtype=bool)
    for rule in m.drop_rows:
        ctx.used.add(rule.column)
        if rule.column not in table.column_names:
            ctx.warn(rule.column, "the column named by drop_rows", "absent", "drop rule skipped")
            continue
        text = v.as_text(table[rule.column])
        if rule.empty is not None:
            hit = pc.is_null(text) if rule.empty else pc.is_valid(text)
        elif rule.equals is not None:
            hit = pc.equal(text, rule.equals)
        elif rule.starts_with is not None:
            hit = pc.starts_with(text, rule.starts_with)
        else:
            hit = pc.match_substring_regex(text, rule.matches or "")
        drop |= np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)
    if m.sections:
        sec = m.sections
        for name in [sec.label_column, *sec.when_empty]:
            ctx.used.add(name)
        if sec.label_column in table.column_names and all(
            c in table.column_names for c in sec.when_empty
        ):
            label = v.as_text(table[sec.label_column])
            is_section = pc.is_valid(label)
            for col in sec.when_empty:
                is_section = pc.and_(is_section, pc.is_null(v.as_text(table[col])))
            is_section = pc.fill_null(is_section, False)
            carried = pc.if_else(is_section, label, pa.scalar(None, pa.string()))
            section_mask = np.asarray(is_section.to_numpy(zero_copy_only=False), dtype=bool)
            carried = pc.fill_null_forward(
                pc.if_else(pa.array(drop), pa.scalar(None, pa.string()), carried)
            )
            table = table.append_column(sec.into, carried)
            drop |= section_mask
        else:
            ctx.warn(
                sec.label_column,
                "section columns in the file",
                ",".join(table.column_names),
                "sections rule skipped: a named column is absent",
            )
    if drop.any():
        table = table.filter(pa.array(~drop))
        ctx.raw.lines = ctx.raw.lines[~drop]
    for name in m.fill_down:
        ctx.used.add(name)
        if name not in table.column_names:
            ctx.warn(name, "the column named by fill_down", "absent", "fill_down skipped")
            continue
        idx = table.column_names.index(name)
        table = table.set_column(idx, name, pc.fill_null_forward(table[name]))
    for name, sep in m.collapse_repeated.items():
        repeats = [c for c in table.column_names if c == name or c.startswith(f"{name}.")]
        repeats = [c for c in repeats if c == name or c[len(name) + 1 :].isdigit()]
        if not repeats:
            continue
        joined = v.join_present([v.as_text(table[c]) for c in repeats], sep)
        joined = pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)
        table = table.drop_columns(repeats).append_column(name, joined)
        ctx.used.update(repeats)
    ctx.raw.table = table
    return int(drop.sum())


def _source(
    ctx: _Context, canon: str, names: list[str], required: bool, quiet: bool = False
) -> str | None:
    """The first of `names` present in the file; a missing one is fatal only when required."""
    for name in names:
        if name in ctx.names:
            ctx.used.add(name)
            return name
    wanted = " or ".join(repr(n) for n in names)
    if required:
        raise _Missing(
            canon,
            names[0],
            f"missing required column {wanted} (for {canon!r}){_closest(names[0], ctx.names)}",
        )
    if quiet:
        return None
    ctx.warn(
        names[0],
        f"column {wanted}",
        "absent",
        f"optional column {canon!r} has no source column; left empty"
        f"{_closest(names[0], ctx.names)}",
    )
    return None


class _Missing(Exception):
    def __init__(self, canon: str, source: str, message: str) -> None:
        self.canon = canon
        self.source = source
        super().__init__(message)


def _number_style(m: Mapping) -> v.NumberStyle:
    return v.NumberStyle(
        decimal=m.decimal,
        thousands=m.thousands,
        strip=tuple(m.strip),
        parentheses=m.negative_parentheses,
        trailing_minus=m.trailing_minus,
    )


def _text(
    ctx: _Context, canon: str, cm: ColumnMapping, required: bool
) -> tuple[pa.Array | pa.ChunkedArray, str]:
    n = ctx.raw.table.num_rows
    if cm.constant is not None:
        return pa.repeat(pa.scalar(str(cm.constant), pa.string()), n), "constant"
    if cm.concat is not None:
        label = "+".join(cm.concat)
        found = [_source(ctx, canon, [c], required) for c in cm.concat]
        parts = [v.as_text(ctx.raw.table[c]) for c in found if c]
        if not parts:
            return pa.nulls(n, pa.string()), label
        return v.as_text(v.join_present(parts, cm.sep)), label
    quiet = ctx.mapping.column_map is None and canon in ctx.absent_ok
    src = _source(ctx, canon, cm.from_ or [canon], required, quiet)
    if src is None:
        return pa.nulls(n, pa.string()), (cm.from_ or [canon])[0]
    arr = ctx.raw.table[src]
    if pa.types.is_string(arr.type) and ctx.raw.kind != "csv":
        arr = v.null_tokens(v.as_text(arr), ctx.mapping.missing)
    return arr, src


def _convert(
    ctx: _Context, canon: str, spec: ColumnContract, cm: ColumnMapping
) -> pa.Array | pa.ChunkedArray:
    m = ctx.mapping
    n = ctx.raw.table.num_rows
    if cm.sequence_within is not None:
        return pa.nulls(n, pa.float64())
    if cm.debit is not None or cm.credit is not None:
        amounts = _debit_credit(ctx, canon, spec, cm)
        amounts, huge = v.out_of_range_number(amounts, whole=False)
        ctx.bad.append(_Bad(canon, canon, "a finite number", huge, amounts))
        return amounts
    if cm.expression is not None:
        result = _expression(ctx, canon, spec, cm)
        if not isinstance(result, tuple):
            return result
        arr, src = result
    else:
        arr, src = _text(ctx, canon, cm, spec.required)
    family = _arrow_family(arr.type)
    if family != "string" and family not in TYPE_FAMILY[spec.type]:
        ctx.warn(
            src, spec.type, str(arr.type), f"column type changed: {canon!r} expects {spec.type}"
        )
        arr = pc.cast(arr, pa.string())
    extra_formats = v.ISO_FALLBACK if ctx.raw.kind != "csv" else []
    if spec.type == "string":
        out = v.as_text(arr)
        if cm.pattern is not None:
            extracted = pc.struct_field(pc.extract_regex(out, cm.pattern), "value")
            unmatched = v.present(out) & ~v.present(extracted)
            ctx.bad.append(_Bad(canon, src, f"text matching {cm.pattern}", unmatched, arr))
            out = v.as_text(extracted)
        if cm.values is not None:
            out = v.map_values(
                out,
                _text_values(cm.values),
                other=cm.other,
                keep_unmapped=cm.keep_unmapped,
                case_insensitive=cm.case_insensitive,
            )
        return out
    if spec.type in ("int", "float", "decimal"):
        parse = v.parse_int if spec.type == "int" else v.parse_number
        values, bad = parse(arr, _number_style(m))
        noun = "a whole number" if spec.type == "int" else "a number"
        expected = f"{noun} ({_number_style(m).describe()})"
        ctx.bad.append(_Bad(canon, src, expected, bad, arr))
        values, huge = v.out_of_range_number(values, whole=spec.type == "int")
        limit = "below ±2⁶³ (9.2e18)" if spec.type == "int" else "a finite number"
        ctx.bad.append(_Bad(canon, src, f"{noun} {limit}", huge, arr))
        return _signed(ctx, canon, cm, values)
    if spec.type in ("date", "datetime"):
        default = m.date_format if spec.type == "date" else m.datetime_format
        formats = [*(cm.format or default), *extra_formats]
        zone = cm.timezone or (m.timezone if spec.type == "datetime" else None)
        values, bad = v.parse_temporal(arr, formats, zone)
        ctx.bad.append(_Bad(canon, src, f"{spec.type} as {' or '.join(formats)}", bad, arr))
        values, outside = v.out_of_range_time(values)
        span = f"between {v.PANDAS_FIRST:%Y-%m-%d} and {v.PANDAS_LAST:%Y-%m-%d}"
        ctx.bad.append(_Bad(canon, src, f"a {spec.type} {span}", outside, arr))
        return v.to_date(values) if spec.type == "date" else values
    trues, falses = cm.true_values, cm.false_values
    if cm.values is not None:
        # A map to true/false (`{Met: true, Breached: false}`) is read before the words are.
        arr = v.map_values(
            arr,
            _text_values(cm.values),
            other=cm.other,
            keep_unmapped=cm.keep_unmapped,
            case_insensitive=cm.case_insensitive,
        )
        trues = [*(trues or v.TRUE_WORDS), "true"]
        falses = [*(falses or v.FALSE_WORDS), "false"]
    values, bad = v.parse_bool(arr, trues, falses)
    words = "/".join([*(trues or v.TRUE_WORDS)[:3], *(falses or v.FALSE_WORDS)[:3]])
    ctx.bad.append(_Bad(canon, src, f"true/false ({words})", bad, arr))
    return values


def _text_values(values: dict[str, str | bool | None]) -> dict[str, str | None]:
    """A value map's targets as text: YAML true/false become the words 'true'/'false'."""
    return {k: str(t).lower() if isinstance(t, bool) else t for k, t in values.items()}


def _expression(
    ctx: _Context, canon: str, spec: ColumnContract, cm: ColumnMapping
) -> pa.Array | pa.ChunkedArray | tuple[pa.Array | pa.ChunkedArray, str]:
    """A row-level expression over source columns: numbers and flags as they come out; text
    goes on through the column's usual reading (formats, patterns, value maps)."""
    assert cm.expression is not None
    table = ctx.raw.table
    style = _number_style(ctx.mapping)
    label = f"expr {cm.expression.text}"

    def resolve(name: str) -> pd.Series:
        src = _source(ctx, canon, [name], spec.required)
        if src is None:
            return pd.Series(pd.NA, index=index, dtype="string", name=name)
        arr = table[src]
        if pa.types.is_string(arr.type) and ctx.raw.kind != "csv":
            arr = v.null_tokens(v.as_text(arr), ctx.mapping.missing)
        series = _pandas(arr, _TEXT) if pa.types.is_string(arr.type) else arr.to_pandas()
        return pd.Series(series.to_numpy(), index=index, dtype=series.dtype, name=name)

    def to_number(series: pd.Series) -> pd.Series:
        name = str(series.name)
        values, bad = v.parse_number(pa.array(series.astype(object), pa.string()), style)
        if name in table.column_names and name not in reported:
            reported.add(name)
            ctx.bad.append(_Bad(canon, name, f"a number ({style.describe()})", bad, table[name]))
        return pd.Series(values.to_pandas(), index=index).astype("Float64")

    index = pd.RangeIndex(table.num_rows)
    reported: set[str] = set()
    try:
        evaluated = evaluate_rows(cm.expression, resolve, index, to_number)
    except ExpressionError as exc:
        raise MappingError(f"{ctx.rel}: column {canon!r}: {exc}") from None
    if evaluated.divided_by_zero.any():
        seen = pa.array(np.where(evaluated.divided_by_zero, "division by zero", ""))
        if spec.required:
            ctx.bad.append(
                _Bad(
                    canon,
                    canon,
                    f"{label} with a divisor other than 0",
                    evaluated.divided_by_zero,
                    seen,
                )
            )
        else:
            ctx.warn(
                canon,
                f"{label} with a divisor other than 0",
                f"{int(evaluated.divided_by_zero.sum())} division(s) by zero",
                "left empty where the divisor is 0",
            )
    values = evaluated.values
    if spec.type in ("int", "float", "decimal") and pd.api.types.is_numeric_dtype(values.dtype):
        numbers = pa.array(values.astype("Float64"), pa.float64(), from_pandas=True)
        if spec.type == "int":
            fractional = np.asarray(
                pc.fill_null(pc.not_equal(numbers, pc.floor(numbers)), False), dtype=bool
            )
            ctx.bad.append(_Bad(canon, canon, f"a whole number from {label}", fractional, numbers))
            numbers = pc.if_else(pa.array(fractional), pa.scalar(None, pa.float64()), numbers)
        numbers, huge = v.out_of_range_number(numbers, whole=spec.type == "int")
        ctx.bad.append(_Bad(canon, canon, f"a finite number from {label}", huge, numbers))
        return _signed(ctx, canon, cm, numbers)
    if spec.type == "bool" and pd.api.types.is_bool_dtype(values.dtype):
        return pa.array(values.astype("boolean"), pa.bool_(), from_pandas=True)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pa.array(values, from_pandas=True).cast(pa.timestamp("s"), safe=False), label
    if pd.api.types.is_float_dtype(values.dtype) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")  # 202501, not 202501.0, as text
    return pa.array(values.astype("string").astype(object), pa.string(), from_pandas=True), label


def _signed(
    ctx: _Context, canon: str, cm: ColumnMapping, values: pa.Array | pa.ChunkedArray
) -> pa.Array | pa.ChunkedArray:
    if cm.sign_from is not None:
        rule = cm.sign_from
        src = _source(ctx, canon, [rule.column], True) or rule.column
        ind = pc.utf8_upper(v.as_text(ctx.raw.table[src]))
        negative = pc.fill_null(pc.is_in(ind, pa.array([s.upper() for s in rule.negative])), False)
        values = pc.if_else(negative, pc.negate(values), values)
        if rule.positive is not None:
            known = pa.array([s.upper() for s in [*rule.negative, *rule.positive]])
            unknown = v.present(ind) & ~np.asarray(
                pc.is_in(ind, known).to_numpy(zero_copy_only=False), dtype=bool
            )
            expected = "one of " + "/".join([*rule.positive, *rule.negative])
            ctx.bad.append(_Bad(canon, src, expected, unknown, ctx.raw.table[src]))
    if cm.negate:
        values = pc.negate(values)
    return values


def _debit_credit(
    ctx: _Context, canon: str, spec: ColumnContract, cm: ColumnMapping
) -> pa.Array | pa.ChunkedArray:
    n = ctx.raw.table.num_rows
    sides = []
    for name in (cm.debit, cm.credit):
        if name is None:
            sides.append(pa.nulls(n, pa.float64()))
            continue
        src = _source(ctx, canon, [name], spec.required)
        if src is None:
            sides.append(pa.nulls(n, pa.float64()))
            continue
        values, bad = v.parse_number(ctx.raw.table[src], _number_style(ctx.mapping))
        ctx.bad.append(
            _Bad(
                canon,
                src,
                f"a number ({_number_style(ctx.mapping).describe()})",
                bad,
                ctx.raw.table[src],
            )
        )
        sides.append(values)
    debit, credit = sides
    both_missing = pc.and_(pc.is_null(debit), pc.is_null(credit))
    amount = pc.subtract(pc.fill_null(debit, 0.0), pc.fill_null(credit, 0.0))
    amount = pc.if_else(both_missing, pa.scalar(None, pa.float64()), amount)
    return _signed(ctx, canon, cm, amount)


def _pandas(arr: pa.Array | pa.ChunkedArray, spec: ColumnContract) -> pd.Series:
    if spec.type in ("date", "datetime"):
        return pd.Series(arr.to_pandas()).astype("datetime64[ns]")
    if spec.type == "int":
        return pd.Series(arr.to_pandas()).astype("Int64")
    if spec.type in ("float", "decimal"):
        return pd.Series(arr.to_pandas(), dtype="float64")
    if spec.type == "bool":
        return pd.Series(arr.to_pandas()).astype("boolean")
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    return pd.Series(pd.arrays.ArrowStringArray(pc.cast(arr, pa.string())))


def _rejected(
    ctx: _Context, reject: np.ndarray, months: np.ndarray | None
) -> tuple[pd.DataFrame, list[str | None]]:
    """Rows the reader set aside plus rows with a value that could not be read, and the month
    of each where its month column could still be read (None: no month known)."""
    frames = []
    if ctx.raw.rejected:
        lines, raws, reasons = zip(*ctx.raw.rejected, strict=True)
        shown = ctx.shown(list(raws), ctx.raw.header)
        frames.append(
            pd.DataFrame(
                {
                    "file": ctx.rel,
                    "line": list(lines),
                    "raw": shown,
                    "reason": list(reasons),
                    "_month": None,
                }
            )
        )
    if reject.any():
        reason = pd.Series([None] * int(reject.sum()), dtype=object)
        for bad in reversed(ctx.bad):
            sub = bad.mask[reject]
            if not sub.any():
                continue
            seen = pd.Series(
                pc.cast(bad.seen, pa.string()).to_numpy(zero_copy_only=False)[reject], dtype=object
            )
            if bad.source in ctx.personal:
                seen = seen.map(mask_value)
            text = f"column {bad.source!r}: expected {bad.expected}, seen " + seen.astype(str).map(
                repr
            )
            reason = reason.where(~sub, text)
        lines = ctx.raw.lines[reject]
        # Raw text is the file's line; without it, the reader joins the table's current columns.
        names = ctx.raw.header if ctx.raw.text is not None else ctx.names
        frames.append(
            pd.DataFrame(
                {
                    "file": ctx.rel,
                    "line": lines,
                    "raw": ctx.shown(ctx.raw.raw_text(lines), names),
                    "reason": reason.to_numpy(),
                    "_month": None if months is None else months[reject],
                }
            )
        )
    if not frames:
        return empty_rejected(), []
    out = pd.concat(frames, ignore_index=True).sort_values("line", kind="stable")
    out = out.astype({"line": "int64"}).reset_index(drop=True)
    month_of = [m if isinstance(m, str) else None for m in out.pop("_month")]
    return out, month_of


def _row_months(
    arrays: dict[str, pa.Array | pa.ChunkedArray], column: str | None
) -> np.ndarray | None:
    """Each raw row's month (`YYYY-MM`) from the contract's month column, None where unread."""
    arr = arrays.get(column) if column else None
    if arr is None or not pa.types.is_timestamp(arr.type):
        return None
    return np.asarray(pc.strftime(arr, format="%Y-%m").to_numpy(zero_copy_only=False), dtype=object)


def _report_bad(ctx: _Context) -> None:
    for bad in ctx.bad:
        count = int(bad.mask.sum())
        if not count:
            continue
        first = int(np.argmax(bad.mask))
        seen = pc.cast(bad.seen, pa.string())[first].as_py()
        if bad.source in ctx.personal:
            seen = mask_value(seen)
        ctx.problems.append(
            SourceProblem(
                ctx.rel,
                int(ctx.raw.lines[first]),
                bad.source,
                bad.expected,
                repr(seen),
                "error",
                f"{count} value(s) of {bad.source!r}"
                + (f" (for {bad.column!r})" if bad.column != bad.source else "")
                + " could not be read; "
                "those rows are rejected",
            )
        )


def to_canonical(raw: RawTable, rel: str, contract: DatasetContract, mapping: Mapping) -> FileFrame:
    """One file's canonical frame; a missing required column makes the whole file unusable."""
    ctx = _Context(raw, rel, mapping, pii_source_columns(contract, mapping))
    ctx.absent_ok = {c for c, spec in contract.columns.items() if spec.absent_ok}
    dropped = _preprocess(ctx)
    column_map = mapping.column_map or {
        c: ColumnMapping.model_validate({"from": [c]}) for c in contract.columns
    }
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {}
    try:
        for canon, spec in contract.columns.items():
            cm = column_map.get(canon)
            if cm is None:
                if spec.required:
                    raise _Missing(
                        canon, canon, f"the mapping gives no source for required column {canon!r}"
                    )
                arrays[canon] = pa.nulls(raw.table.num_rows, pa.string())
                continue
            arrays[canon] = _convert(ctx, canon, spec, cm)
    except _Missing as exc:
        problem = SourceProblem(
            rel,
            None,
            exc.source,
            f"column {exc.source!r}",
            ", ".join(ctx.names) or "no columns",
            "error",
            str(exc),
        )
        return FileFrame(
            pd.DataFrame(), empty_rejected(), [*ctx.problems, problem], dropped, str(exc)
        )
    extras = [c for c in ctx.names if c not in ctx.used and c not in mapping.ignore]
    if extras:
        ctx.warn(
            None,
            "only mapped columns",
            ", ".join(extras),
            f"{len(extras)} extra column(s) not used by the mapping (add them to `ignore:`)",
        )
    _report_bad(ctx)
    reject = np.zeros(raw.table.num_rows, dtype=bool)
    for bad in ctx.bad:
        reject |= bad.mask
    rejected, rejected_months = _rejected(ctx, reject, _row_months(arrays, contract.month_column))
    keep = ~reject
    frame = pd.DataFrame(
        {
            c: _pandas(arr if keep.all() else arr.filter(pa.array(keep)), contract.columns[c])
            for c, arr in arrays.items()
        }
    )
    for canon, cm in column_map.items():
        if cm.sequence_within is not None and canon in frame.columns:
            keys = [frame[k] for k in cm.sequence_within]
            frame[canon] = (frame.groupby(keys, sort=False, dropna=False).cumcount() + 1).astype(
                "Int64"
            )
    frame["_source_file"] = _pandas(pa.repeat(pa.scalar(rel, pa.string()), len(frame)), _TEXT)
    frame["_source_line"] = raw.lines[keep].astype("int64")
    return FileFrame(frame, rejected, ctx.problems, dropped, rejected_months=rejected_months)
