"""Fixtures shared across the suite."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bsc_pipeline.settings import PROJECT_ROOT, Settings

TINY_COMPANY = PROJECT_ROOT / "tests" / "e2e" / "tiny_company"


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
    url = os.environ.get("BSC_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("BSC_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    yield url
