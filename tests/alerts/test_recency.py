"""News or history: which publications tell their owners, by the rules of docs/alerts.md."""

from __future__ import annotations

from datetime import date

import pytest

from bsc_pipeline.alerts.recency import Present, is_historical

# The demo's situation: data through 2026-10, run on 2026-12-01.
DEMO_DAY = date(2026, 12, 1)


def historical(month, present, newest=None, restatement=False):
    return is_historical(month, present, newest_published=newest, is_restatement=restatement)


def test_a_backfill_speaks_only_of_its_newest_month():
    present = Present(DEMO_DAY, backfill_through="2026-10")
    assert historical("2026-09", present, newest="2026-08")
    assert historical("2023-11", present)
    assert not historical("2026-10", present, newest="2026-09")


def test_the_newest_month_of_a_backfill_is_news_however_old_its_data():
    years_later = Present(date(2030, 1, 1), backfill_through="2026-10")
    assert not historical("2026-10", years_later, newest="2026-09")


def test_a_backfill_of_old_history_behind_live_months_is_all_history():
    present = Present(DEMO_DAY, backfill_through="2024-12")
    assert historical("2024-12", present, newest="2026-11")


def test_outside_a_backfill_a_month_is_news_until_45_days_after_its_end():
    # 2026-10 ends on 2026-11-01 (exclusive end); 45 days later is 2026-12-16.
    assert not historical("2026-10", Present(date(2026, 12, 16)), newest="2026-11")
    assert historical("2026-10", Present(date(2026, 12, 17)), newest="2026-11")
    # The nightly run's months, this one and the last, are always news.
    assert not historical("2026-11", Present(DEMO_DAY), newest="2026-12")


def test_the_age_limit_is_a_setting():
    assert historical("2026-10", Present(DEMO_DAY, max_age_days=20))
    assert not historical("2026-10", Present(DEMO_DAY, max_age_days=30))


@pytest.mark.parametrize("backfill_through", [None, "2026-10"])
def test_a_restatement_of_a_closed_month_is_always_news(backfill_through):
    present = Present(DEMO_DAY, backfill_through=backfill_through)
    assert not historical("2024-02", present, newest="2026-10", restatement=True)


def test_wall_clock_today_is_in_the_scorecard_timezone():
    present = Present.wall_clock("Pacific/Kiritimati", 45)
    assert present.max_age_days == 45 and present.backfill_through is None
    assert isinstance(present.today, date)
