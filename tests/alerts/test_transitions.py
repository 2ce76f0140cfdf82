"""Which events a month creates: transitions per measure, judged on official rows only."""

from __future__ import annotations

import pandas as pd

from bsc_pipeline.alerts.transitions import data_owners, dedup_key, plan_events

EMPTY = pd.DataFrame(columns=["measure_id", "period_type", "period", "as_of_month", "status"])


def kinds(events):
    return {(e.measure_id, e.kind) for e in events}


def test_entering_red_alerts_the_measure_owner_with_the_why(spec, row, frame):
    current = frame(
        row("revenue", "2025-03", "red", 800.0, trend="down"),
        row("pipeline_coverage", "2025-03", "red", 1.5, target=3.0),
        row("win_rate", "2025-03", "amber", 20.0, target=25.0),
    )
    previous = frame(
        row("revenue", "2025-01", "green", 1100.0),
        row("revenue", "2025-02", "amber", 950.0),
        row("pipeline_coverage", "2025-02", "red", 1.7, target=3.0),
        row("win_rate", "2025-02", "amber", 21.0, target=25.0),
    )

    events = plan_events(spec, current, previous, run_id="run-1")

    # The driver was already red last month: by default it repeats once per period.
    assert kinds(events) == {("revenue", "red"), ("pipeline_coverage", "repeat")}
    event = next(e for e in events if e.measure_id == "revenue")
    assert event.recipient == "sales_lead"
    assert event.dedup_key == "revenue/2025-03/red"
    assert event.previous_status == "amber"
    p = event.payload
    assert (p["value"], p["target"], p["variance"], p["trend"]) == (800.0, 1000.0, -200.0, "down")
    assert [h["period"] for h in p["history"]] == ["2025-01", "2025-02", "2025-03"]
    assert p["drivers"] == [
        {
            "measure_id": "pipeline_coverage",
            "measure_name": "Pipeline coverage",
            "unit": "x",
            "decimals": 1,
            "lag_months": 2,
            "period": "2025-03",
            "status": "red",
            "value": 1.5,
            "target": 3.0,
        }
    ]
    assert [(o["measure_id"], o["status"]) for o in p["outcomes"]] == [("win_rate", "amber")]
    assert p["run_id"] == "run-1" and p["where"] == "v_scorecard_monthly"
    assert p["red_since"] == "2025-03"


def test_red_since_is_the_first_period_of_the_current_streak(spec, row, frame):
    previous = frame(
        row("revenue", "2024-12", "red", 700.0),
        row("revenue", "2025-01", "green", 1100.0),
        row("revenue", "2025-02", "red", 800.0),
        row("revenue", "2025-03", "held", None),
        row("revenue", "2025-04", "red", 850.0),
    )
    current = frame(row("revenue", "2025-05", "red", 820.0))

    (event,) = plan_events(spec, current, previous, run_id="r")

    # Held data neither ends the streak nor starts it; the green January does.
    assert (event.kind, event.payload["red_since"]) == ("repeat", "2025-02")


def test_first_ever_red_alerts(spec, row, frame):
    events = plan_events(spec, frame(row("revenue", "2025-03", "red", 1.0)), EMPTY, run_id="r")
    assert kinds(events) == {("revenue", "red")}


def test_still_red_repeats_once_per_period_by_default(spec, row, frame):
    previous = frame(row("revenue", "2025-03", "red", 800.0))
    current = frame(row("revenue", "2025-04", "red", 790.0))

    events = plan_events(spec, current, previous, run_id="r")

    assert [(e.kind, e.dedup_key) for e in events] == [("repeat", "revenue/2025-04/red")]


def test_still_red_repeats_only_after_the_configured_interval(spec_with, row, frame):
    spec = spec_with(repeat_after_periods=3)
    last = {"revenue": "2025-03"}

    def plan(month: str, before: str):
        current = frame(row("revenue", month, "red", 800.0))
        previous = frame(row("revenue", before, "red", 800.0))
        return plan_events(spec, current, previous, run_id="r", last_red_alert=last)

    assert plan("2025-04", "2025-03") == []
    assert plan("2025-05", "2025-04") == []
    assert kinds(plan("2025-06", "2025-05")) == {("revenue", "repeat")}


def test_same_period_rerun_of_a_red_month_creates_the_same_key(spec, row, frame):
    current = frame(row("revenue", "2025-03", "red", 800.0))
    previous = frame(row("revenue", "2025-02", "green", 1200.0))

    first = plan_events(spec, current, previous, run_id="a")
    second = plan_events(spec, current, previous, run_id="b")

    assert [e.dedup_key for e in first] == [e.dedup_key for e in second]
    assert first[0].event_id == second[0].event_id


def test_leaving_red_is_a_recovery_to_the_measure_owner(spec, row, frame):
    previous = frame(row("revenue", "2025-03", "red", 800.0))
    current = frame(row("revenue", "2025-04", "amber", 950.0))

    events = plan_events(spec, current, previous, run_id="r")

    assert [(e.kind, e.recipient, e.dedup_key) for e in events] == [
        ("recovery", "sales_lead", "revenue/2025-04/recovery")
    ]


def test_green_to_amber_and_green_to_green_say_nothing(spec, row, frame):
    previous = frame(
        row("revenue", "2025-03", "green", 1100.0), row("win_rate", "2025-03", "green")
    )
    current = frame(row("revenue", "2025-04", "amber", 950.0), row("win_rate", "2025-04", "green"))
    assert plan_events(spec, current, previous, run_id="r") == []


def test_held_goes_to_the_data_owner_and_does_not_end_a_red_streak(spec, row, frame):
    previous = frame(row("revenue", "2025-03", "red", 800.0))
    held = frame(row("revenue", "2025-04", "held", data_note="gate failed: gl_lines 2025-04"))

    events = plan_events(spec, held, previous, run_id="r")

    assert [(e.kind, e.recipient) for e in events] == [("held", "finance_data")]
    assert events[0].payload["data_note"] == "gate failed: gl_lines 2025-04"

    # Back to red after the hold: still the same red streak, not a new "entering red".
    back = frame(row("revenue", "2025-05", "red", 780.0))
    later = plan_events(spec, back, pd.concat([previous, held]), run_id="r")
    assert kinds(later) == {("revenue", "repeat")}


def test_no_data_goes_to_the_owner_of_the_data_behind_a_ratio(spec, row, frame):
    previous = frame(row("win_rate", "2025-03", "green", 30.0))
    current = frame(row("win_rate", "2025-04", "no_data", data_note="zero denominator"))

    events = plan_events(spec, current, previous, run_id="r")

    # win_rate = pipeline_coverage (opportunities) / revenue (gl_lines): first source's owner.
    assert [(e.kind, e.recipient) for e in events] == [("no_data", "crm_data")]


def test_a_measure_that_never_had_a_value_raises_no_no_data_alert(spec, row, frame):
    # Growth against last year has no value in its first year: that is not news to anyone.
    current = frame(row("win_rate", "2025-04", "no_data", data_note="no prior year"))
    assert plan_events(spec, current, EMPTY, run_id="r") == []


def test_a_source_not_started_yet_raises_no_no_data_alert(spec, row, frame):
    # A measure reading two sources was judged on the older one alone before (a restated
    # history); a month before the newer source started has no data by nature, not by fault.
    previous = frame(row("win_rate", "2025-03", "green", 30.0))
    note = "no numerator (pipeline_coverage: source not started: opportunities starts 2025-05)"
    current = frame(row("win_rate", "2025-04", "no_data", data_note=note))
    current = current.assign(data_state="not_started")
    assert plan_events(spec, current, previous, run_id="r") == []
    missing = frame(row("win_rate", "2025-04", "no_data")).assign(data_state="no_data")
    assert [e.kind for e in plan_events(spec, missing, previous, run_id="r")] == ["no_data"]


def test_data_owner_mapping_given_by_the_caller_wins(spec, row, frame):
    current = frame(row("revenue", "2025-04", "held"))
    events = plan_events(spec, current, EMPTY, run_id="r", data_owner_for={"revenue": "engineers"})
    assert events[0].recipient == "engineers"


def test_data_owners_follow_ratios_to_their_datasets(spec):
    assert data_owners(spec) == {
        "revenue": "finance_data",
        "pipeline_coverage": "crm_data",
        "win_rate": "crm_data",
        "nps": "crm_data",
        "orphan": "finance_data",
    }


def test_quarterly_measure_ignores_month_to_date_and_alerts_at_quarter_close(spec, row, frame):
    previous = frame(
        row(
            "nps",
            "FY2025-Q1",
            "green",
            40.0,
            target=30,
            period_type="quarter",
            as_of_month="2025-03",
        )
    )
    wobble = frame(
        row("nps", "2025-05", "red", 10.0, target=30),
        row(
            "nps",
            "FY2025-Q2",
            "red",
            12.0,
            target=30,
            period_type="quarter",
            as_of_month="2025-05",
            is_partial=True,
        ),
    )
    assert plan_events(spec, wobble, previous, run_id="r") == []

    closed = frame(
        row("nps", "2025-06", "red", 10.0, target=30),
        row(
            "nps", "FY2025-Q2", "red", 12.0, target=30, period_type="quarter", as_of_month="2025-06"
        ),
    )
    events = plan_events(spec, closed, previous, run_id="r")
    assert [(e.kind, e.dedup_key, e.recipient) for e in events] == [
        ("red", "nps/FY2025-Q2/red", "ops")
    ]


def test_quarterly_repeat_counts_quarters(spec_with, row, frame):
    spec = spec_with(repeat_after_periods=2)

    def plan(quarter: str, before: str):
        current = frame(row("nps", quarter, "red", 1.0, period_type="quarter"))
        previous = frame(row("nps", before, "red", 1.0, period_type="quarter"))
        return plan_events(spec, current, previous, run_id="r", last_red_alert={"nps": "FY2025-Q1"})

    assert plan("FY2025-Q2", "FY2025-Q1") == []
    assert kinds(plan("FY2025-Q3", "FY2025-Q2")) == {("nps", "repeat")}


def test_restatement_turning_a_closed_month_red_alerts_and_says_so(spec, row, frame):
    published = frame(
        row("revenue", "2025-02", "red", 700.0),
        row("revenue", "2025-03", "green", 1050.0),
    )
    restated = frame(row("revenue", "2025-03", "red", 820.0))

    events = plan_events(spec, restated, published, run_id="r", is_restatement=True)

    # Compared with the old version of March (green), not with February (red): a new red.
    assert [(e.kind, e.is_restatement, e.previous_status) for e in events] == [
        ("red", True, "green")
    ]
    assert events[0].payload["is_restatement"] is True


def test_restatement_that_keeps_a_month_red_says_nothing(spec, row, frame):
    published = frame(row("revenue", "2025-03", "red", 800.0))
    restated = frame(row("revenue", "2025-03", "red", 810.0))
    assert plan_events(spec, restated, published, run_id="r", is_restatement=True) == []


def test_owner_without_contact_is_still_the_recipient_and_missing_owner_falls_back(
    spec_with, row, frame
):
    spec = spec_with()
    events = plan_events(spec, frame(row("orphan", "2025-03", "red", 1.0)), EMPTY, run_id="r")
    assert events[0].recipient == "nobody"  # routing to a fallback happens at delivery


def test_dedup_key_shares_red_between_red_and_repeat():
    assert dedup_key("revenue", "2025-03", "repeat") == dedup_key("revenue", "2025-03", "red")
    assert dedup_key("revenue", "2025-03", "recovery") == "revenue/2025-03/recovery"


def test_plans_from_frames_scored_by_the_scoring_package(spec):
    from bsc_pipeline.scoring.status import score_measures

    def values(measure_id, period_type, period, end, value, target, partial=False):
        return {
            "measure_id": measure_id,
            "period_type": period_type,
            "period": period,
            "period_start": pd.Timestamp("2025-01-01"),
            "period_end": pd.Timestamp(end),
            "as_of_month": "2025-03",
            "is_partial": partial,
            "value": value,
            "target": target,
            "target_high": float("nan"),
            "green_bound": 1.0,
            "amber_bound": 0.9,
            "threshold_basis": "relative",
            "prior_period_value": float("nan"),
            "data_state": "complete",
            "data_note": None,
        }

    scored = score_measures(
        spec,
        pd.DataFrame(
            [
                # 800 is below 90 % of 1000: red.
                values("revenue", "month", "2025-03", "2025-04-01", 800.0, 1000.0),
                values("revenue", "quarter", "FY2025-Q1", "2025-04-01", 2900.0, 3000.0),
                # A quarterly measure: its month row is not official, its closed quarter is.
                values("nps", "month", "2025-03", "2025-04-01", 10.0, 30.0),
                values("nps", "quarter", "FY2025-Q1", "2025-04-01", 20.0, 30.0),
            ]
        ),
    )

    events = plan_events(spec, scored, EMPTY, run_id="r")

    assert sorted((e.measure_id, e.period, e.kind) for e in events) == [
        ("nps", "FY2025-Q1", "red"),
        ("revenue", "2025-03", "red"),
    ]
    revenue = next(e for e in events if e.measure_id == "revenue")
    assert (revenue.payload["variance"], revenue.payload["variance_pct"]) == (-200.0, -20.0)


def test_state_events_tell_each_owner_where_every_measure_stands(spec, row, frame):
    from bsc_pipeline.alerts.transitions import state_events

    previous = frame(
        row("revenue", "2025-10", "green", 1000.0),
        row("revenue", "2025-11", "red", 700.0),
        row("nps", "FY2025-Q3", "amber", 15.0, period_type="quarter", as_of_month="2025-09"),
    )
    current = frame(
        row("revenue", "2025-12", "red", 650.0),
        row("pipeline_coverage", "2025-12", "green", 3.5, target=3.0),
        row("win_rate", "2025-12", "amber", 20.0, target=25.0),
        # Quarter-to-date: not official, so NPS stands at its last complete quarter.
        row("nps", "FY2025-Q4", "red", 5.0, period_type="quarter", is_partial=True),
    )

    events = state_events(spec, current, previous, month="2025-12", run_id="r")

    by_owner = {e.recipient: e for e in events}
    assert set(by_owner) == {"sales_lead", "ops"}
    assert {e.dedup_key for e in events} == {"state/sales_lead/2025-12", "state/ops/2025-12"}
    sales = [
        (m["measure_id"], m["status"], m["red_since"])
        for m in by_owner["sales_lead"].payload["measures"]
    ]
    assert sales == [("revenue", "red", "2025-11"), ("pipeline_coverage", "green", None)]
    ops = {
        m["measure_id"]: (m["period"], m["status"], m["unit"])
        for m in by_owner["ops"].payload["measures"]
    }
    assert ops == {"win_rate": ("2025-12", "amber", "%"), "nps": ("FY2025-Q3", "amber", "score")}
