"""The nightly schedule: cron, time zone, DST days and which months it asks for."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from bsc_pipeline.defs.jobs import (
    CLOSE_JOB,
    CLOSE_SCHEDULE,
    NIGHTLY_SCHEDULE,
    close_cron,
    close_request,
    months_to_run,
    nightly_cron,
)
from bsc_pipeline.periods import Month


def test_nightly_cron_from_local_time() -> None:
    assert nightly_cron("04:30") == "30 4 * * *"
    assert nightly_cron("23:05") == "5 23 * * *"


@pytest.mark.parametrize("at", ["01:00", "01:59", "02:30"])
def test_nightly_cron_refuses_the_dst_window(at: str) -> None:
    with pytest.raises(ValueError, match="DST"):
        nightly_cron(at)


@pytest.mark.parametrize("at", ["24:00", "04:60", "four"])
def test_nightly_cron_refuses_nonsense(at: str) -> None:
    with pytest.raises(ValueError):
        nightly_cron(at)


def test_months_to_run_keeps_previous_month_until_closed() -> None:
    assert months_to_run(Month(2025, 1), closed=set()) == ["2024-12", "2025-01"]
    assert months_to_run(Month(2025, 1), closed={"2024-12"}) == ["2025-01"]


def _ticks(schedule: dg.ScheduleDefinition, start: datetime, count: int) -> list[datetime]:
    """The schedule's next ticks as Dagster's own scheduler computes them."""
    from dagster._utils.schedules import cron_string_iterator

    iterator = cron_string_iterator(
        start.timestamp(), schedule.cron_schedule, schedule.execution_timezone
    )
    return [next(iterator) for _ in range(count)]


@pytest.mark.parametrize(
    ("start", "tz"),
    [
        (datetime(2025, 3, 29, 12, tzinfo=ZoneInfo("Europe/Berlin")), "Europe/Berlin"),  # spring
        (datetime(2025, 10, 25, 12, tzinfo=ZoneInfo("Europe/Berlin")), "Europe/Berlin"),  # autumn
        (datetime(2025, 3, 8, 12, tzinfo=ZoneInfo("America/New_York")), "America/New_York"),
    ],
)
def test_schedule_fires_once_a_night_at_local_time_across_dst(
    defs_factory, start: datetime, tz: str
) -> None:
    schedule = defs_factory(timezone=tz).get_schedule_def(NIGHTLY_SCHEDULE)
    assert schedule.execution_timezone == tz
    ticks = _ticks(schedule, start, 4)
    assert [(t.hour, t.minute) for t in ticks] == [(4, 30)] * 4
    days = [t.date() for t in ticks]
    assert len(set(days)) == 4, "exactly one tick per calendar day, none skipped or doubled"


def test_schedule_asks_for_open_and_previous_month(defs_factory) -> None:
    defs = defs_factory(timezone="Europe/Berlin")
    when = datetime(2025, 3, 1, 4, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert [r.partition_key for r in _nightly_requests(defs, when)] == ["2025-02", "2025-03"]
    assert len({r.run_key for r in _nightly_requests(defs, when)}) == 2


def _nightly_requests(defs: dg.Definitions, when: datetime) -> list[dg.RunRequest]:
    repo = defs.get_repository_def()
    schedule = repo.get_schedule_def(NIGHTLY_SCHEDULE)
    with dg.build_schedule_context(
        scheduled_execution_time=when, resources=defs.resources, repository_def=repo
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


def _closed_warehouse(url: str, *months: str) -> None:
    """A migrated warehouse where finance has closed `months`."""
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
    from bsc_pipeline.warehouse.period_close import close_period

    engine = make_engine(url)
    upgrade_warehouse(engine)
    for month in months:
        close_period(engine, month)
    engine.dispose()


def test_schedule_drops_the_previous_month_once_it_is_closed(defs_factory, tiny_settings) -> None:
    _closed_warehouse(tiny_settings.warehouse_url, "2025-02")
    defs = defs_factory(timezone="Europe/Berlin")
    when = datetime(2025, 3, 2, 4, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    requests = _nightly_requests(defs, when)
    assert [r.partition_key for r in requests] == ["2025-03"]


def test_schedule_on_a_warehouse_never_published_asks_for_both(defs_factory) -> None:
    when = datetime(2025, 1, 1, 4, 30, tzinfo=ZoneInfo("UTC"))
    assert [r.partition_key for r in _nightly_requests(defs_factory(), when)] == [
        "2024-12",
        "2025-01",
    ]


def test_a_later_night_has_new_run_keys_for_the_same_months(defs_factory) -> None:
    first = _nightly_requests(defs_factory(), datetime(2025, 3, 10, 4, 30, tzinfo=ZoneInfo("UTC")))
    second = _nightly_requests(defs_factory(), datetime(2025, 3, 11, 4, 30, tzinfo=ZoneInfo("UTC")))
    assert [r.partition_key for r in first] == [r.partition_key for r in second]
    assert not {r.run_key for r in first} & {r.run_key for r in second}


def test_nightly_time_and_zone_come_from_the_settings(defs_factory) -> None:
    schedule = defs_factory(nightly_at="05:15", timezone="Asia/Kolkata").get_schedule_def(
        NIGHTLY_SCHEDULE
    )
    assert schedule.cron_schedule == "15 5 * * *"
    assert schedule.execution_timezone == "Asia/Kolkata"


def test_a_nightly_time_in_the_dst_window_stops_the_code_location_loading(defs_factory) -> None:
    with pytest.raises(ValueError, match="01:00–03:00"):
        defs_factory(nightly_at="02:15")


def test_schedules_start_stopped_and_the_failure_sensor_runs(defs_factory) -> None:
    from bsc_pipeline.defs.sensors import FAILURE_SENSOR, LANDING_SENSOR

    defs = defs_factory()
    for name in (NIGHTLY_SCHEDULE, CLOSE_SCHEDULE):
        assert defs.get_schedule_def(name).default_status == dg.DefaultScheduleStatus.STOPPED
    assert defs.get_sensor_def(LANDING_SENSOR).default_status == dg.DefaultSensorStatus.STOPPED
    assert defs.get_sensor_def(FAILURE_SENSOR).default_status == dg.DefaultSensorStatus.RUNNING


@pytest.mark.parametrize(
    ("at", "day", "expected"),
    [("04:30", 5, "30 6 5 * *"), ("23:10", 3, "10 3 3 * *"), ("00:00", 1, "0 3 1 * *")],
)
def test_close_cron_runs_after_the_nightly_and_outside_the_dst_window(
    at: str, day: int, expected: str
) -> None:
    assert close_cron(at, day) == expected


@pytest.mark.parametrize("day", [0, 29, 31])
def test_close_day_must_exist_in_every_month(day: int) -> None:
    with pytest.raises(ValueError, match="1–28"):
        close_cron("04:30", day)


def test_close_schedule_ticks_once_a_month_at_local_time_across_dst(defs_factory) -> None:
    schedule = defs_factory(timezone="Europe/Berlin").get_schedule_def(CLOSE_SCHEDULE)
    start = datetime(2025, 2, 20, tzinfo=ZoneInfo("Europe/Berlin"))
    ticks = _ticks(schedule, start, 3)
    assert [(t.month, t.day, t.hour, t.minute) for t in ticks] == [
        (3, 5, 6, 30),
        (4, 5, 6, 30),  # after the spring change: still 06:30 local
        (5, 5, 6, 30),
    ]
    assert ticks[0].utcoffset() != ticks[1].utcoffset()


def test_close_request_names_the_month_before_the_tick_once() -> None:
    request = close_request(datetime(2025, 1, 5, 6, 30, tzinfo=ZoneInfo("UTC")))
    assert request.run_config == {"ops": {"close_month": {"config": {"month": "2024-12"}}}}
    assert request.run_key == "close-2024-12"


def test_close_job_refuses_a_month_never_published(defs_factory) -> None:
    job = defs_factory().resolve_job_def(CLOSE_JOB)
    result = job.execute_in_process(
        run_config={"ops": {"close_month": {"config": {"month": "2025-02"}}}},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "never published" in failure.step_failure_data.error.message


def test_close_job_leaves_a_closed_month_closed(defs_factory, tiny_settings) -> None:
    _closed_warehouse(tiny_settings.warehouse_url, "2025-02")
    job = defs_factory().resolve_job_def(CLOSE_JOB)
    result = job.execute_in_process(
        run_config={"ops": {"close_month": {"config": {"month": "2025-02"}}}}
    )
    assert result.success
    assert result.output_for_node("close_month") == "2025-02"
