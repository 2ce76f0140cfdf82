"""Dagster resources: the pipeline's settings as configurable, overridable resources."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import dagster as dg

from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.settings import Settings, lake_location

WAREHOUSE_URL_ENV = "BSC_WAREHOUSE_URL"
_PATH_FIELDS = frozenset(f.name for f in fields(Settings) if f.type in (Path, "Path"))


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def _typed(name: str, value: Any) -> Any:
    if name == "lake_dir":
        return lake_location(value)
    return Path(value) if name in _PATH_FIELDS else value


class BscResource(dg.ConfigurableResource):
    """Where the landing zone, lake, spec and warehouse are; defaults come from `BSC_*`."""

    warehouse_url: str
    landing_dir: str
    lake_dir: str
    spec_path: str
    contracts_path: str
    sources_config: str
    timezone: str = "UTC"
    partitions_start: str = "2023-01"
    nightly_at: str = "04:30"
    close_day: int = 5
    alert_max_age_days: int = 45
    commentary_days: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> BscResource:
        # Dagster config holds plain values: paths travel as text.
        return cls(**{name: _plain(value) for name, value in vars(settings).items()})

    @classmethod
    def from_environment(cls, settings: Settings) -> BscResource:
        """As `from_settings`, with the warehouse URL (it may hold a password) as `dg.EnvVar`:
        the UI and run config show `BSC_WAREHOUSE_URL`, Dagster reads the value at run time."""
        values = {name: _plain(value) for name, value in vars(settings).items()}
        if os.environ.get(WAREHOUSE_URL_ENV):
            values["warehouse_url"] = dg.EnvVar(WAREHOUSE_URL_ENV)
        return cls(**values)

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            f.name: _typed(f.name, getattr(self, f.name)) for f in fields(Settings)
        }
        return Settings(**values)

    def pipeline(self) -> Pipeline:
        return Pipeline(self.settings())
