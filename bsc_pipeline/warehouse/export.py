"""Finance exports of the published scorecard: the view's rows as CSV or Parquet, or a workbook.

Names come from the spec and data from extracts, so a text cell may begin with `=`: spreadsheet
exports neutralise such cells (OWASP's CSV-injection rule) and numbers stay numbers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from bsc_pipeline.warehouse.choices import FORMATS, ExportFormat, ExportPeriodType
from bsc_pipeline.warehouse.errors import WarehouseError
from bsc_pipeline.warehouse.readings import read_scorecard, with_commentary


def default_export_path(period: str, period_type: str, fmt: str) -> Path:
    """`scorecard_<period>_<type>.<ext>` in the working directory."""
    return Path(f"scorecard_{period}_{period_type}.{fmt}")


def export_scorecard(
    engine: Engine,
    period: str,
    fmt: ExportFormat,
    period_type: ExportPeriodType = "month",
    out: Path | None = None,
) -> tuple[Path, int]:
    """Write the scorecard rows for `period` to `out`; returns the path and the row count.

    XLSX is the workbook of `workbook.py` (Summary, Data, Notes); Excel cannot hold time zones,
    so there `published_at` is written as UTC without an offset.
    The last column of the data, `commentary`, is the owner's analysis and recommendation of the
    month.
    """
    if fmt not in FORMATS:
        raise WarehouseError(f"unknown export format {fmt!r}; expected one of {FORMATS}")
    frame = read_scorecard(engine, period, period_type)
    if frame.empty:
        raise WarehouseError(
            f"nothing published for {period} ({period_type}); run the month first "
            "or check the period (a month as YYYY-MM, or a label such as FY2025-Q1)"
        )
    frame = with_commentary(engine, frame)
    target = out or default_export_path(period, period_type, fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    if fmt == "csv":
        neutralise_formulas(frame).to_csv(partial, index=False)
    elif fmt == "parquet":
        frame.to_parquet(partial, index=False)
    else:
        from bsc_pipeline.warehouse.workbook import write_workbook

        write_workbook(engine, neutralise_formulas(frame), period, period_type, partial)
    partial.replace(target)
    return target, len(frame)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Characters a spreadsheet may read as the start of a formula (OWASP CSV injection)."""


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting a formula get a leading single quote, so Excel and LibreOffice show
    them as text; numeric columns are left alone (a negative number is not text)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        out[column] = values.map(_neutral_cell, na_action="ignore")
    return out


def _neutral_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
