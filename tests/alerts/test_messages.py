"""Digests say what changed, by how much, why, and where to look; HTML is escaped."""

from __future__ import annotations

from bsc_pipeline.alerts.messages import render_digest
from bsc_pipeline.alerts.transitions import AlertEvent
from bsc_pipeline.spec.models import Owner

OWNER = Owner(id="sales_lead", name="Sam Sales", email="sam@example.test")


def red_event(**payload):
    base = {
        "measure_name": "Gross margin",
        "unit": "%",
        "decimals": 1,
        "period": "2025-03",
        "as_of_month": "2025-03",
        "value": 31.25,
        "target": 35.0,
        "target_high": None,
        "variance": -3.75,
        "variance_pct": -10.714,
        "trend": "down",
        "previous_period": "2025-02",
        "history": [
            {"period": "2025-02", "value": 34.0, "status": "amber"},
            {"period": "2025-03", "value": 31.25, "status": "red"},
        ],
        "drivers": [
            {
                "measure_id": "discount_rate",
                "measure_name": "Discount rate",
                "status": "red",
                "value": 12.0,
                "lag_months": 1,
            },
        ],
        "outcomes": [
            {
                "measure_id": "ebitda",
                "measure_name": "EBITDA",
                "status": "amber",
                "value": None,
                "lag_months": 0,
            },
        ],
    }
    base.update(payload)
    return AlertEvent(
        dedup_key="gross_margin/2025-03/red",
        kind="red",
        recipient="sales_lead",
        run_id="run-7",
        measure_id="gross_margin",
        period="2025-03",
        status="red",
        previous_status="amber",
        payload=base,
    )


def test_digest_names_measure_period_actual_target_variance_trend_and_links():
    message = render_digest(OWNER, [red_event()], scorecard="Acme", run_id="run-7")

    text = message.text
    assert "RED: Gross margin — 2025-03" in text
    assert "Actual 31.2 % vs target 35.0 % (variance -3.8 %, -10.7 % of target, trend down)" in text
    assert "Recent periods: 2025-02 34.0 % (amber); 2025-03 31.2 % (red)" in text
    assert "Why — drivers: Discount rate is red, 12.0, lag 1 mo" in text
    assert "Puts at risk — outcomes: EBITDA is amber" in text
    assert "v_scorecard_monthly" in text and "Dagster run run-7" in text
    assert "Previously amber (2025-02)" in text
    assert message.subject == "[Acme] 1 red"
    assert message.dedup_keys == ("gross_margin/2025-03/red",)
    assert message.body["events"][0]["dedup_key"] == "gross_margin/2025-03/red"


def test_missing_value_says_so_and_is_never_zero():
    message = render_digest(
        OWNER, [red_event(value=None, variance=None, variance_pct=None)], scorecard="A", run_id=None
    )
    assert "Actual no value vs target 35.0 %" in message.text
    assert "Actual 0" not in message.text


def test_html_escapes_names_from_the_spec():
    event = red_event(measure_name="<script>alert(1)</script> & co")
    message = render_digest(OWNER, [event], scorecard="Acme", run_id="r")
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in message.html
    assert "<script>alert(1)</script> & co" in message.text


def test_restatement_is_said_in_the_headline():
    event = red_event()
    restated = AlertEvent(**{**event.__dict__, "is_restatement": True})
    message = render_digest(OWNER, [restated], scorecard="Acme", run_id="r")
    assert "RED: Gross margin — 2025-03 (restatement of a closed period)" in message.text
    assert message.subject == "[Acme] 1 red (restatement)"
    assert message.body["events"][0]["is_restatement"] is True


def test_linked_measures_read_in_their_own_unit_and_decimals():
    driver = {
        "measure_id": "training_hours_per_employee",
        "measure_name": "Training hours per employee",
        "unit": "hours",
        "decimals": 1,
        "status": "red",
        "value": 9.0,
        "lag_months": 1,
    }
    outcome = {
        "measure_id": "revenue",
        "measure_name": "Revenue",
        "unit": "EUR",
        "decimals": 0,
        "status": "amber",
        "value": 1234567.4,
        "lag_months": 0,
    }
    event = red_event(drivers=[driver], outcomes=[outcome], unit="per_100_customers")
    text = render_digest(OWNER, [event], scorecard="Acme", run_id="r").text
    assert "Training hours per employee is red, 9.0 hours, lag 1 mo" in text
    assert "Revenue is amber, 1,234,567 EUR" in text
    assert "Actual 31.2 per 100 customers vs target 35.0 per 100 customers" in text


def test_digest_opens_with_what_is_red_now_and_since_when():
    still = AlertEvent(
        **{
            **red_event().__dict__,
            "kind": "repeat",
            "dedup_key": "gross_margin/2025-03/red",
            "previous_status": "red",
            "payload": {**red_event().payload, "red_since": "2024-11"},
        }
    )
    message = render_digest(OWNER, [still], scorecard="Acme", run_id="r")
    lines = message.text.splitlines()
    assert lines[0] == "Hello Sam Sales, 1 item you look after needs your attention as of 2025-03."
    assert lines[1] == "Red now: Gross margin since 2024-11."
    assert "STILL RED: Gross margin — 2025-03" in message.text
    assert "  Red since 2024-11." in message.text
    assert "<strong>Red now: Gross margin since 2024-11.</strong>" in message.html


def test_a_state_only_digest_says_where_the_measures_stand():
    state = AlertEvent(
        dedup_key="state/sales_lead/2025-12",
        kind="state",
        recipient="sales_lead",
        run_id="r",
        period="2025-12",
        payload={
            "as_of_month": "2025-12",
            "measures": [
                {
                    "measure_name": "Revenue",
                    "unit": "EUR",
                    "decimals": 0,
                    "period": "2025-12",
                    "status": "red",
                    "value": 1250.4,
                    "target": 1000.0,
                    "target_high": None,
                    "red_since": "2025-10",
                },
                {
                    "measure_name": "Headcount",
                    "unit": "people",
                    "decimals": 0,
                    "period": "2025-12",
                    "status": "no_data",
                    "value": None,
                    "target": 285.0,
                    "target_high": 375.0,
                    "red_since": None,
                },
            ],
        },
    )
    message = render_digest(OWNER, [state], scorecard="Acme", run_id="r")
    assert message.subject == "[Acme] where your measures stand as of 2025-12"
    assert message.text.startswith(
        "Hello Sam Sales, here is where the measures you look after stand as of 2025-12."
    )
    assert "WHERE YOUR MEASURES STAND — 2025-12" in message.text
    assert "Revenue (2025-12): red since 2025-10, 1,250 EUR vs target 1,000 EUR." in message.text
    assert "Headcount (2025-12): no data, no value vs target 285 to 375 people." in message.text


def test_digest_links_the_owners_page_of_the_briefing_book():
    message = render_digest(OWNER, [red_event()], scorecard="Acme", run_id="run-7")

    line = "bsc report --period 2025-03 --owner sales_lead"
    assert line in message.text
    assert line in message.html
