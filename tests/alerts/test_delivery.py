"""Delivery through a real local SMTP server and a real local HTTP server: no transport mocks."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from bsc_pipeline.alerts import outbox
from bsc_pipeline.alerts.channels import EmailChannel, SmtpConfig, WebhookChannel
from bsc_pipeline.alerts.delivery import RetryPolicy, deliver_pending, notify_pipeline_failure
from bsc_pipeline.alerts.transitions import plan_events
from bsc_pipeline.warehouse.schema import alert_delivery, alert_event

# The test server allows AUTH without TLS (loopback only); aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

FAST = 0.01
EMPTY = pd.DataFrame(columns=["measure_id", "period_type", "period", "as_of_month", "status"])


def publish(engine, spec, current, previous, run_id="run-1", **kw):
    """What publishing does: plan events and write them in one transaction."""
    events = plan_events(spec, current, previous, run_id=run_id, **kw)
    with engine.begin() as connection:
        return outbox.write_events(connection, events)


def states(engine):
    with engine.connect() as c:
        return dict(c.execute(sa.select(alert_event.c.dedup_key, alert_event.c.state)).all())


def test_red_sends_one_digest_and_the_same_red_next_run_sends_nothing(
    engine, spec, channels, smtp, row, frame
):
    current = frame(
        row("revenue", "2025-03", "red", 800.0, trend="down"),
        row("pipeline_coverage", "2025-03", "red", 1.5, target=3.0),
    )
    previous = frame(
        row("revenue", "2025-02", "green", 1100.0),
        row("pipeline_coverage", "2025-02", "green", 3.5, target=3.0),
    )
    publish(engine, spec, current, previous)

    summary = deliver_pending(engine, spec, channels=channels, backoff_base=FAST)

    mails = smtp.mailbox.to("sam@example.test")
    assert len(smtp.mailbox.mails) == len(mails) == 1  # both measures in one digest
    mail = mails[0]
    assert mail.get_all("X-BSC-Dedup-Key") == [
        "revenue/2025-03/red",
        "pipeline_coverage/2025-03/red",
    ]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for needle in ("Revenue", "2025-03", "800 EUR", "1,000 EUR", "-200 EUR", "trend down"):
        assert needle in text
    assert "Pipeline coverage is red" in text  # the driver named as the why
    assert "v_scorecard_monthly" in text and "run-1" in text
    assert "Pipeline coverage is red" in html
    assert summary.delivered == 2 and summary.digests_sent == 1
    assert set(states(engine).values()) == {"delivered"}

    # The same month published again, then delivered again: nothing new.
    assert publish(engine, spec, current, previous, run_id="run-2") == []
    again = deliver_pending(engine, spec, channels=channels, backoff_base=FAST)
    assert again.attempts == 0 and len(smtp.mailbox.mails) == 1


def test_still_red_next_month_within_the_interval_is_silent_and_recovery_sends_one_notice(
    engine, spec_with, channels, smtp, row, frame
):
    spec = spec_with(repeat_after_periods=2)
    march = frame(row("revenue", "2025-03", "red", 800.0))
    publish(engine, spec, march, frame(row("revenue", "2025-02", "green", 1100.0)))
    deliver_pending(engine, spec, channels=channels, backoff_base=FAST)
    assert len(smtp.mailbox.mails) == 1

    april = frame(row("revenue", "2025-04", "red", 810.0))
    last = outbox.last_red_alerts(engine)
    assert publish(engine, spec, april, march, last_red_alert=last) == []
    deliver_pending(engine, spec, channels=channels, backoff_base=FAST)
    assert len(smtp.mailbox.mails) == 1

    may = frame(row("revenue", "2025-05", "green", 1200.0))
    publish(engine, spec, may, april, last_red_alert=outbox.last_red_alerts(engine))
    deliver_pending(engine, spec, channels=channels, backoff_base=FAST)

    assert len(smtp.mailbox.mails) == 2
    notice = smtp.mailbox.mails[1]
    assert notice["X-BSC-Dedup-Key"] == "revenue/2025-05/recovery"
    assert "RECOVERED: Revenue" in notice.get_body(("plain",)).get_content()


def test_held_goes_to_the_data_owner_only(engine, spec, channels, smtp, row, frame):
    held = frame(row("revenue", "2025-04", "held", data_note="gate failed: gl_lines 2025-04"))
    publish(engine, spec, held, frame(row("revenue", "2025-03", "red", 800.0)))

    deliver_pending(engine, spec, channels=channels, backoff_base=FAST)

    assert [m["X-Envelope-To"] for m in smtp.mailbox.mails] == ["fay@example.test"]
    text = smtp.mailbox.mails[0].get_body(("plain",)).get_content()
    assert "HELD: Revenue" in text and "gate failed: gl_lines 2025-04" in text


def test_webhook_500_then_429_then_200_is_one_notification_with_three_attempts(
    engine, spec, channels, web, row, frame, monkeypatch
):
    monkeypatch.setenv("BSC_TEST_CRM_WEBHOOK", web.url("/hooks/crm/T0KEN"))
    web.script["/hooks/crm/T0KEN"] = [500, 429]
    publish(engine, spec, frame(row("pipeline_coverage", "2025-03", "held")), EMPTY)

    summary = deliver_pending(engine, spec, channels=channels, backoff_base=FAST)

    requests = web.to("/hooks/crm/T0KEN")
    assert len(requests) == 3
    assert {r.headers["x-bsc-dedup-key"] for r in requests} == {"pipeline_coverage/2025-03/held"}
    assert requests[-1].body["dedup_keys"] == ["pipeline_coverage/2025-03/held"]
    assert requests[-1].body["events"][0]["kind"] == "held"
    assert summary.delivered == 1 and summary.attempts == 3
    (event_id,) = [s.event_id for s in outbox.list_events(engine)]
    tries = outbox.attempts(engine, event_id)
    assert [(t["attempt"], t["channel"], t["outcome"]) for t in tries] == [
        (1, "webhook", "error"),
        (2, "webhook", "error"),
        (3, "webhook", "ok"),
    ]
    assert [t["detail"].split(" ")[:2] for t in tries[:2]] == [["HTTP", "500"], ["HTTP", "429"]]
    # The URL is a secret: only its host is recorded.
    assert {t["target"] for t in tries} == {"http://127.0.0.1/***"}
    assert states(engine) == {"pipeline_coverage/2025-03/held": "delivered"}


def test_slack_receives_the_digest_text_with_the_dedup_key(
    engine, spec, channels, web, row, frame, monkeypatch
):
    monkeypatch.setenv("BSC_TEST_OPS_SLACK", web.url("/slack/ops"))
    publish(engine, spec, frame(row("win_rate", "2025-03", "red", 10.0, target=25.0)), EMPTY)

    deliver_pending(engine, spec, channels=channels, backoff_base=FAST)

    (request,) = web.to("/slack/ops")
    assert "RED: Win rate — 2025-03" in request.body["text"]
    assert "win_rate/2025-03/red" in request.body["text"]
    assert "Revenue is" in request.body["text"]  # its driver, with no row this month
    assert request.body["dedup_keys"] == ["win_rate/2025-03/red"]


def test_a_failing_channel_keeps_the_event_pending_then_dead_letters_after_the_give_up_time(
    engine, spec, channels, smtp, web, row, frame, monkeypatch
):
    secret_url = web.url("/hooks/crm/SECRET-123")
    monkeypatch.setenv("BSC_TEST_CRM_WEBHOOK", secret_url)
    web.script["/hooks/crm/SECRET-123"] = [503] * 10
    publish(engine, spec, frame(row("pipeline_coverage", "2025-03", "held")), EMPTY)
    start = datetime.now(UTC)
    policy = RetryPolicy(give_up_after=timedelta(hours=24), base=timedelta(minutes=1))

    first = deliver_pending(
        engine, spec, channels=channels, backoff_base=FAST, now=lambda: start, policy=policy
    )

    assert len(web.to("/hooks/crm/SECRET-123")) == spec.alerts.max_attempts == 3
    assert first.dead == 0 and first.rescheduled == 1 and first.still_pending == 1
    (stored,) = outbox.list_events(engine)
    assert stored.state == "pending" and stored.attempts == 1
    with engine.connect() as c:
        next_at, last_error = c.execute(
            sa.select(alert_event.c.next_attempt_at, alert_event.c.last_error)
        ).one()
    assert next_at == start + timedelta(minutes=1) and "HTTP 503" in last_error

    # Not due yet: nothing is sent; due: a second round doubles the wait.
    assert (
        deliver_pending(
            engine, spec, channels=channels, backoff_base=FAST, now=lambda: start, policy=policy
        ).attempts
        == 0
    )
    later = start + timedelta(minutes=1)
    deliver_pending(
        engine, spec, channels=channels, backoff_base=FAST, now=lambda: later, policy=policy
    )
    with engine.connect() as c:
        assert c.execute(sa.select(alert_event.c.next_attempt_at)).scalar() == later + timedelta(
            minutes=2
        )
    assert not smtp.mailbox.to("eng@example.test")

    # A day later the event is given up and the engineers are told, once.
    day_later = start + timedelta(hours=25)
    summary = deliver_pending(
        engine, spec, channels=channels, backoff_base=FAST, now=lambda: day_later, policy=policy
    )
    assert summary.dead == 1 and summary.dead_letters == 1
    assert states(engine) == {
        "pipeline_coverage/2025-03/held": "dead",
        next(k for k in states(engine) if k.startswith("dead_letter/")): "delivered",
    }
    (mail,) = smtp.mailbox.to("eng@example.test")
    text = mail.get_body(("plain",)).get_content()
    assert "UNDELIVERED ALERT: pipeline_coverage/2025-03/held" in text
    assert "crm_data" in text and "HTTP 503" in text
    assert "SECRET-123" not in mail.as_string()
    with engine.connect() as c:
        stored_text = " ".join(
            str(v) for r in c.execute(sa.select(alert_delivery)).all() for v in r
        )
        events = " ".join(str(v) for r in c.execute(sa.select(alert_event)).all() for v in r)
    assert "SECRET-123" not in stored_text and "SECRET-123" not in events

    # Nothing is retried once dead, and the engineers are not told again.
    assert (
        deliver_pending(
            engine, spec, channels=channels, backoff_base=FAST, now=lambda: day_later, policy=policy
        ).attempts
        == 0
    )
    assert len(smtp.mailbox.to("eng@example.test")) == 1


def test_a_permanent_http_error_gives_up_at_once(
    engine, spec, channels, smtp, web, row, frame, monkeypatch
):
    monkeypatch.setenv("BSC_TEST_CRM_WEBHOOK", web.url("/gone"))
    web.script["/gone"] = [404] * 5
    publish(engine, spec, frame(row("pipeline_coverage", "2025-03", "held")), EMPTY)

    summary = deliver_pending(engine, spec, channels=channels, backoff_base=FAST)

    assert len(web.to("/gone")) == 1
    assert summary.dead == 1 and len(smtp.mailbox.to("eng@example.test")) == 1


def test_owner_without_a_channel_is_reached_through_the_fallback(
    engine, spec, channels, smtp, row, frame
):
    publish(engine, spec, frame(row("orphan", "2025-03", "red", 1.0, target=5.0)), EMPTY)

    deliver_pending(engine, spec, channels=channels, backoff_base=FAST)

    (mail,) = smtp.mailbox.mails
    assert mail["X-Envelope-To"] == "help@example.test"
    assert "(for No Contact)" in mail["Subject"]


def test_smtp_login_uses_the_configured_credentials(engine, spec, smtp, row, frame):
    publish(engine, spec, frame(row("revenue", "2025-03", "red", 1.0)), EMPTY)
    config = smtp.config(user="alerts", password="s3cret-smtp-pass")
    authed = EmailChannel(type(config)(**{**config.__dict__, "port": smtp.auth_port}))

    deliver_pending(engine, spec, channels=[authed], backoff_base=FAST)

    assert smtp.mailbox.logins == ["alerts"] and len(smtp.mailbox.mails) == 1


def test_wrong_smtp_password_is_recorded_without_the_password(engine, spec_with, smtp, row, frame):
    spec = spec_with(max_attempts=1)
    publish(engine, spec, frame(row("revenue", "2025-03", "red", 1.0)), EMPTY)
    config = smtp.config(user="alerts", password="wrong-pass-xyz")
    authed = EmailChannel(type(config)(**{**config.__dict__, "port": smtp.auth_port}))

    summary = deliver_pending(engine, spec, channels=[authed], backoff_base=FAST)

    # 535 is permanent: one attempt, given up; the engineers' dead letter fails the same way.
    assert summary.failed_attempts == 2 and summary.dead == 2 and not smtp.mailbox.mails
    with engine.connect() as c:
        details = [d for (d,) in c.execute(sa.select(alert_delivery.c.detail))]
    assert all(d.startswith("SMTP 535") for d in details)
    assert all("wrong-pass-xyz" not in d for d in details)
    assert "wrong-pass-xyz" not in repr(config)


def test_pipeline_failure_reaches_the_engineers_once_per_run(engine, spec, channels, smtp):
    for _ in range(2):  # the sensor may fire twice for one run
        notify_pipeline_failure(
            engine,
            spec,
            run_id="dagster-run-42",
            job_name="monthly_scorecard",
            error="GateFailed: gl_lines 2025-03",
            channels=channels,
            backoff_base=FAST,
        )

    (mail,) = smtp.mailbox.mails
    assert mail["X-Envelope-To"] == "eng@example.test"
    assert mail["X-BSC-Dedup-Key"] == "pipeline_failure/dagster-run-42"
    text = mail.get_body(("plain",)).get_content()
    assert "monthly_scorecard" in text and "dagster-run-42" in text and "GateFailed" in text


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import sqlalchemy as sa
    from bsc_pipeline.alerts.channels import EmailChannel, SmtpConfig
    from bsc_pipeline.alerts.delivery import deliver_pending
    from bsc_pipeline.spec.models import Spec

    class KilledAfterSend(EmailChannel):
        def send(self, target, message):
            super().send(target, message)
            os.kill(os.getpid(), signal.SIGKILL)  # after the send, before it is recorded

    db, spec_json, port = sys.argv[1:]
    spec = Spec.model_validate_json(open(spec_json).read())
    channel = KilledAfterSend(SmtpConfig(host="127.0.0.1", port=int(port)))
    deliver_pending(sa.create_engine(f"sqlite:///{db}"), spec, channels=[channel])
    """
)


def test_crash_between_send_and_record_duplicates_once_with_the_same_key(
    engine, spec, channels, smtp, row, frame, tmp_path: Path
):
    publish(engine, spec, frame(row("revenue", "2025-03", "red", 800.0)), EMPTY)
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    spec_json = tmp_path / "spec.json"
    spec_json.write_text(spec.model_dump_json())
    db = engine.url.database

    done = subprocess.run(
        [sys.executable, str(script), db, str(spec_json), str(smtp.port)],
        capture_output=True,
        timeout=600,  # only bounds a hang
    )

    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert len(smtp.mailbox.mails) == 1
    assert states(engine) == {"revenue/2025-03/red": "pending"}

    deliver_pending(engine, spec, channels=channels, backoff_base=FAST)
    deliver_pending(engine, spec, channels=channels, backoff_base=FAST)

    keys = [m["X-BSC-Dedup-Key"] for m in smtp.mailbox.mails]
    assert keys == ["revenue/2025-03/red", "revenue/2025-03/red"]
    assert smtp.mailbox.mails[0]["Message-ID"] == smtp.mailbox.mails[1]["Message-ID"]
    assert states(engine) == {"revenue/2025-03/red": "delivered"}


def test_planning_the_same_month_twice_creates_no_new_events(engine, spec, row, frame):
    current = frame(
        row("revenue", "2025-03", "red", 800.0),
        row("pipeline_coverage", "2025-03", "held"),
        row("win_rate", "2025-03", "green", 30.0, target=25.0),
    )
    previous = frame(row("win_rate", "2025-02", "red", 10.0, target=25.0))
    first = publish(engine, spec, current, previous, run_id="a")
    second = publish(engine, spec, current, previous, run_id="b")

    assert {e.kind for e in first} == {"red", "held", "recovery"}
    assert second == []
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(alert_event)).scalar() == 3


def test_webhook_channel_refuses_non_http_urls():
    channel = WebhookChannel()
    try:
        channel.send("file:///etc/passwd", None)  # type: ignore[arg-type]
    except Exception as exc:
        assert getattr(exc, "retryable", None) is False
    else:
        raise AssertionError("a file: URL was accepted")


def test_attempt_times_come_from_the_clock(engine, spec, channels, smtp, row, frame):
    publish(engine, spec, frame(row("revenue", "2025-03", "red", 1.0)), EMPTY)
    fixed = datetime(2025, 4, 2, 6, 30, tzinfo=UTC)

    deliver_pending(engine, spec, channels=channels, now=lambda: fixed, backoff_base=FAST)

    (event,) = outbox.list_events(engine)
    assert [t["attempted_at"] for t in outbox.attempts(engine, event.event_id)] == [fixed]


def test_starttls_and_login_deliver_when_the_certificate_is_trusted(engine, spec, smtp, row, frame):
    publish(engine, spec, frame(row("revenue", "2025-03", "red", 1.0)), EMPTY)
    config = SmtpConfig(
        host="127.0.0.1",
        port=smtp.tls_port,
        user="alerts",
        password="s3cret-smtp-pass",
        starttls=True,
        ca_file=str(smtp.ca_file),
    )

    summary = deliver_pending(engine, spec, channels=[EmailChannel(config)], backoff_base=FAST)

    assert summary.delivered == 1 and smtp.mailbox.logins == ["alerts"]
    assert len(smtp.mailbox.mails) == 1


def test_starttls_with_an_untrusted_certificate_gives_up_at_once(
    engine, spec_with, smtp, row, frame
):
    spec = spec_with(engineers=None, fallback_owner=None)
    publish(engine, spec, frame(row("revenue", "2025-03", "red", 1.0)), EMPTY)
    config = SmtpConfig(host="127.0.0.1", port=smtp.tls_port, starttls=True)

    summary = deliver_pending(engine, spec, channels=[EmailChannel(config)], backoff_base=FAST)

    assert summary.failed_attempts == 1 and summary.dead == 1 and not smtp.mailbox.mails
    (event,) = outbox.list_events(engine)
    (attempt,) = outbox.attempts(engine, event.event_id)
    assert "BSC_SMTP_CA_FILE" in attempt["detail"]


def test_smtp_config_from_the_environment():
    config = SmtpConfig.from_env(
        {
            "BSC_SMTP_HOST": "mail.example.test",
            "BSC_SMTP_PORT": "587",
            "BSC_SMTP_USER": "u",
            "BSC_SMTP_PASSWORD": "p4ss-word",
            "BSC_SMTP_STARTTLS": "true",
            "BSC_ALERT_FROM": "bsc@example.test",
        }
    )
    assert config is not None
    assert (config.host, config.port, config.user, config.starttls, config.sender) == (
        "mail.example.test",
        587,
        "u",
        True,
        "bsc@example.test",
    )
    assert "p4ss-word" not in repr(config)
    assert SmtpConfig.from_env({}) is None
    with pytest.raises(ValueError, match="BSC_SMTP_PORT"):
        SmtpConfig.from_env({"BSC_SMTP_HOST": "h", "BSC_SMTP_PORT": "smtp"})


def test_a_timeout_is_retried_with_growing_waits(engine, spec, web, row, frame, monkeypatch):
    monkeypatch.setenv("BSC_TEST_CRM_WEBHOOK", web.url("/slow"))
    web.script["/slow"] = [-1, 502]  # stall past the timeout, then a bad gateway, then 200
    publish(engine, spec, frame(row("pipeline_coverage", "2025-03", "held")), EMPTY)
    # The stalled request never gets an answer, so it times out whatever the machine's load;
    # the time-out is long enough for the local receiver's 502 and 200 on a busy machine.
    channel = WebhookChannel(timeout=5.0)

    summary = deliver_pending(engine, spec, channels=[channel], backoff_base=0.2)

    assert summary.delivered == 1 and summary.failed_attempts == 2
    (event,) = outbox.list_events(engine)
    tries = outbox.attempts(engine, event.event_id)
    assert [t["outcome"] for t in tries] == ["error", "error", "ok"]
    assert "timed out" in tries[0]["detail"]
    # Backoff: 0.2 s after the first failure, 0.4 s after the second (plus the send times).
    first_gap = (tries[1]["attempted_at"] - tries[0]["attempted_at"]).total_seconds()
    second_gap = (tries[2]["attempted_at"] - tries[1]["attempted_at"]).total_seconds()
    assert first_gap >= 0.2 and second_gap >= 0.4


def test_pipeline_failure_is_sent_even_when_the_warehouse_is_unreachable(
    spec, channels, smtp, tmp_path: Path
):
    broken = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'warehouse.db'}")

    notify_pipeline_failure(
        broken,
        spec,
        run_id="dagster-run-43",
        job_name="monthly_scorecard",
        error="OperationalError: unable to open database file",
        channels=channels,
        backoff_base=FAST,
    )

    (mail,) = smtp.mailbox.mails
    assert mail["X-Envelope-To"] == "eng@example.test"
    assert "unable to open database file" in mail.get_body(("plain",)).get_content()
