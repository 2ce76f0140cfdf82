"""Planning against the published warehouse: previous statuses and past alerts come from it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bsc_pipeline.alerts import outbox
from bsc_pipeline.alerts.published import plan_month
from bsc_pipeline.alerts.recency import Present
from bsc_pipeline.warehouse.schema import fact_measure_period

# A date in the months these tests publish, so the age rule keeps them news.
SPRING_2025 = Present(today=date(2025, 5, 1))


def publish_fact(engine, measure_id, period, status, value, *, as_of, period_type="month"):
    with engine.begin() as c:
        c.execute(
            fact_measure_period.insert().values(
                measure_id=measure_id,
                period_type=period_type,
                period=period,
                as_of_month=as_of,
                period_start=date(2025, 1, 1),
                period_end=date(2025, 2, 1),
                is_partial=False,
                value=value,
                target=1000.0,
                data_state="complete",
                status=status,
                is_official=True,
                run_id="old",
                published_at=datetime(2025, 1, 1, tzinfo=UTC),
            )
        )


def test_previous_status_and_trend_come_from_published_rows(engine, spec, row, frame):
    publish_fact(engine, "revenue", "2025-01", "green", 1100.0, as_of="2025-01")
    publish_fact(engine, "revenue", "2025-02", "amber", 950.0, as_of="2025-02")

    events = plan_month(
        engine, spec, frame(row("revenue", "2025-03", "red", 800.0)), month="2025-03", run_id="r"
    )

    assert [(e.kind, e.previous_status) for e in events] == [("red", "amber")]
    history = events[0].payload["history"]
    assert [(h["period"], h["status"]) for h in history] == [
        ("2025-01", "green"),
        ("2025-02", "amber"),
        ("2025-03", "red"),
    ]


def test_quarter_close_compares_with_the_previous_quarter_close(engine, spec, row, frame):
    publish_fact(engine, "nps", "FY2025-Q1", "green", 40.0, as_of="2025-03", period_type="quarter")
    closed = frame(
        row("nps", "FY2025-Q2", "red", 12.0, period_type="quarter", as_of_month="2025-06")
    )

    events = plan_month(engine, spec, closed, month="2025-06", run_id="r")

    assert [(e.kind, e.previous_status, e.period) for e in events] == [
        ("red", "green", "FY2025-Q2")
    ]


def test_past_alerts_in_the_outbox_hold_back_a_repeat(engine, spec_with, row, frame):
    spec = spec_with(repeat_after_periods=2)
    publish_fact(engine, "revenue", "2025-03", "red", 800.0, as_of="2025-03")
    march = plan_month(
        engine,
        spec,
        frame(row("revenue", "2025-03", "red", 800.0)),
        month="2025-03",
        run_id="r",
        present=SPRING_2025,
    )
    with engine.begin() as c:
        outbox.write_events(c, march)

    april = frame(row("revenue", "2025-04", "red", 790.0))
    assert plan_month(engine, spec, april, month="2025-04", run_id="r", present=SPRING_2025) == []
    publish_fact(engine, "revenue", "2025-04", "red", 790.0, as_of="2025-04")
    may = frame(row("revenue", "2025-05", "red", 780.0))
    planned = plan_month(engine, spec, may, month="2025-05", run_id="r", present=SPRING_2025)
    assert [e.kind for e in planned] == ["repeat"]


def test_event_rows_fit_the_alert_event_table_and_read_back_equal(engine, spec, row, frame):
    from bsc_pipeline.warehouse.schema import alert_event

    (event,) = plan_month(
        engine,
        spec,
        frame(row("revenue", "2025-03", "red", 800.0)),
        month="2025-03",
        run_id="r",
        present=SPRING_2025,
    )
    (to_publish,) = outbox.outbox_rows([event])
    assert set(to_publish) <= {c.name for c in alert_event.columns}
    assert to_publish["state"] == "pending"
    with engine.begin() as c:
        c.execute(
            alert_event.insert().values(**to_publish, created_at=datetime(2025, 4, 1, tzinfo=UTC))
        )

    (stored,) = outbox.pending_events(engine)
    assert stored.event == event and stored.event.payload == event.payload


def test_a_backfill_records_older_months_as_history_and_tells_the_newest(
    engine, spec_with, row, frame
):
    spec = spec_with(repeat_after_periods=3)
    backfill = Present(today=date(2026, 12, 1), backfill_through="2025-04")
    publish_fact(engine, "revenue", "2025-02", "red", 800.0, as_of="2025-02")
    march = plan_month(
        engine,
        spec,
        frame(row("revenue", "2025-03", "red", 790.0)),
        month="2025-03",
        run_id="r",
        present=backfill,
    )
    assert [(e.kind, e.historical) for e in march] == [("repeat", True)]
    with engine.begin() as c:
        outbox.write_events(c, march)
    publish_fact(engine, "revenue", "2025-03", "red", 790.0, as_of="2025-03")

    april = plan_month(
        engine,
        spec,
        frame(row("revenue", "2025-04", "red", 780.0)),
        month="2025-04",
        run_id="r",
        present=backfill,
    )

    # March's alert was never sent, so it does not hold back April's: the owner hears it now,
    # with where all their measures stand.
    assert [(e.kind, e.historical, e.payload.get("red_since")) for e in april] == [
        ("repeat", False, "2025-02"),
        ("state", False, None),
    ]
    assert april[1].dedup_key == "state/sales_lead/2025-04"
    (stored,) = outbox.list_events(engine)
    assert stored.state == "historical" and stored.event.historical
    assert outbox.pending_events(engine) == []
    assert outbox.list_events(engine, historical=False) == []
