"""Fixtures shared across the suite."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from bsc_pipeline.settings import PROJECT_ROOT, Settings

TINY_COMPANY = PROJECT_ROOT / "tests" / "e2e" / "tiny_company"
POSTGRES_ENV = "BSC_TEST_POSTGRES_URL"

# Property tests judge examples, not speed: no per-example deadline, no "too slow" health check
# (both fail on a busy machine). A test's own @settings keeps these unless it sets them itself.
hypothesis_settings.register_profile(
    "busy_machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("busy_machine")


def _tiny_settings(work: Path) -> Settings:
    return Settings(
        warehouse_url=f"sqlite:///{work / 'warehouse.db'}",
        landing_dir=TINY_COMPANY / "landing",
        lake_dir=work / "lake",
        spec_path=TINY_COMPANY / "spec.yaml",
        contracts_path=PROJECT_ROOT / "sources" / "contracts.yaml",
        sources_config=PROJECT_ROOT / "sources" / "sources.yaml",
        timezone="UTC",
        partitions_start="2024-01",
    )


@pytest.fixture(scope="session")
def tiny_settings_at() -> Callable[[Path], Settings]:
    """Settings for the hand-checkable tiny company with its lake and warehouse under a folder."""
    return _tiny_settings


@pytest.fixture
def tiny_settings(tmp_path: Path) -> Settings:
    """Settings for the hand-checkable tiny company, with a fresh lake and SQLite warehouse."""
    return _tiny_settings(tmp_path)


@pytest.fixture
def defs_factory(tiny_settings: Settings) -> Callable[..., object]:
    """Build the real Definitions with some settings changed."""
    from dataclasses import replace

    from bsc_pipeline.defs import build_definitions

    def build(**changes: object):  # type: ignore[no-untyped-def]
        return build_definitions(replace(tiny_settings, **changes))

    return build


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The PostgreSQL server tests may use; skipped with the reason when none is configured."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests skipped")
    yield url


def pytest_report_header(config: pytest.Config) -> str:
    where = "on" if os.environ.get(POSTGRES_ENV) else f"skipped ({POSTGRES_ENV} is not set)"
    return f"PostgreSQL tests: {where}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say at the end, where it is read, that the production backend went untested."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "postgres" in getattr(report, "keywords", {}) or POSTGRES_ENV in str(report.longrepr)
    ]
    if not skipped:
        return
    terminalreporter.section("PostgreSQL NOT TESTED", sep="!", red=True, bold=True)
    tests = (
        "1 PostgreSQL test was" if len(skipped) == 1 else f"{len(skipped)} PostgreSQL tests were"
    )
    terminalreporter.write_line(
        f"{tests} skipped: {POSTGRES_ENV} is not set.",
        red=True,
        bold=True,
    )
    terminalreporter.write_line(
        f"Run them with {POSTGRES_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test make test,"
        " or .ci/run (it starts the local PostgreSQL and sets the URL, as CI does)."
    )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto) on a free loopback port, with test credentials set in
    the environment the way a deployment sets them (`AWS_*`, `BSC_S3_ENDPOINT_URL`)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per S3 request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in _S3_ENV}
    os.environ.update(
        AWS_ACCESS_KEY_ID="bsc-test",
        AWS_SECRET_ACCESS_KEY="bsc-test-secret",
        AWS_DEFAULT_REGION="us-east-1",
        BSC_S3_ENDPOINT_URL=endpoint,
    )
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


_S3_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "BSC_S3_ENDPOINT_URL",
)


@pytest.fixture
def s3_lake(s3_endpoint: str) -> str:
    """A fresh bucket on the moto server; the lake URL under it."""
    import boto3

    bucket = f"bsc-lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/lake"
