"""Closing freezes a month; reopening with a reason allows a restatement that both readings show."""

from __future__ import annotations

import pytest

from bsc_pipeline.warehouse.errors import PeriodClosedError, PeriodStateError
from bsc_pipeline.warehouse.period_close import (
    close_period,
    closed_months,
    period_state,
    reopen_period,
)
from bsc_pipeline.warehouse.publish import publish_month
from bsc_pipeline.warehouse.readings import read_readings

VALUES = {"revenue": 110.0, "churn_rate": 4.0}


def test_a_closed_month_is_refused_and_left_as_it_was(engine, publish_args, wh):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    assert close_period(engine, "2025-02") is True
    assert close_period(engine, "2025-02") is False
    before = wh.table_rows(engine, "fact_measure_period")

    with pytest.raises(PeriodClosedError, match="bsc period reopen --period 2025-02"):
        publish_month(engine, "2025-02", **publish_args("2025-02", {"revenue": 1.0}))

    assert wh.table_rows(engine, "fact_measure_period") == before
    assert period_state(engine, "2025-02") == "closed"


def test_closing_one_month_leaves_the_next_open(engine, publish_args):
    close_period(engine, "2025-02")
    publish_month(engine, "2025-03", **publish_args("2025-03", VALUES))
    assert period_state(engine, "2025-03") == "open"
    assert closed_months(engine) == {"2025-02"}
    reopen_period(engine, "2025-02", "late data")
    assert closed_months(engine) == set()


def test_closed_months_of_an_unmigrated_warehouse_is_empty(tmp_path):
    from bsc_pipeline.warehouse.engine import make_engine

    assert closed_months(make_engine(f"sqlite:///{tmp_path / 'empty.db'}")) == set()


def test_reopen_then_restate_records_the_reason_and_keeps_both_readings(engine, publish_args):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    close_period(engine, "2025-02")
    reopen_period(engine, "2025-02", "  late supplier invoices  ")

    restated = publish_args(
        "2025-02", {"revenue": 95.0, "churn_rate": 4.0}, status={"revenue": "amber"}
    )
    outcome = publish_month(engine, "2025-02", **restated)
    assert outcome.restatements == 3
    assert outcome.restatement_reason == "late supplier invoices"

    first = read_readings(engine, "2025-02", "first_reported").set_index("measure_id")
    latest = read_readings(engine, "2025-02", "restated").set_index("measure_id")
    assert first.loc["revenue", "value"] == 110.0 and first.loc["revenue", "status"] == "green"
    assert latest.loc["revenue", "value"] == 95.0 and latest.loc["revenue", "status"] == "amber"
    assert latest.loc["revenue", "restatement_reason"] == "late supplier invoices"
    assert latest.loc["revenue", "restatements"] == 1
    assert latest.loc["churn_rate", "restatements"] == 0
    assert first.loc["churn_rate", "value"] == latest.loc["churn_rate", "value"] == 4.0

    close_period(engine, "2025-02")
    with pytest.raises(PeriodClosedError):
        publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))


def test_an_explicit_reason_wins_over_the_reopen_reason(engine, publish_args):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    args = publish_args("2025-02", {"revenue": 90.0, "churn_rate": 4.0})
    outcome = publish_month(engine, "2025-02", **args, restatement_reason="FX rates corrected")
    assert outcome.restatement_reason == "FX rates corrected"
    latest = read_readings(engine, "2025-02", "restated", "quarter").set_index("measure_id")
    assert latest.loc["revenue", "restatement_reason"] == "FX rates corrected"
    assert latest.loc["revenue", "period"] == "FY2025-Q1"


@pytest.mark.parametrize("reason", ["", "   "])
def test_reopen_needs_a_reason(engine, reason):
    close_period(engine, "2025-02")
    with pytest.raises(PeriodStateError, match="needs a reason"):
        reopen_period(engine, "2025-02", reason)
    assert period_state(engine, "2025-02") == "closed"


def test_reopen_of_an_open_month_is_an_error(engine):
    with pytest.raises(PeriodStateError, match="not closed"):
        reopen_period(engine, "2025-02", "why not")


def test_month_text_is_checked(engine):
    with pytest.raises(ValueError, match="YYYY-MM"):
        close_period(engine, "2025-13")
