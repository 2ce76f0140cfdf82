"""`bsc backfill` as an operator runs it, in a pipe: it says which later months it recomputes
before it starts, prints one line per month, and after Ctrl-C its summary is what the warehouse
holds (the tiny company's two months; January backfilled again, so February reads it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from bsc_pipeline.settings import Settings

pytestmark = pytest.mark.slow

BSC = [sys.executable, "-c", "from bsc_pipeline.cli import main; main()"]


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    return env | {
        "BSC_WAREHOUSE_URL": settings.warehouse_url,
        "BSC_LANDING_DIR": str(settings.landing_dir),
        "BSC_LAKE_DIR": str(settings.lake_dir),
        "BSC_SPEC": str(settings.spec_path),
        "BSC_PARTITIONS_START": settings.partitions_start,
        "BSC_TIMEZONE": "UTC",
    }


def _published_runs(settings: Settings, month: str) -> int:
    engine = sa.create_engine(settings.warehouse_url)
    try:
        if not sa.inspect(engine).has_table("pipeline_run"):
            return 0
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sa.text(
                        "SELECT count(*) FROM pipeline_run "
                        "WHERE month = :month AND outcome = 'published'"
                    ),
                    {"month": month},
                ).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def settings(
    tmp_path_factory: pytest.TempPathFactory, tiny_settings_at: Callable[[Path], Settings]
) -> Settings:
    return tiny_settings_at(tmp_path_factory.mktemp("interrupt"))


@pytest.fixture(scope="module")
def first_backfill(settings: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BSC, "backfill", "--start", "2025-01", "--end", "2025-02"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_piped_backfill_prints_one_line_per_month(
    first_backfill: subprocess.CompletedProcess[str],
) -> None:
    assert first_backfill.returncode == 0, first_backfill.stdout + first_backfill.stderr
    lines = first_backfill.stdout.splitlines()
    assert "Backfilling 2025-01, 2025-02: no later published month reads them." in lines
    assert "1/2 2025-01: done" in lines
    assert "2/2 2025-02: done" in lines
    assert "2 published, 0 published with held measures, 0 failed" in lines
    assert "━" not in first_backfill.stdout  # no progress bar drawn into a pipe
    assert "nightly_scorecard" not in first_backfill.stderr  # Dagster's log at WARNING


def test_an_interrupted_backfill_says_what_the_warehouse_holds(
    settings: Settings, first_backfill: subprocess.CompletedProcess[str]
) -> None:
    assert first_backfill.returncode == 0, first_backfill.stdout + first_backfill.stderr
    process = subprocess.Popen(
        [*BSC, "--verbose", "backfill", "--start", "2025-01", "--end", "2025-01"],
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The event: January's second publication is recorded; then Ctrl-C, before February's.
    while _published_runs(settings, "2025-01") < 2:
        with pytest.raises(subprocess.TimeoutExpired):  # it must not end before publishing
            process.wait(timeout=0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=600)

    assert process.returncode == 130, stdout + stderr
    # --verbose lowers the log level to INFO. Which Dagster lines reach stderr before the SIGINT
    # depends on scheduling (a loaded machine once had none), so only the level is asserted.
    assert " INFO " in stderr
    assert (
        "Backfilling 2025-01, then recomputing 1 later published month(s) 2025-02: their "
        "year-over-year, trailing-12-month, quarter and year figures read the months being "
        "backfilled."
    ) in stdout
    # January published again with the same files: no value or status moved.
    assert "0 published, 0 published with held measures, 0 failed, 1 unchanged" in stdout
    assert (
        "Recomputed 0 of 1 later month(s) whose periods read the range; not recomputed: 2025-02"
        in stdout
    )
    assert "Interrupted: 1 month(s) not reached (2025-02); run them again" in stdout
    assert _published_runs(settings, "2025-02") == 1


def test_an_interrupted_parallel_backfill_says_what_the_warehouse_holds(
    tmp_path: Path, tiny_settings_at: Callable[[Path], Settings]
) -> None:
    """`--jobs 2`: one Dagster run for both months; Ctrl-C once the first month is published."""
    fresh = tiny_settings_at(tmp_path)
    process = subprocess.Popen(
        [*BSC, "backfill", "--start", "2025-01", "--end", "2025-02", "--jobs", "2"],
        env=_env(fresh),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while _published_runs(fresh, "2025-01") + _published_runs(fresh, "2025-02") < 1:
        with pytest.raises(subprocess.TimeoutExpired):  # it must not end before publishing
            process.wait(timeout=0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=600)

    assert process.returncode == 130, stdout + stderr
    published = [m for m in ("2025-01", "2025-02") if _published_runs(fresh, m)]
    missed = [m for m in ("2025-01", "2025-02") if m not in published]
    assert f"{len(published)} published, 0 published with held measures, 0 failed" in stdout
    if missed:  # the other month was cut short: said so, and nothing of it published
        assert f"Interrupted: {len(missed)} month(s) not reached ({', '.join(missed)})" in stdout
