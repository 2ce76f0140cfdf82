"""Failures a user meets end in one line naming the cause and the next step, and are recorded.

Real runs of the tiny company through `bsc`'s runner: a corrupt lake file, a warehouse nobody
listens for, a read-only warehouse file; the command line's one-line errors and exit codes.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from bsc_pipeline.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.slow
MONTH = "2025-01"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(settings: Settings) -> tuple[object, str]:
    from bsc_pipeline.runner import run_months

    console = Console(record=True, width=200)
    report = run_months([MONTH], console=console, settings=settings)
    return report, console.export_text()


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BSC_", "DAGSTER_"))}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        BSC_WAREHOUSE_URL=settings.warehouse_url,
        BSC_LANDING_DIR=str(settings.landing_dir),
        BSC_LAKE_DIR=str(settings.lake_dir),
        BSC_SPEC=str(settings.spec_path),
        BSC_PARTITIONS_START=settings.partitions_start,
    )
    return env


def test_a_month_before_the_first_partition_is_a_usage_error(tiny_settings: Settings) -> None:
    from bsc_pipeline.cli import app

    result = CliRunner().invoke(app, ["run", "--period", "2022-06"], env=_env(tiny_settings))

    assert result.exit_code == 2, result.output
    assert "2022-06 is outside the partitions (2024-01 to" in result.output
    assert "BSC_PARTITIONS_START" in result.output


def test_a_corrupt_lake_file_names_the_file_and_the_fix_and_the_failure_is_recorded(
    tiny_settings: Settings,
) -> None:
    from bsc_pipeline.report import render_status

    corrupt = tiny_settings.lake_dir / "staged" / "gl_lines" / "2024-12.parquet"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not a parquet file")

    report, output = _run(tiny_settings)

    (outcome,) = report.outcomes  # type: ignore[attr-defined]
    assert not outcome.succeeded
    assert f"lake file {corrupt} is corrupt" in outcome.error
    assert "delete it and re-run the month" in outcome.error
    assert "max_retries" not in outcome.error and "Traceback" not in output
    engine = sa.create_engine(tiny_settings.warehouse_url)
    with engine.connect() as connection:
        recorded = connection.execute(
            sa.text("SELECT month, outcome, error FROM pipeline_run WHERE run_id = :r"),
            {"r": outcome.run_id},
        ).one()
    engine.dispose()
    assert recorded.month == MONTH and recorded.outcome == "failed"
    assert "delete it and re-run" in recorded.error
    status = Console(record=True, width=400)
    render_status(tiny_settings, status)
    shown = status.export_text()
    assert "failed" in shown and "is corrupt" in shown


def test_a_warehouse_nobody_listens_for_is_named_with_its_host_and_port(
    tiny_settings: Settings,
) -> None:
    port = _closed_port()
    settings = replace(
        tiny_settings, warehouse_url=f"postgresql+psycopg://bsc@127.0.0.1:{port}/scorecard"
    )

    report, output = _run(settings)

    (outcome,) = report.outcomes  # type: ignore[attr-defined]
    assert not outcome.succeeded
    assert f"cannot connect to the warehouse at 127.0.0.1:{port} (connection refused)" in (
        outcome.error
    )
    assert "BSC_WAREHOUSE_URL" in outcome.error and "Traceback" not in output


def test_bsc_status_says_the_cause_in_one_line_and_the_trace_only_with_verbose(
    tiny_settings: Settings,
) -> None:
    port = _closed_port()
    env = _env(replace(tiny_settings, warehouse_url=f"postgresql://bsc@127.0.0.1:{port}/x"))
    command = [sys.executable, "-m", "bsc_pipeline.cli"]

    plain = subprocess.run([*command, "status"], env=env, capture_output=True, text=True)
    verbose = subprocess.run(
        [*command, "--verbose", "status"], env=env, capture_output=True, text=True
    )

    assert plain.returncode == 1 and "Traceback" not in plain.stdout + plain.stderr
    lines = [line for line in plain.stdout.splitlines() if line.startswith("error:")]
    assert lines == [
        f"error: cannot connect to the warehouse at 127.0.0.1:{port} (connection refused): "
        "start PostgreSQL there, or fix BSC_WAREHOUSE_URL; then re-run"
    ]
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def test_a_read_only_warehouse_can_be_shown_and_a_run_says_it_is_read_only(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    from bsc_pipeline.report import render_scorecard, render_status
    from bsc_pipeline.runner import run_months

    assert run_months([MONTH], console=Console(record=True), settings=tiny_settings).ok
    published = tiny_settings.warehouse_url.removeprefix("sqlite:///")
    path = str(tmp_path / "read_only.db")
    with sqlite3.connect(published) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # read-only opens then need no -shm file
    read_only = replace(tiny_settings, warehouse_url=f"sqlite:///file:{path}?mode=ro&uri=true")

    shown = Console(record=True, width=200)
    render_scorecard(read_only, MONTH, shown)
    render_status(read_only, shown)
    text = shown.export_text()
    report, output = _run(read_only)

    assert "Revenue" in text and "Last runs" in text
    (outcome,) = report.outcomes  # type: ignore[attr-defined]
    assert not outcome.succeeded
    assert f"the warehouse file file:{path} is read-only" in outcome.error
    assert "Traceback" not in output
