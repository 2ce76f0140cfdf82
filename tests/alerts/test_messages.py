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


def test_digest_links_the_owners_page_of_the_briefing_book():
    message = render_digest(OWNER, [red_event()], scorecard="Acme", run_id="run-7")

    line = "bsc report --period 2025-03 --owner sales_lead"
    assert line in message.text
    assert line in message.html
