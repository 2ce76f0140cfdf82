"""Dagster resources: the pipeline's settings as configurable, overridable resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.settings import Settings


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

    @classmethod
    def from_settings(cls, settings: Settings) -> BscResource:
        return cls(
            warehouse_url=settings.warehouse_url,
            landing_dir=str(settings.landing_dir),
            lake_dir=str(settings.lake_dir),
            spec_path=str(settings.spec_path),
            contracts_path=str(settings.contracts_path),
            sources_config=str(settings.sources_config),
            timezone=settings.timezone,
            partitions_start=settings.partitions_start,
            nightly_at=settings.nightly_at,
            close_day=settings.close_day,
        )

    def settings(self) -> Settings:
        return Settings(
            warehouse_url=self.warehouse_url,
            landing_dir=Path(self.landing_dir),
            lake_dir=Path(self.lake_dir),
            spec_path=Path(self.spec_path),
            contracts_path=Path(self.contracts_path),
            sources_config=Path(self.sources_config),
            timezone=self.timezone,
            partitions_start=self.partitions_start,
            nightly_at=self.nightly_at,
            close_day=self.close_day,
        )

    def pipeline(self) -> Pipeline:
        return Pipeline(self.settings())
