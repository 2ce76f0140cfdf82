"""`dagster-webserver` on definitions.py lists assets, checks, schedules, sensors via GraphQL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bsc_pipeline.defs.jobs import CLOSE_JOB, CLOSE_SCHEDULE, NIGHTLY_JOB, NIGHTLY_SCHEDULE
from bsc_pipeline.defs.sensors import FAILURE_SENSOR, LANDING_SENSOR
from bsc_pipeline.settings import PROJECT_ROOT

TINY = PROJECT_ROOT / "tests" / "e2e" / "tiny_company"
START_TIMEOUT = 300.0
"""Seconds for the server to load the code location: only bounds a hang on a busy machine."""
HTTP_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0

pytestmark = pytest.mark.slow

READY_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"

QUERY = """
{
  assetNodes {
    assetKey { path }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        jobs { name }
        schedules { name cronSchedule executionTimezone scheduleState { status } }
        sensors { name sensorState { status } }
      }
    }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _graphql(base: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        return dict(json.loads(response.read()))


def _loaded(base: str) -> bool:
    """The server answers GraphQL and has finished loading definitions.py."""
    try:
        body = _graphql(base, READY_QUERY)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return False
    entries = ((body.get("data") or {}).get("workspaceOrError") or {}).get("locationEntries")
    return bool(entries) and all(entry["loadStatus"] == "LOADED" for entry in entries)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's whole process group (it starts a code server), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The UI server on a free loopback port, with a throwaway DAGSTER_HOME; always stopped."""
    work = tmp_path_factory.mktemp("webserver")
    home = work / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BSC_LANDING_DIR": str(TINY / "landing"),
        "BSC_SPEC": str(TINY / "spec.yaml"),
        "BSC_LAKE_DIR": str(work / "lake"),
        "BSC_WAREHOUSE_URL": f"sqlite:///{work / 'warehouse.db'}",
        "BSC_TIMEZONE": "Europe/Berlin",
    }
    log_path = work / "webserver.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dagster-webserver")),
                "-f",
                str(PROJECT_ROOT / "definitions.py"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _loaded(base):
            if process.poll() is not None or time.monotonic() > deadline:
                state = (
                    "exited" if process.poll() is not None else f"not ready in {START_TIMEOUT} s"
                )
                text = log_path.read_text(errors="replace")
                pytest.fail(f"dagster-webserver {state} on {base}:\n{text[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def answer(webserver: str) -> dict[str, Any]:
    body = _graphql(webserver, QUERY)
    assert "errors" not in body, body.get("errors")
    return dict(body["data"])


def _repository(answer: dict[str, Any]) -> dict[str, Any]:
    nodes = answer["repositoriesOrError"]["nodes"]
    assert len(nodes) == 1
    return dict(nodes[0])


def test_every_asset_of_the_code_location_is_listed(answer: dict[str, Any]) -> None:
    keys = {"/".join(node["assetKey"]["path"]) for node in answer["assetNodes"]}
    contracts = {"accounts", "budget", "gl_lines", "tickets", "training"}
    for dataset in contracts:
        assert {f"landing_{dataset}", f"raw_{dataset}", f"staged_{dataset}"} <= keys
    assert {"measure_values", "scorecard", "published_scorecard", "alert_delivery"} <= keys


def test_each_staged_asset_carries_its_gate_check(answer: dict[str, Any]) -> None:
    checks = {
        "/".join(node["assetKey"]["path"]): [
            c["name"] for c in node["assetChecksOrError"]["checks"]
        ]
        for node in answer["assetNodes"]
    }
    staged = {key: names for key, names in checks.items() if key.startswith("staged_")}
    assert len(staged) == 11
    assert all(names == ["gx_gate"] for names in staged.values())


def test_schedules_in_the_configured_zone_start_stopped(answer: dict[str, Any]) -> None:
    schedules = {s["name"]: s for s in _repository(answer)["schedules"]}
    assert set(schedules) == {NIGHTLY_SCHEDULE, CLOSE_SCHEDULE}
    assert schedules[NIGHTLY_SCHEDULE]["cronSchedule"] == "30 4 * * *"
    assert {s["executionTimezone"] for s in schedules.values()} == {"Europe/Berlin"}
    assert {s["scheduleState"]["status"] for s in schedules.values()} == {"STOPPED"}


def test_sensors_and_jobs_are_listed(answer: dict[str, Any]) -> None:
    repository = _repository(answer)
    sensors = {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
    assert sensors == {LANDING_SENSOR: "STOPPED", FAILURE_SENSOR: "RUNNING"}
    jobs = {j["name"] for j in repository["jobs"]}
    assert {NIGHTLY_JOB, CLOSE_JOB, "backfill_months"} <= jobs
