"""The lake is a cache, never the record: months it lacks are rebuilt from the landing zone.

A run reads earlier months (volume baselines, year-on-year growth, trailing twelve months). When
the lake lost one (a new worker, a wiped disk), the month is extracted and gated again through
the same steps, so the same inputs give the same numbers. Raw summaries (volume baselines) are
extracted for any month since the partitions start; staged months only for months the warehouse
says were published, as those are the ones the lake held. When the landing zone no longer holds
the files a published month was read from, the month cannot be rebuilt and the measures reading
it are held.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bsc_pipeline.measures.loading import LOST_PREFIX

if TYPE_CHECKING:
    from bsc_pipeline.pipeline import Pipeline


class LakeRebuild:
    """Rebuilds raw and staged months of one pipeline's lake on demand, once per month."""

    def __init__(self, pipeline: Pipeline, reader: Engine) -> None:
        self.pipeline = pipeline
        self.reader = reader
        self._staged: dict[tuple[str, str], str | None] = {}

    @cached_property
    def published(self) -> set[str]:
        """Months the warehouse published (read once, when a month is missing from the lake)."""
        from bsc_pipeline.warehouse.run_files import published_months

        return published_months(self.reader)

    def _was_published(self, month: str) -> bool:
        """Months before the partitions start were never run, so the lake never held them."""
        return month >= self.pipeline.settings.partitions_start and month in self.published

    @cached_property
    def validator(self) -> Any:
        from bsc_pipeline.quality.gx_validator import GXValidator

        return GXValidator()

    def raw_meta(self, dataset: str, month: str) -> dict[str, Any] | None:
        """The extract summary of a month since the partitions start, extracted when missing.

        Any such month, published or not: a volume baseline then depends on the landing zone
        only, not on which months a parallel backfill happened to extract first.
        """
        lake = self.pipeline.lake
        meta = lake.read_json("raw", month, dataset)
        if meta is None and month >= self.pipeline.settings.partitions_start:
            self.pipeline.extract(dataset, month)
            meta = lake.read_json("raw", month, dataset)
        return meta

    def staged(self, dataset: str, month: str) -> str | None:
        """Make sure a published month's staged rows and verdict are in the lake.

        Returns why the month cannot be rebuilt (its landing files are gone), else None.
        """
        key = (dataset, month)
        if key not in self._staged:
            self._staged[key] = self._rebuild(dataset, month)
        return self._staged[key]

    def _rebuild(self, dataset: str, month: str) -> str | None:
        from bsc_pipeline.quality.suites import reference_datasets
        from bsc_pipeline.warehouse.run_files import published_files

        lake = self.pipeline.lake
        if (
            lake.path("staged", month, dataset).exists()
            and lake.path("gate", month, dataset, suffix=".json").exists()
        ):
            return None
        if not self._was_published(month):
            return None
        landing = self.pipeline.settings.landing_dir
        recorded = published_files(self.reader, dataset, month)
        gone = [f for f in recorded if not (landing / f).exists()]
        if gone:
            shown = ", ".join(gone[:3]) + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")
            return (
                f"{LOST_PREFIX}{dataset} {month} is not in the lake and the landing zone no "
                f"longer holds {shown}: restore the files to rebuild it"
            )
        for name in (dataset, *reference_datasets(dataset)):
            self.raw_meta(name, month)
        self.pipeline.stage(dataset, month, validator=self.validator)
        return None
