"""Delivery under faults, with real processes: an SMTP outage, two deliverers at once, a broken
webhook URL, and putting given-up events back in the queue."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from bsc_pipeline.alerts import outbox
from bsc_pipeline.alerts.channels import EmailChannel, SmtpConfig
from bsc_pipeline.alerts.cli import app
from bsc_pipeline.alerts.delivery import RetryPolicy, deliver_pending
from bsc_pipeline.alerts.transitions import plan_events
from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.warehouse.schema import alert_delivery, alert_event

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
MEASURES = ("revenue", "pipeline_coverage", "win_rate", "orphan")


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _outbox_for_every_owner(engine, spec, row, frame) -> list[str]:
    """Red or held events for several owners across several months; their dedup keys."""
    events = []
    for month in ("2025-01", "2025-02", "2025-03"):
        current = frame(
            *(row(m, month, "red", 1.0) for m in MEASURES[:3]),
            row("orphan", month, "held"),
        )
        events += plan_events(spec, current, frame(), run_id=f"run-{month}")
    with engine.begin() as connection:
        outbox.write_events(connection, events)
    return [e.dedup_key for e in events]


def _env(engine, spec, tmp_path: Path, smtp_port: int) -> dict[str, str]:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BSC_")}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        BSC_SPEC=str(spec_path),
        BSC_WAREHOUSE_URL=str(engine.url),
        BSC_SMTP_HOST="127.0.0.1",
        BSC_SMTP_PORT=str(smtp_port),
        BSC_ALERT_RETRY_SECONDS="0",  # the next round may come at once
    )
    return env


def _deliver(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bsc_pipeline.cli", "alerts", "deliver", "--backoff-base", "0.01"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _states(engine) -> Counter[str]:
    with engine.connect() as c:
        return Counter(c.execute(sa.select(alert_event.c.state)).scalars())


def test_an_smtp_outage_keeps_every_event_and_the_server_back_delivers_each_once(
    engine, spec, smtp, row, frame, tmp_path: Path
):
    keys = _outbox_for_every_owner(engine, spec, row, frame)

    down = _deliver(_env(engine, spec, tmp_path, _closed_port()))
    output = down.communicate(timeout=120)[0]

    assert down.returncode == 1, output
    assert "Traceback" not in output and f"{len(keys)} to retry later, 0 given up" in output
    assert _states(engine) == {"pending": len(keys)}
    with engine.connect() as c:
        rows = c.execute(sa.select(alert_event.c.attempts, alert_event.c.last_error)).all()
    assert {attempts for attempts, _ in rows} == {1}
    assert all("Connection refused" in error or "email" in error for _, error in rows)
    # The first owner's route found the server down; the others were not hammered.
    with engine.connect() as c:
        tried = c.execute(
            sa.select(alert_event.c.recipient_owner_id, sa.func.max(alert_delivery.c.attempt))
            .join(alert_delivery, alert_delivery.c.event_id == alert_event.c.event_id)
            .group_by(alert_event.c.recipient_owner_id)
        ).all()
    assert len(tried) == 1 and tried[0][1] == spec.alerts.max_attempts

    up = _deliver(_env(engine, spec, tmp_path, smtp.port))
    output = up.communicate(timeout=120)[0]

    assert up.returncode == 0, output
    assert _states(engine) == {"delivered": len(keys)}
    sent = Counter(k for mail in smtp.mailbox.mails for k in mail.get_all("X-BSC-Dedup-Key"))
    assert sent == Counter(keys), "every event delivered exactly once"
    again = _deliver(_env(engine, spec, tmp_path, smtp.port))
    again.communicate(timeout=120)
    assert Counter(
        k for mail in smtp.mailbox.mails for k in mail.get_all("X-BSC-Dedup-Key")
    ) == Counter(keys)


def test_two_delivery_processes_at_once_send_each_event_once(
    engine, spec, smtp, row, frame, tmp_path: Path
):
    keys = _outbox_for_every_owner(engine, spec, row, frame)
    env = _env(engine, spec, tmp_path, smtp.port)

    first, second = _deliver(env), _deliver(env)
    outputs = [p.communicate(timeout=120)[0] for p in (first, second)]

    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert not any("Traceback" in o or "locked" in o for o in outputs), outputs
    sent = Counter(k for mail in smtp.mailbox.mails for k in mail.get_all("X-BSC-Dedup-Key"))
    assert sent == Counter(keys), "no event sent twice, none lost"
    assert _states(engine) == {"delivered": len(keys)}


def test_a_broken_webhook_url_is_that_owners_error_and_the_others_are_delivered(
    engine, spec, channels, smtp, web, row, frame, monkeypatch
):
    monkeypatch.setenv("BSC_TEST_CRM_WEBHOOK", web.url("/hooks/crm/with a space"))
    current = frame(row("pipeline_coverage", "2025-03", "held"), row("revenue", "2025-03", "red"))
    with engine.begin() as connection:
        outbox.write_events(connection, plan_events(spec, current, frame(), run_id="r"))

    summary = deliver_pending(engine, spec, channels=channels, backoff_base=0.01)

    assert [m["X-Envelope-To"] for m in smtp.mailbox.to("sam@example.test")] == ["sam@example.test"]
    with engine.connect() as c:
        states = dict(c.execute(sa.select(alert_event.c.dedup_key, alert_event.c.state)).all())
        details = [
            d
            for (d,) in c.execute(
                sa.select(alert_delivery.c.detail).where(alert_delivery.c.outcome == "refused")
            )
        ]
    assert states["revenue/2025-03/red"] == "delivered"
    assert states["pipeline_coverage/2025-03/held"] == "dead"
    assert len(details) == 1 and "URL is not valid" in details[0]
    assert "with a space" not in details[0], "the URL is a secret"
    assert summary.dead_letters == 1 and len(smtp.mailbox.to("eng@example.test")) == 1


def test_requeue_puts_dead_events_back_and_delivers_them(
    engine, spec, smtp, row, frame, tmp_path: Path, monkeypatch
):
    with engine.begin() as connection:
        outbox.write_events(
            connection,
            plan_events(spec, frame(row("revenue", "2025-03", "red")), frame(), run_id="r"),
        )
    start = datetime.now(UTC)
    policy = RetryPolicy(give_up_after=timedelta(0))
    channel = EmailChannel(SmtpConfig(host="127.0.0.1", port=_closed_port()))
    summary = deliver_pending(
        engine, spec, channels=[channel], backoff_base=0.01, now=lambda: start, policy=policy
    )
    assert summary.dead == 2, "the event and the engineers' dead letter (same server)"

    for name, value in _env(engine, spec, tmp_path, smtp.port).items():
        if name.startswith("BSC_"):
            monkeypatch.setenv(name, value)
    runner = CliRunner()
    since = (start - timedelta(days=1)).date().isoformat()
    requeued = runner.invoke(app, ["requeue", "--dead", "--since", since])
    assert requeued.exit_code == 0, requeued.output
    assert "event(s) queued" in requeued.output
    delivered = runner.invoke(app, ["deliver", "--backoff-base", "0.01"])

    assert delivered.exit_code == 0, delivered.output
    assert [m["X-BSC-Dedup-Key"] for m in smtp.mailbox.to("sam@example.test")] == [
        "revenue/2025-03/red"
    ]
    with engine.connect() as c:
        state, dead_at = c.execute(
            sa.select(alert_event.c.state, alert_event.c.dead_at).where(
                alert_event.c.dedup_key == "revenue/2025-03/red"
            )
        ).one()
    assert state == "delivered" and dead_at is None
