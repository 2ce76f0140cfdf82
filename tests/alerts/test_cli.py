"""`bsc alerts list|deliver|test` against a real warehouse file and the local SMTP server."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bsc_pipeline.alerts import outbox
from bsc_pipeline.alerts.cli import app
from bsc_pipeline.alerts.transitions import plan_events

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
runner = CliRunner()


@pytest.fixture
def env(engine, spec, smtp, tmp_path: Path, monkeypatch):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True)))
    monkeypatch.setenv("BSC_SPEC", str(spec_path))
    monkeypatch.setenv("BSC_WAREHOUSE_URL", str(engine.url))
    monkeypatch.setenv("BSC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BSC_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("BSC_ALERT_FROM", "scorecard@example.test")
    for name in ("BSC_TEST_CRM_WEBHOOK", "BSC_TEST_OPS_SLACK", "BSC_SMTP_USER"):
        monkeypatch.delenv(name, raising=False)


def test_list_deliver_and_list_again(env, engine, spec, smtp, row, frame):
    events = plan_events(spec, frame(row("revenue", "2025-03", "red", 800.0)), frame(), run_id="r")
    with engine.begin() as connection:
        outbox.write_events(connection, events)

    listed = runner.invoke(app, ["list", "--pending"])
    assert listed.exit_code == 0, listed.output
    assert "revenue" in listed.output and "pending" in listed.output

    delivered = runner.invoke(app, ["deliver"])
    assert delivered.exit_code == 0, delivered.output
    assert "1 event(s) delivered" in delivered.output
    assert [m["From"] for m in smtp.mailbox.mails] == ["scorecard@example.test"]

    after = runner.invoke(app, ["list", "--pending"])
    assert "0 event(s)" in after.output


def test_test_command_sends_to_the_owner(env, smtp):
    result = runner.invoke(app, ["test", "--owner", "sales_lead"])
    assert result.exit_code == 0, result.output
    (mail,) = smtp.mailbox.mails
    assert (
        mail["X-Envelope-To"] == "sam@example.test" and mail["X-BSC-Dedup-Key"] == "test/sales_lead"
    )


def test_test_command_for_an_unknown_owner_names_the_known_ones(env):
    result = runner.invoke(app, ["test", "--owner", "ghost"])
    assert result.exit_code == 2
    assert "unknown owner 'ghost'" in result.output and "sales_lead" in result.output


def test_test_command_for_an_owner_without_channels_fails(env):
    result = runner.invoke(app, ["test", "--owner", "nobody"])
    assert result.exit_code == 1 and "no channel reaches nobody" in result.output


def test_list_leaves_history_out_unless_all(env, engine, spec, row, frame, monkeypatch):
    from dataclasses import replace

    from bsc_pipeline.alerts import cli

    monkeypatch.setattr(cli.console, "width", 200)

    (april,) = plan_events(
        spec, frame(row("revenue", "2025-04", "red", 800.0)), frame(), run_id="r"
    )
    (may,) = plan_events(spec, frame(row("win_rate", "2025-05", "red", 10.0)), frame(), run_id="r")
    with engine.begin() as connection:
        outbox.write_events(connection, [replace(april, historical=True), may])

    listed = runner.invoke(app, ["list"])
    assert "win_rate" in listed.output and "revenue" not in listed.output
    everything = runner.invoke(app, ["list", "--all"])
    assert "historical" in everything.output and "revenue" in everything.output
    assert "2 event(s)" in everything.output


def test_deliver_without_a_channel_says_how_to_configure_one(
    env, engine, spec, row, frame, monkeypatch
):
    monkeypatch.delenv("BSC_SMTP_HOST")
    events = plan_events(spec, frame(row("revenue", "2025-03", "red", 800.0)), frame(), run_id="r")
    with engine.begin() as connection:
        outbox.write_events(connection, events)

    result = runner.invoke(app, ["deliver", "--warehouse-url", str(engine.url)])

    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "1 event(s) pending: no alert channel is configured" in text
    assert "set BSC_SMTP_HOST" in text and "slack_webhook_env" in text
    assert len(outbox.list_events(engine, pending_only=True)) == 1, "kept for later"
