"""The outbox on PostgreSQL: duplicate keys skipped by ON CONFLICT, attempts and states kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bsc_pipeline.alerts import outbox
from bsc_pipeline.alerts.channels import WebhookChannel
from bsc_pipeline.alerts.delivery import deliver_pending
from bsc_pipeline.alerts.transitions import plan_events
from bsc_pipeline.warehouse.engine import make_engine
from bsc_pipeline.warehouse.schema import metadata

pytestmark = pytest.mark.postgres
EMPTY = pd.DataFrame(columns=["measure_id", "period_type", "period", "as_of_month", "status"])


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[sa.Engine]:
    schema = f"bsc_alerts_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_outbox_round_trip_on_postgres(pg_engine, spec, web, row, frame, monkeypatch):
    monkeypatch.setenv("BSC_TEST_CRM_WEBHOOK", web.url("/pg"))
    web.script["/pg"] = [500]
    current = frame(
        row("pipeline_coverage", "2025-03", "held"), row("revenue", "2025-03", "red", 1.0)
    )
    events = plan_events(spec, current, EMPTY, run_id="r")
    with pg_engine.begin() as connection:
        assert len(outbox.write_events(connection, events)) == 2
    with pg_engine.begin() as connection:
        assert outbox.write_events(connection, events) == []

    summary = deliver_pending(pg_engine, spec, channels=[WebhookChannel()], backoff_base=0.01)

    # revenue's owner has only email, and no email channel is given: the fallback has none
    # either, so it is dead-lettered; the webhook one is delivered on its second attempt.
    assert len(web.to("/pg")) == 2
    held = next(s for s in outbox.list_events(pg_engine) if s.event.kind == "held")
    assert held.state == "delivered"
    assert [t["outcome"] for t in outbox.attempts(pg_engine, held.event_id)] == ["error", "ok"]
    assert summary.dead == 2  # the red event and, unreachable too, its dead letter


def test_history_is_kept_apart_on_postgres(pg_engine, spec, row, frame):
    from dataclasses import replace

    (april,) = plan_events(spec, frame(row("revenue", "2025-04", "red", 1.0)), EMPTY, run_id="r")
    (may,) = plan_events(spec, frame(row("win_rate", "2025-05", "red", 1.0)), EMPTY, run_id="r")
    with pg_engine.begin() as connection:
        outbox.write_events(connection, [replace(april, historical=True), may])

    assert [s.event.dedup_key for s in outbox.pending_events(pg_engine)] == [may.dedup_key]
    assert {s.state for s in outbox.list_events(pg_engine)} == {"historical", "pending"}
    assert outbox.last_red_alerts(pg_engine) == {"win_rate": "2025-05"}
