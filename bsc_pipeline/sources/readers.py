"""Read a landing file into a raw table of source columns, with the file line of every row.

CSV goes through pyarrow's multi-threaded reader with every column as text, so number and date
conventions are applied afterwards by the mapping, in one vectorized pass per column. Rows with the
wrong number of fields are set aside with their raw text instead of failing the file.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bsc_pipeline.sources.mappings import Mapping
from bsc_pipeline.sources.problems import UnreadableFile

BOM = b"\xef\xbb\xbf"
HEADER_SEARCH_LINES = 200
UTF8_NAMES = {"utf-8", "utf8", "utf-8-sig"}


@dataclass
class RawTable:
    """Source columns as read, the 1-based file line of each row, and rows set aside."""

    table: pa.Table
    lines: np.ndarray
    kind: str
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    blank_rows: int = 0
    text: bytes | None = None
    header: list[str] = field(default_factory=list)
    """Column names as the file's header gave them, in the order of a raw line's fields."""
    delimiter: str = ","
    quote: str = '"'

    def raw_text(self, lines: np.ndarray) -> list[str]:
        """The raw text of the given file lines (for rejected rows)."""
        if self.text is None:
            return self._joined(lines)
        buf = np.frombuffer(self.text, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10)
        starts = np.concatenate(([0], ends + 1))
        ends = np.concatenate((ends, [len(self.text)]))
        out = []
        for line in lines.tolist():
            raw = self.text[starts[line - 1] : ends[line - 1]] if line <= len(starts) else b""
            out.append(raw.decode("utf-8", errors="replace").rstrip("\r"))
        return out

    def _joined(self, lines: np.ndarray) -> list[str]:
        positions = np.searchsorted(self.lines, lines)
        rows = self.table.take(pa.array(positions)).to_pylist()
        return [",".join("" if v is None else str(v) for v in row.values()) for row in rows]


def file_kind(path: Path, mapping: Mapping) -> str:
    if mapping.format:
        return mapping.format
    suffix = path.suffix.lower()
    return {".xlsx": "xlsx", ".parquet": "parquet"}.get(suffix, "csv")


def read_raw(path: Path, rel: str, data: bytes, mapping: Mapping) -> RawTable:
    """The raw table of one file whose bytes were already read (so the checksum matches)."""
    kind = file_kind(path, mapping)
    try:
        if kind == "parquet":
            return _read_parquet(data, rel)
        if kind == "xlsx":
            return _read_xlsx(data, rel, mapping)
        return _read_csv(data, rel, mapping)
    except UnreadableFile:
        raise
    except (pa.ArrowException, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise UnreadableFile(rel, f"cannot be read as {kind}: {exc}") from exc


def _to_utf8(data: bytes, rel: str, encoding: str) -> bytes:
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if encoding.lower().replace("_", "-") in UTF8_NAMES:
        return data
    try:
        return data.decode(encoding).encode("utf-8")
    except LookupError as exc:
        raise UnreadableFile(rel, f"unknown encoding {encoding!r} in the mapping") from exc
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(rel, f"not valid {encoding}: {exc.reason}", line) from exc


def _line_starts(data: bytes, count: int) -> list[int]:
    starts = [0]
    while len(starts) <= count:
        nxt = data.find(b"\n", starts[-1])
        if nxt < 0:
            break
        starts.append(nxt + 1)
    return starts


def _decode_line(data: bytes, rel: str, start: int, end: int, line: int) -> str:
    try:
        return data[start:end].decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            rel, "not valid UTF-8: set `encoding:` in the mapping (e.g. latin-1)", line
        ) from exc


def _header_index(data: bytes, rel: str, mapping: Mapping) -> tuple[int, list[int]]:
    """0-based index of the header line, and line start offsets up to just after it."""
    starts = _line_starts(data, mapping.skip_lines + HEADER_SEARCH_LINES)
    if mapping.header_starts_with is None:
        if mapping.skip_lines >= len(starts) - (0 if starts[-1] < len(data) else 1):
            raise UnreadableFile(rel, f"expected a header after {mapping.skip_lines} lines")
        return mapping.skip_lines, starts
    for i in range(mapping.skip_lines, len(starts)):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        text = _decode_line(data, rel, starts[i], end, i + 1)
        if text.startswith(mapping.header_starts_with):
            return i, starts
    first = _decode_line(data, rel, 0, starts[1] if len(starts) > 1 else len(data), 1)
    raise UnreadableFile(
        rel,
        f"no header line starting with {mapping.header_starts_with!r} in the first "
        f"{HEADER_SEARCH_LINES} lines (first line is {first[:80]!r})",
    )


def _content_end(data: bytes, end: int) -> int:
    """End of the text before trailing blanks (without copying the whole buffer)."""
    while end > 0 and data[end - 1 : end].isspace():
        end -= 1
    return end


def _without_footer(data: bytes, count: int) -> bytes:
    end = _content_end(data, len(data))
    for _ in range(count):
        end = _content_end(data, max(data.rfind(b"\n", 0, end), 0))
    return data[:end] + b"\n" if end else b""


def column_names(header: list[str]) -> list[str]:
    """Header names made unique: blanks become `column_<n>`, repeats `<name>.2`, `<name>.3`."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(header, start=1):
        name = raw.strip() or f"column_{position}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return names


def _read_csv(data: bytes, rel: str, mapping: Mapping) -> RawTable:
    data = _to_utf8(data, rel, mapping.encoding)
    if not data or data.isspace():
        raise UnreadableFile(rel, "file is empty: expected a header line")
    if mapping.skip_footer_lines:
        data = _without_footer(data, mapping.skip_footer_lines)
    index, starts = _header_index(data, rel, mapping)
    body_start = starts[index + 1] if index + 1 < len(starts) else len(data)
    header_text = _decode_line(data, rel, starts[index], body_start, index + 1)
    header = next(csv.reader([header_text], delimiter=mapping.delimiter, quotechar=mapping.quote))
    names = column_names(header)
    header_line = index + 1
    body = data[body_start:]
    if not body or body.isspace():
        empty = pa.table({n: pa.array([], pa.string()) for n in names})
        return RawTable(empty, np.array([], dtype=np.int64), "csv", text=data)
    table, invalid = _parse_body(body, names, mapping, threads=True)
    if any(row[0] is None for row in invalid):
        table, invalid = _parse_body(body, names, mapping, threads=False)
    total = table.num_rows + len(invalid)
    numbers = np.arange(1, total + 1, dtype=np.int64)
    if invalid:
        keep = np.ones(total, dtype=bool)
        keep[np.array([row[0] for row in invalid], dtype=np.int64) - 1] = False
        numbers = numbers[keep]
    raw = RawTable(
        table,
        numbers + header_line,
        "csv",
        text=data,
        header=names,
        delimiter=mapping.delimiter,
        quote=mapping.quote,
    )
    short = [r for r in invalid if r[1] < len(names)] if mapping.short_rows == "pad" else []
    if short:
        _merge_padded(raw, short, names, header_line, mapping)
    kept = {id(r) for r in short}
    raw.rejected = [
        (num + header_line, text, f"expected {len(names)} fields, found {actual}")
        for num, actual, text in ((r[0], r[1], r[2]) for r in invalid if id(r) not in kept)
    ]
    _drop_blank(raw)
    return raw


def _parse_body(
    body: bytes, names: list[str], mapping: Mapping, threads: bool
) -> tuple[pa.Table, list[tuple[Any, int, str]]]:
    invalid: list[tuple[Any, int, str]] = []

    def handler(row: Any) -> str:
        invalid.append((row.number, row.actual_columns, row.text))
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=threads, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(
            delimiter=mapping.delimiter,
            quote_char=mapping.quote,
            newlines_in_values=mapping.newlines_in_values,
            ignore_empty_lines=False,
            invalid_row_handler=handler,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=mapping.missing,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    return table, invalid


def _merge_padded(
    raw: RawTable,
    short: list[tuple[Any, int, str]],
    names: list[str],
    header_line: int,
    mapping: Mapping,
) -> None:
    """Put short rows (report section labels) back in file order, missing fields as null."""
    missing = set(mapping.missing)
    texts = [r[2] for r in short]
    parsed = list(csv.reader(texts, delimiter=mapping.delimiter, quotechar=mapping.quote))
    cells = [[None if v.strip() in missing else v for v in row] for row in parsed]
    cols = {
        n: pa.array([row[i] if i < len(row) else None for row in cells], pa.string())
        for i, n in enumerate(names)
    }
    extra = pa.table(cols)
    lines = np.array([r[0] for r in short], dtype=np.int64) + header_line
    merged = pa.concat_tables([raw.table, extra])
    all_lines = np.concatenate([raw.lines, lines])
    order = np.argsort(all_lines, kind="stable")
    raw.table = merged.take(pa.array(order))
    raw.lines = all_lines[order]


def _drop_blank(raw: RawTable) -> None:
    if raw.table.num_rows == 0 or raw.table.num_columns == 0:
        return
    blank = np.ones(raw.table.num_rows, dtype=bool)
    for col in raw.table.columns:
        blank &= col.is_null().to_numpy(zero_copy_only=False)
    if blank.any():
        raw.blank_rows = int(blank.sum())
        raw.table = raw.table.filter(pa.array(~blank))
        raw.lines = raw.lines[~blank]


def _read_parquet(data: bytes, rel: str) -> RawTable:
    table = pq.read_table(pa.BufferReader(data))
    lines = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return RawTable(table, lines, "parquet")


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _read_xlsx(data: bytes, rel: str, mapping: Mapping) -> RawTable:
    """XLSX through openpyxl (per-row by nature: meant for workbooks, not million-row extracts)."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        if mapping.sheet is None:
            sheet = book.worksheets[0]
        elif isinstance(mapping.sheet, int):
            sheet = book.worksheets[mapping.sheet]
        else:
            sheet = book[mapping.sheet]
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(v is not None for v in r)]
    if not numbered:
        raise UnreadableFile(rel, "workbook sheet is empty: expected a header row")
    if mapping.skip_footer_lines:
        numbered = numbered[: -mapping.skip_footer_lines]
    start = mapping.skip_lines
    if mapping.header_starts_with is not None:
        hits = [
            k
            for k, (_, r) in enumerate(numbered)
            if (r[0] or "").startswith(mapping.header_starts_with)
        ]
        if not hits:
            raise UnreadableFile(rel, f"no header row starting with {mapping.header_starts_with!r}")
        start = hits[0]
    if start >= len(numbered):
        raise UnreadableFile(rel, f"expected a header row after {start} rows")
    names = column_names([v or "" for v in numbered[start][1]])
    width = len(names)
    body = [(n, r) for n, r in numbered[start + 1 :] if all(v is None for v in r[width:])]
    too_long = [(n, r) for n, r in numbered[start + 1 :] if any(v is not None for v in r[width:])]
    cols = {
        n: _null_tokens(
            pa.array([r[i] if i < len(r) else None for _, r in body], pa.string()),
            mapping.missing,
        )
        for i, n in enumerate(names)
    }
    lines = np.array([line for line, _ in body], dtype=np.int64)
    raw = RawTable(pa.table(cols), lines, "xlsx", header=names)
    raw.rejected = [
        (line, ",".join(v or "" for v in r), f"expected {width} fields, found {len(r)}")
        for line, r in too_long
    ]
    return raw


def _null_tokens(arr: pa.Array, missing: list[str]) -> pa.Array:
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.is_in(trimmed, pa.array(missing)), pa.scalar(None, pa.string()), arr)
