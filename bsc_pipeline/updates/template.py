"""The monthly update template: one row per measure of an owner, ready to fill in and return.

Pre-filled from the published warehouse (what the owner is commenting on: actual, target,
status, trend) so the owner never retypes a figure; analysis, recommendation and, for manual
measures, value are left empty. Returned files are read by the `updates` dataset as they are.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.periods import Month
from bsc_pipeline.spec.models import ManualMeasure, Measure, Spec

TEMPLATE_COLUMNS = (
    "measure_id",
    "name",
    "owner",
    "period",
    "unit",
    "actual",
    "target",
    "status",
    "trend",
    "analysis",
    "recommendation",
    "value",
)
"""Header of the template, in order; the `updates` contract reads them by name."""

FILL_IN = ("analysis", "recommendation", "value")


class TemplateError(ValueError):
    """The template cannot be written as asked (unknown owner, unsupported file type)."""


@dataclass(frozen=True)
class TemplateRow:
    measure: Measure
    period: Month
    actual: float | None
    target: float | None
    status: str | None
    trend: str | None

    @property
    def manual(self) -> bool:
        return isinstance(self.measure, ManualMeasure)

    def cells(self) -> dict[str, Any]:
        return {
            "measure_id": self.measure.id,
            "name": self.measure.name,
            "owner": self.measure.owner,
            "period": self.period.start,
            "unit": self.measure.unit,
            "actual": self.actual,
            "target": self.target,
            "status": self.status,
            "trend": self.trend,
            "analysis": None,
            "recommendation": None,
            "value": None,
        }


def template_rows(
    spec: Spec, engine: Engine | None, period: str, owner: str | None = None
) -> list[TemplateRow]:
    """The owner's measures (every owner's when None) that are scored or reported by hand."""
    month = Month.parse(period)
    owners = {o.id for o in spec.owners}
    if owner is not None and owner not in owners:
        raise TemplateError(f"unknown owner {owner!r}; the spec has {sorted(owners)}")
    measures = [
        m
        for m in spec.measures
        if m.owner is not None
        and (owner is None or m.owner == owner)
        and (m.objective is not None or isinstance(m, ManualMeasure))
    ]
    published = _published(engine, str(month))
    rows = []
    for measure in measures:
        row = published.get(measure.id, {})
        rows.append(
            TemplateRow(
                measure,
                month,
                _number(row.get("actual")),
                _number(row.get("target")),
                row.get("status"),
                row.get("trend"),
            )
        )
    return rows


def write_template(rows: list[TemplateRow], out: Path) -> Path:
    """Write the rows as `.xlsx` or `.csv` by the file's suffix."""
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        _write_csv(rows, out)
    elif suffix == ".xlsx":
        _write_xlsx(rows, out)
    else:
        raise TemplateError(f"{out}: expected a .xlsx or .csv file name")
    return out


def default_name(period: str, owner: str | None) -> str:
    """A name the `updates` dataset's file pattern accepts: `updates_<month>[_<owner>].xlsx`."""
    return f"updates_{Month.parse(period)}{'_' + owner if owner else ''}.xlsx"


def _published(engine: Engine | None, month: str) -> dict[str, dict[str, Any]]:
    """The month's published figures per measure; nothing when the warehouse has none yet."""
    if engine is None:
        return {}
    from bsc_pipeline.warehouse.readings import read_scorecard

    try:
        frame = read_scorecard(engine, month)
    except sa.exc.SQLAlchemyError:
        return {}
    return {
        str(r["measure_id"]): {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
    }


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _write_csv(rows: list[TemplateRow], out: Path) -> None:
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TEMPLATE_COLUMNS)
        writer.writeheader()
        for row in rows:
            cells = row.cells()
            cells["period"] = cells["period"].isoformat()
            writer.writerow({k: "" if v is None else v for k, v in cells.items()})


def _write_xlsx(rows: list[TemplateRow], out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "updates"
    sheet.append(list(TEMPLATE_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    grey = PatternFill("solid", fgColor="DDDDDD")
    value_column = TEMPLATE_COLUMNS.index("value") + 1
    for index, row in enumerate(rows, start=2):
        sheet.append([row.cells()[c] for c in TEMPLATE_COLUMNS])
        sheet.cell(index, TEMPLATE_COLUMNS.index("period") + 1).number_format = "yyyy-mm-dd"
        if not row.manual:
            sheet.cell(index, value_column).fill = grey
    numbers = DataValidation(type="decimal", allow_blank=True, showErrorMessage=True)
    numbers.error = "a number, in the measure's unit"
    sheet.add_data_validation(numbers)
    if rows:
        letter = sheet.cell(1, value_column).column_letter
        numbers.add(f"{letter}2:{letter}{len(rows) + 1}")
    for letter, width in (("B", 36), ("J", 60), ("K", 60)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "C2"
    help_sheet = book.create_sheet("how to fill in")
    for line in _HELP:
        help_sheet.append([line])
    book.save(out)


_HELP = (
    "Fill in analysis (why the measure moved) and recommendation (what you will do).",
    "Fill in value only for measures reported by hand (white value cells), in the unit shown.",
    "Leave the other columns as they are; rows you leave empty are ignored.",
    "Return the file by dropping it into the landing zone's updates/ folder unchanged in name.",
)
