"""The options every `bsc` command spells the same way, and the one rule for its output.

Kept free of pandas, SQLAlchemy, Dagster and GX: every sub-app imports it when `bsc` mounts.
A month is `--period`, a warehouse `--warehouse-url`, an output format `--format`. Output is a
rich table in a terminal, plain lines in a pipe (no wrapping), and JSON with `--format json`.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Literal

import typer

OutputFormat = Literal["text", "json"]

WarehouseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--warehouse-url",
        help="SQLAlchemy URL of the warehouse; default BSC_WAREHOUSE_URL, else the demo SQLite.",
    ),
]
FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        help="text (a table in a terminal, one plain line per row in a pipe) or json",
    ),
]


def resolve_warehouse_url(url: str | None) -> str:
    """The URL given, else BSC_WAREHOUSE_URL, else the demo SQLite of the checkout."""
    from bsc_pipeline.settings import Settings

    return url or Settings.from_env().warehouse_url


def is_terminal() -> bool:
    """A person is reading (rich tables, colours), not a pipe, a file or a test runner."""
    return sys.stdout.isatty()


def echo_json(payload: Any) -> None:
    """One JSON document on stdout, keys sorted so scripts and diffs see a stable shape."""
    typer.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))
