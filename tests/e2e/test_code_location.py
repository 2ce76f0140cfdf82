"""The Dagster code location as operators see it: names are an interface, so renames show here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from bsc_pipeline.settings import PROJECT_ROOT

DATASETS = [
    "chart_of_accounts",
    "gl_lines",
    "budget",
    "accounts",
    "opportunities",
    "survey_responses",
    "tickets",
    "employees",
    "training",
    "engagement",
    "updates",
]
SCORECARD_ASSETS = [
    "measure_values",
    "scorecard",
    "published_scorecard",
    "alert_delivery",
    "scorecard_report",
]


def test_asset_keys_groups_and_checks(defs_factory) -> None:
    defs = defs_factory()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = {f"{layer}_{d}" for d in DATASETS for layer in ("landing", "raw", "staged")}
    assert keys == expected | set(SCORECARD_ASSETS)
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups["raw_gl_lines"] == "finance" and groups["staged_tickets"] == "ticketing"
    assert groups["raw_employees"] == "hr" and groups["staged_accounts"] == "crm"
    assert groups["published_scorecard"] == "scorecard"
    assert groups["scorecard_report"] == "scorecard"
    report_parents = {
        k.to_user_string() for k in graph.get(dg.AssetKey("scorecard_report")).parent_keys
    }
    assert report_parents == {"published_scorecard"}
    checks = {k.asset_key.to_user_string() for k in graph.asset_check_keys}
    assert checks == {f"staged_{d}" for d in DATASETS}
    partitioned = {
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if isinstance(graph.get(k).partitions_def, dg.MonthlyPartitionsDefinition)
    }
    assert partitioned == keys - {f"landing_{d}" for d in DATASETS}


def test_jobs_schedules_and_sensors_are_named(defs_factory) -> None:
    defs = defs_factory()
    repo = defs.get_repository_def()
    assert "nightly_scorecard" in {j.name for j in repo.get_all_jobs()}
    assert "nightly_scorecard_schedule" in {s.name for s in repo.schedule_defs}
    assert {"landing_zone_sensor", "run_failure_to_engineers"} <= {s.name for s in repo.sensor_defs}


def test_dagster_validates_the_code_location(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-f", "definitions.py"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # only bounds a hang: a busy machine is slow, never this slow
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def test_the_resource_carries_every_setting_both_ways(tiny_settings) -> None:
    from bsc_pipeline.defs.resources import BscResource

    assert BscResource.from_settings(tiny_settings).settings() == tiny_settings


def test_landed_months_are_the_months_the_readers_see(tiny_settings) -> None:
    from bsc_pipeline.runner import landed_months

    assert landed_months(tiny_settings) == ["2025-01", "2025-02"]


def test_the_code_location_reads_the_warehouse_url_at_run_time(
    tiny_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL may hold a password: Dagster keeps `BSC_WAREHOUSE_URL`, not its value."""
    from bsc_pipeline.definitions import defs
    from bsc_pipeline.settings import Settings

    for name, value in {
        "BSC_WAREHOUSE_URL": tiny_settings.warehouse_url,
        "BSC_LANDING_DIR": str(tiny_settings.landing_dir),
        "BSC_LAKE_DIR": str(tiny_settings.lake_dir),
        "BSC_SPEC": str(tiny_settings.spec_path),
    }.items():
        monkeypatch.setenv(name, value)
    resource = defs().resources["bsc"]
    assert resource.warehouse_url == dg.EnvVar("BSC_WAREHOUSE_URL")  # the name, not the value
    assert resource.process_config_and_initialize().settings() == Settings.from_env()
