"""The XLSX export finance forwards: a Summary a reader understands, the Data behind it, Notes.

Summary: perspective → objective → measure with actual, target, unit and a status word whose
colour comes from conditional formatting; figures carry the spec's decimals, currencies their
symbol and percentages are Excel percentages (74.2 % is stored as 0.742). Data: every column of
the reporting view, styled header, widths, frozen header, autofilter. Notes: period, run, data
confidence and every held or missing measure with its reason.

Cells reach the workbook already neutralised (see `export.neutralise_formulas`): a text that
starts a formula is prefixed with a quote and stays text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.engine import Engine

from bsc_pipeline.briefing.formatting import CURRENCY_SYMBOLS
from bsc_pipeline.briefing.model import STATUS_LABELS
from bsc_pipeline.warehouse.readings import read_rollups

SHEETS = ("Summary", "Data", "Notes")
HEADER_FILL = PatternFill("solid", start_color="FF1F3864", end_color="FF1F3864")
HEADER_FONT = Font(bold=True, color="FFFFFFFF")
PERSPECTIVE_FILL = PatternFill("solid", start_color="FFD9E1F2", end_color="FFD9E1F2")
STATUS_FILLS = {
    "green": "FFC6EFCE",
    "amber": "FFFFEB9C",
    "red": "FFFFC7CE",
    "no_data": "FFEDEDED",
    "held": "FFE4DFEC",
}
"""Excel's own good / neutral / bad fills, grey for no data, lilac for held."""
SUMMARY_COLUMNS = ("Perspective / objective / measure", "Actual", "Target", "Unit", "Status")
SUMMARY_COLUMNS_TAIL = ("Trend", "Owner", "Note")
FIGURE_COLUMNS = frozenset(
    {"actual", "target", "target_high", "variance", "prior_month_value", "same_month_last_year"}
    | {"ytd_actual"}
)
"""Columns of the view in the measure's unit: they get the measure's number format on Data."""
MAX_WIDTH = 60


def write_workbook(
    engine: Engine, frame: pd.DataFrame, period: str, period_type: str, path: Path
) -> None:
    """Write the three sheets for `frame` (the view's rows, already neutralised) to `path`."""
    decimals = _decimals(engine)
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Summary"
    _summary(summary, _in_spec_order(engine, frame), decimals)
    _data(book.create_sheet("Data"), frame, decimals)
    _notes(book.create_sheet("Notes"), engine, frame, period, period_type)
    book.save(path)


def number_format(unit: str, decimals: int) -> str:
    """The Excel format of a figure: `"€"#,##0.0`, `0.0%` (value stored as a fraction), `#,##0`."""
    digits = "#,##0" + ("." + "0" * decimals if decimals else "")
    if unit == "%":
        return "0" + ("." + "0" * decimals if decimals else "") + "%"
    symbol = CURRENCY_SYMBOLS.get(unit.upper())
    if symbol is not None:
        return f'"{symbol}"{digits}'
    return digits


def unit_words(unit: str) -> str:
    """`per_100_customers` as `per 100 customers`; a currency or `%` as it is."""
    return unit.replace("_", " ").strip()


def _excel_value(value: object, unit: str = "") -> Any:
    """A cell value Excel stores as such: numbers as floats (a % unit as a fraction), missing as
    empty, timestamps as UTC without an offset (Excel has no time zones)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_convert("UTC").tz_localize(None)
        return value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, int | float) and not isinstance(value, bool) and unit == "%":
        return float(value) / 100
    return value


def _decimals(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT measure_id, decimals FROM dim_measure"))
        return {str(m): int(d) for m, d in rows}


def _perspective_order(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT perspective_id, sort_order FROM dim_perspective"))
        return {str(p): int(o) for p, o in rows}


def _header(sheet: Worksheet, names: tuple[str, ...] | list[str]) -> None:
    sheet.append(list(names))
    for cell in sheet[1]:
        cell.fill = HEADER_FILL
        cell.font = HEADER_FONT
        cell.alignment = Alignment(vertical="center", wrap_text=False)
    sheet.freeze_panes = "A2"


def _summary(sheet: Worksheet, frame: pd.DataFrame, decimals: dict[str, int]) -> None:
    """Grouped rows: a shaded perspective, an indented objective, then its measures."""
    _header(sheet, SUMMARY_COLUMNS + SUMMARY_COLUMNS_TAIL)
    perspective = objective = None
    for r in frame.to_dict("records"):
        if r["perspective"] != perspective:
            perspective, objective = r["perspective"], None
            sheet.append([perspective])
            row = sheet.max_row
            for column in range(1, len(SUMMARY_COLUMNS) + len(SUMMARY_COLUMNS_TAIL) + 1):
                sheet.cell(row, column).fill = PERSPECTIVE_FILL
            sheet.cell(row, 1).font = Font(bold=True)
        if r["objective"] != objective:
            objective = r["objective"]
            sheet.append([objective])
            sheet.cell(sheet.max_row, 1).font = Font(italic=True)
            sheet.cell(sheet.max_row, 1).alignment = Alignment(indent=1)
        unit = str(r["unit"] or "")
        status = str(r["status"])
        high = _excel_value(r.get("target_high"), unit)
        sheet.append(
            [
                r["measure_name"],
                _excel_value(r["actual"], unit),
                _excel_value(r["target"], unit),
                unit_words(unit),
                STATUS_LABELS.get(status, status),
                _excel_value(r.get("trend")) or "",
                _excel_value(r.get("owner")) or "",
                _summary_note(r, high, unit, decimals),
            ]
        )
        row = sheet.max_row
        sheet.cell(row, 1).alignment = Alignment(indent=2)
        fmt = number_format(unit, decimals.get(str(r["measure_id"]), 1))
        sheet.cell(row, 2).number_format = fmt
        sheet.cell(row, 3).number_format = fmt
    last = max(sheet.max_row, 2)
    status_range = f"E2:E{last}"
    for status, colour in STATUS_FILLS.items():
        fill = PatternFill("solid", start_color=colour, end_color=colour, bgColor=colour)
        word = STATUS_LABELS[status]
        sheet.conditional_formatting.add(
            status_range, FormulaRule(formula=[f'$E2="{word}"'], fill=fill)
        )
    _widths(sheet)


def _summary_note(r: Mapping[Any, Any], high: object, unit: str, decimals: dict[str, int]) -> str:
    """A range target's upper edge, a balance flag or why the figure is held."""
    parts = []
    if high is not None:
        places = decimals.get(str(r["measure_id"]), 1)
        shown = float(r["target_high"])
        parts.append(f"target range up to {shown:,.{places}f} {unit_words(unit)}".rstrip())
    for key in ("balance_flag", "data_note"):
        text = r.get(key)
        if isinstance(text, str) and text and (key == "balance_flag" or r["status"] != "green"):
            parts.append(text)
    return "; ".join(parts)


def _data(sheet: Worksheet, frame: pd.DataFrame, decimals: dict[str, int]) -> None:
    """Every column of the view, figures in the measure's format (% units stay as published)."""
    columns = [str(c) for c in frame.columns]
    _header(sheet, columns)
    for r in frame.to_dict("records"):
        sheet.append([_excel_value(r[c]) for c in columns])
        row = sheet.max_row
        unit = str(r.get("unit") or "")
        places = decimals.get(str(r.get("measure_id")), 1)
        figure = number_format("" if unit == "%" else unit, places)
        for index, name in enumerate(columns, start=1):
            cell = sheet.cell(row, index)
            if name in FIGURE_COLUMNS:
                cell.number_format = figure
            elif name == "variance_pct":
                cell.number_format = "0.0%"
            elif name == "published_at":
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(sheet.max_row, 2)}"
    _widths(sheet)


def _notes(
    sheet: Worksheet, engine: Engine, frame: pd.DataFrame, period: str, period_type: str
) -> None:
    """Where the figures come from and which ones to read with care."""
    runs = sorted({str(r) for r in frame["run_id"].dropna()}) if "run_id" in frame else []
    published = frame["published_at"].dropna().max() if "published_at" in frame else None
    confidence = _data_confidence(engine, frame, period_type)
    label = str(frame["period"].iloc[0]) if "period" in frame else period
    as_of = frame["as_of_month"].dropna().max() if "as_of_month" in frame else None
    _header(sheet, ["Item", "Value"])
    sheet.freeze_panes = None
    for item, value in (
        ("Period", label),
        ("Period type", period_type),
        ("As of month", as_of or label),
        ("Run", ", ".join(runs)),
        ("Published at (UTC)", _excel_value(published)),
        ("Data confidence", confidence),
        ("Exported at (UTC)", datetime.now(UTC).replace(tzinfo=None, microsecond=0)),
        ("Text cells", "text starting with = + - @ is prefixed with ' so it stays text"),
    ):
        sheet.append([item, value])
        if item == "Data confidence" and confidence is not None:
            sheet.cell(sheet.max_row, 2).number_format = "0%"
        if isinstance(value, datetime):
            sheet.cell(sheet.max_row, 2).number_format = "yyyy-mm-dd hh:mm:ss"
    careful = [
        r
        for r in frame.to_dict("records")
        if r["status"] in ("held", "no_data") or r.get("data_state") in ("partial", "held")
    ]
    sheet.append([])
    sheet.append(["Held or missing measures", "Status", "Reason"])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    if not careful:
        sheet.append(["none: every measure has complete data"])
    for r in careful:
        status = str(r["status"])
        reason = r.get("data_note")
        sheet.append(
            [
                r["measure_name"],
                STATUS_LABELS.get(status, status),
                reason if isinstance(reason, str) and reason else "no reason recorded",
            ]
        )
    _widths(sheet)


def _data_confidence(engine: Engine, frame: pd.DataFrame, period_type: str) -> float | None:
    """The whole scorecard's share of weight with data, as the run that published it saw it."""
    if "as_of_month" not in frame or frame["as_of_month"].dropna().empty:
        return None
    as_of = str(frame["as_of_month"].dropna().max())
    label = str(frame["period"].iloc[0])
    rollups = read_rollups(engine, as_of)
    mine = rollups[
        (rollups["level"] == "scorecard")
        & (rollups["period_type"] == period_type)
        & (rollups["period"] == label)
    ]
    if mine.empty or pd.isna(mine["data_confidence"].iloc[0]):
        return None
    return float(mine["data_confidence"].iloc[0])


def _widths(sheet: Worksheet) -> None:
    """Each column as wide as its longest cell (figures count as 12), at most MAX_WIDTH."""
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            size = 12 if isinstance(cell.value, int | float | datetime) else len(str(cell.value))
            indent = int(cell.alignment.indent or 0) * 2 if cell.alignment else 0
            widths[cell.column] = max(widths.get(cell.column, 8), size + indent + 2)
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(width, MAX_WIDTH)


def _in_spec_order(engine: Engine, frame: pd.DataFrame) -> pd.DataFrame:
    """The view's rows in the spec's perspective order (the view sorts by id)."""
    order = _perspective_order(engine)
    first_seen = {p: i for i, p in enumerate(dict.fromkeys(frame["perspective_id"]))}
    keys = frame["perspective_id"].map(lambda p: (order.get(str(p), 0), first_seen[p]))
    return frame.iloc[sorted(range(len(frame)), key=lambda i: keys.iloc[i])].reset_index(drop=True)
