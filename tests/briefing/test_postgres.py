"""The same briefing from PostgreSQL as from SQLite: views and dimensions read alike."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bsc_pipeline.briefing import assemble_briefing
from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.spec.loader import load_spec
from bsc_pipeline.warehouse.engine import make_engine

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_postgres_and_sqlite_give_the_same_briefing(published, postgres_url, tmp_path) -> None:
    schema = f"bsc_briefing_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    settings = replace(
        published, warehouse_url=url.render_as_string(hide_password=False), lake_dir=tmp_path
    )
    try:
        pipeline = Pipeline(settings)
        for month in ("2025-01", "2025-02"):
            for dataset in pipeline.datasets:
                pipeline.extract(dataset, month)
            for dataset in pipeline.datasets:
                pipeline.stage(dataset, month)
            pipeline.compute_measures(month)
            pipeline.score(month)
            pipeline.publish(month, run_id=f"pg-{month}")
        spec = load_spec(settings.spec_path)
        on_postgres = assemble_briefing(make_engine(settings.warehouse_url), "2025-02", spec=spec)
        on_sqlite = assemble_briefing(make_engine(published.warehouse_url), "2025-02", spec=spec)
        assert replace(on_postgres, published_at="") == replace(on_sqlite, published_at="")
        assert [m.status for m in on_postgres.measures] == [
            "green", "red", "red", "red", "green", "red"
        ]  # fmt: skip
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
