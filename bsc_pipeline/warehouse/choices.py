"""The choices `bsc` offers on the warehouse before any warehouse code loads.

Typer reads these when it builds `bsc --help`, so this module imports nothing heavy.
"""

from __future__ import annotations

from typing import Literal

ExportFormat = Literal["csv", "parquet", "xlsx"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet", "xlsx")

ExportPeriodType = Literal["month", "quarter", "fiscal_year", "ytd", "ttm"]

DEFAULT_WRITER = "bsc_writer"
DEFAULT_OPERATOR = "bsc_operator"
DEFAULT_READER = "bsc_reader"
