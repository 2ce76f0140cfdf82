"""The lake on a local folder, a `file://` URL and an S3-compatible server (moto on loopback).

The object-store tests talk to a real S3 API over HTTP, not to a mocked client: what a worker on
another machine would see is what these read back.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest

from bsc_pipeline.lake import Lake, lake_root
from bsc_pipeline.settings import Settings, lake_location

FRAME = pd.DataFrame(
    {"account": ["4000", "5000"], "amount": [120.5, np.nan], "entity": ["UK", "FR"]}
)


def _round_trip(lake: Lake) -> None:
    assert lake.read_frame("staged", "2025-01", "gl_lines") is None
    assert lake.read_json("gate", "2025-01", "gl_lines") is None
    assert lake.months("staged", "gl_lines") == []
    lake.write_frame(FRAME, "staged", "2025-01", "gl_lines")
    lake.write_frame(FRAME.iloc[:1], "staged", "2025-02", "gl_lines")
    lake.write_json({"passed": False, "rows": 2}, "gate", "2025-01", "gl_lines")
    pd.testing.assert_frame_equal(lake.read_frame("staged", "2025-01", "gl_lines"), FRAME)
    only = lake.read_frame("staged", "2025-02", "gl_lines", columns=["amount"])
    assert only is not None and list(only.columns) == ["amount"] and only["amount"][0] == 120.5
    assert lake.read_json("gate", "2025-01", "gl_lines") == {"passed": False, "rows": 2}
    assert lake.months("staged", "gl_lines") == ["2025-01", "2025-02"]
    assert lake.datasets("gate") == ["gl_lines"]
    assert lake.exists("staged", "2025-02", "gl_lines")
    assert not lake.exists("staged", "2025-03", "gl_lines")


def test_local_folder_and_file_url_are_the_same_lake(tmp_path: Path) -> None:
    _round_trip(Lake(tmp_path / "lake"))
    via_url = Lake(f"file://{tmp_path / 'lake'}")
    assert via_url.root == tmp_path / "lake" and not via_url.remote
    assert via_url.months("staged", "gl_lines") == ["2025-01", "2025-02"]
    leftovers = [p.name for p in (tmp_path / "lake").rglob(".*")]
    assert leftovers == [], "no temporary file is left beside the written ones"


def test_s3_lake_round_trip_is_read_back_over_the_s3_api(s3_lake: str, s3_endpoint: str) -> None:
    lake = Lake(s3_lake)
    assert lake.remote
    _round_trip(lake)
    bucket, prefix = s3_lake.removeprefix("s3://").split("/", 1)
    listed = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=bucket)
    keys = sorted(o["Key"] for o in listed["Contents"])
    assert keys == [
        f"{prefix}/gate/gl_lines/2025-01.json",
        f"{prefix}/staged/gl_lines/2025-01.parquet",
        f"{prefix}/staged/gl_lines/2025-02.parquet",
    ], "one object per file, no temporary objects"


def test_a_month_written_by_another_process_is_seen_after_a_listing(s3_lake: str) -> None:
    """Listings are not cached: a worker sees the month another worker has just written."""
    mine, theirs = Lake(s3_lake), Lake(s3_lake)
    mine.write_frame(FRAME, "staged", "2025-01", "gl_lines")
    assert mine.months("staged", "gl_lines") == ["2025-01"]
    theirs.write_frame(FRAME, "staged", "2025-02", "gl_lines")
    assert mine.months("staged", "gl_lines") == ["2025-01", "2025-02"]
    assert mine.read_frame("staged", "2025-02", "gl_lines") is not None


def test_a_failed_write_leaves_the_published_object_whole(s3_lake: str) -> None:
    """The upload happens only once the whole file is written: a write that fails half way
    leaves the previous object as it was (S3 has no half-written object to see)."""
    lake = Lake(s3_lake)
    lake.write_json({"version": 1}, "gate", "2025-01", "gl_lines")

    def broken(tmp: str) -> None:
        Path(tmp).write_text('{"version": 2, "trunc', encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        lake._atomic(lake.path("gate", "2025-01", "gl_lines", suffix=".json"), broken)
    assert lake.read_json("gate", "2025-01", "gl_lines") == {"version": 1}


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(ValueError, match="must not carry credentials"):
        lake_root("s3://AKIAEXAMPLE:secret@bucket/lake")


def test_settings_keep_a_lake_url_and_resolve_a_path(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bsc_pipeline.defs.resources import BscResource

    assert lake_location("s3://bucket/lake") == "s3://bucket/lake"
    assert lake_location(f"file://{tmp_path}") == tmp_path
    monkeypatch.setenv("BSC_LAKE_DIR", "s3://bucket/prefix")
    assert Settings.from_env().lake_dir == "s3://bucket/prefix"
    remote = replace(tiny_settings, lake_dir="s3://bucket/prefix")
    assert BscResource.from_settings(remote).settings() == remote


@pytest.mark.slow
def test_the_tiny_company_month_on_s3_publishes_what_the_local_lake_publishes(
    tiny_settings: Settings, s3_lake: str, tmp_path: Path
) -> None:
    """The same month through the pipeline with the lake on S3 and on disk: same published rows."""
    from bsc_pipeline.pipeline import Pipeline
    from bsc_pipeline.warehouse.publish import read_published

    def run(settings: Settings) -> pd.DataFrame:
        pipeline = Pipeline(settings)
        for dataset in pipeline.datasets:
            pipeline.extract(dataset, "2025-01")
        for dataset in pipeline.datasets:
            pipeline.stage(dataset, "2025-01")
        pipeline.compute_measures("2025-01")
        pipeline.score("2025-01")
        pipeline.publish("2025-01", run_id="lake-test")
        from bsc_pipeline.warehouse.engine import make_engine

        engine = make_engine(settings.warehouse_url)
        try:
            return read_published(engine, "2025-01").drop(columns=["published_at"], errors="ignore")
        finally:
            engine.dispose()

    local = run(tiny_settings)
    remote_settings = replace(
        tiny_settings, lake_dir=s3_lake, warehouse_url=f"sqlite:///{tmp_path / 's3.db'}"
    )
    remote = run(remote_settings)
    assert len(local) > 0
    pd.testing.assert_frame_equal(local, remote)
    gate = Lake(s3_lake).read_json("gate", "2025-01", "gl_lines")
    assert gate is not None and json.dumps(gate)
