"""`bsc alerts`: look at the outbox, deliver or requeue it, and prove an owner's channels work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from bsc_pipeline.cli_options import WarehouseUrlOption, resolve_warehouse_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bsc_pipeline.spec.models import Spec

app = typer.Typer(
    help="Alerts to owners: list the outbox, deliver or requeue it, send a test message.",
    no_args_is_help=True,
)
console = Console()


NO_CHANNEL_HINT = (
    "no alert channel is configured, so nothing can be sent. For email set BSC_SMTP_HOST "
    "(and BSC_SMTP_PORT, BSC_ALERT_FROM, BSC_SMTP_USER/BSC_SMTP_PASSWORD if the server asks) and "
    "give owners an `email` in the spec; for Slack or a webhook give owners a "
    "`slack_webhook_env` or `webhook_env` in the spec and set that variable to the URL. "
    "Then run `bsc alerts deliver` again (docs/alerts.md)."
)


def _spec() -> Spec:
    from bsc_pipeline.settings import Settings
    from bsc_pipeline.spec.loader import load_spec
    from bsc_pipeline.spec.problems import SpecError

    settings = Settings.from_env()
    try:
        return load_spec(settings.spec_path)
    except SpecError as exc:
        console.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from None


def _engine(url: str | None) -> Engine:
    """The warehouse, migrated first: delivery needs the retry columns and the lease table."""
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse

    engine = make_engine(resolve_warehouse_url(url))
    upgrade_warehouse(engine)
    return engine


@app.command("list")
def list_events(
    pending: bool = typer.Option(False, "--pending", help="only events not yet delivered"),
    show_all: bool = typer.Option(
        False, "--all", help="also the events kept as history (a backfill's older months)"
    ),
    limit: int = typer.Option(50, help="show at most this many, newest last"),
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Show alert events with their state and delivery attempts."""
    from rich.table import Table

    from bsc_pipeline.alerts import outbox

    engine = _engine(warehouse_url)
    events = outbox.list_events(engine, pending_only=pending, historical=show_all)[-limit:]
    records = outbox.channel_records(engine, [s.event_id for s in events])
    table = Table("created", "state", "kind", "to", "measure", "period", "status", "attempts")
    for stored in events:
        tries = [r for (event_id, _), r in records.items() if event_id == stored.event_id]
        attempts = sum(r.failures + int(r.delivered) for r in tries)
        table.add_row(
            f"{stored.created_at:%Y-%m-%d %H:%M}",
            stored.state,
            stored.event.kind,
            stored.event.recipient,
            stored.event.measure_id or "",
            stored.event.period or "",
            stored.event.status or "",
            str(attempts),
        )
    console.print(table)
    console.print(f"{len(events)} event(s)")


@app.command()
def deliver(
    backoff_base: float = typer.Option(1.0, help="first retry wait in seconds (doubles)"),
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Send every pending event that is due: one digest per owner and channel.

    A round that fails leaves the events pending with a later retry time (doubling from
    BSC_ALERT_RETRY_SECONDS, default 60); they are given up, and the engineers told, only after
    BSC_ALERT_GIVE_UP_HOURS (default 24) or BSC_ALERT_MAX_ROUNDS failed rounds. Commentary
    reminders now due (a red measure not commented on within BSC_COMMENTARY_DAYS) are queued
    first. With no channel configured it says how to configure one and exits 1.
    """
    from bsc_pipeline.alerts.delivery import deliver_pending
    from bsc_pipeline.settings import Settings
    from bsc_pipeline.updates.reminders import queue_reminders

    engine, spec = _engine(warehouse_url), _spec()
    queue_reminders(engine, spec, now=datetime.now(UTC), days=Settings.from_env().commentary_days)
    summary = deliver_pending(engine, spec, backoff_base=backoff_base)
    if summary.unconfigured:
        console.print(
            f"{summary.still_pending} event(s) pending: {NO_CHANNEL_HINT}",
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    if summary.busy:
        console.print(
            f"another delivery ({summary.busy}) is running on this warehouse; it sends the "
            f"{summary.still_pending} pending event(s), nothing sent here",
            markup=False,
        )
        return
    console.print(
        f"sent {summary.digests_sent} digest(s): {summary.delivered} event(s) delivered, "
        f"{summary.rescheduled} to retry later, {summary.dead} given up, "
        f"{summary.dead_letters} dead letter(s) to the engineers, "
        f"{summary.still_pending} still pending ({summary.failed_attempts} failed attempt(s))"
    )
    if summary.dead or summary.rescheduled:
        raise typer.Exit(1)


@app.command()
def requeue(
    dead: bool = typer.Option(
        False,
        "--dead",
        help="also put given-up events back in the queue, with a fresh give-up time",
    ),
    since: str | None = typer.Option(
        None, "--since", help="only events created on or after this date (YYYY-MM-DD)"
    ),
    warehouse_url: WarehouseUrlOption = None,
) -> None:
    """Make pending events due now (after an outage is fixed), and with --dead retry dead ones."""
    from bsc_pipeline.alerts import outbox

    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise typer.BadParameter(
                f"expected YYYY-MM-DD, got {since!r}", param_hint="--since"
            ) from None
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    count = outbox.requeue(_engine(warehouse_url), dead=dead, since=start, now=outbox.utcnow())
    console.print(f"{count} event(s) queued for the next `bsc alerts deliver`")


@app.command()
def test(owner: str = typer.Option(..., "--owner", help="owner id from the spec")) -> None:
    """Send a test message over every channel configured for one owner."""
    from bsc_pipeline.alerts.channels import DeliveryError, default_channels
    from bsc_pipeline.alerts.messages import render_test

    spec = _spec()
    found = next((o for o in spec.owners if o.id == owner), None)
    if found is None:
        known = ", ".join(o.id for o in spec.owners)
        console.print(f"unknown owner {owner!r}; the spec has: {known}", style="red", markup=False)
        raise typer.Exit(2)
    message = render_test(found, scorecard=spec.scorecard.name)
    failed = sent = 0
    for channel in default_channels():
        target = channel.target_for(found)
        if not target:
            continue
        try:
            channel.send(target, message)
        except DeliveryError as exc:
            failed += 1
            shown = f"{channel.name} {channel.redact(target)}: {exc.detail}"
            console.print(shown, style="red", markup=False)
            continue
        sent += 1
        console.print(f"{channel.name} {channel.redact(target)}: sent", style="green", markup=False)
    if not sent and not failed:
        console.print(
            f"no channel reaches {owner}: give them an email (and set BSC_SMTP_HOST) "
            "or a slack_webhook_env/webhook_env whose variable is set",
            style="yellow",
            markup=False,
        )
    if failed or not sent:
        raise typer.Exit(1)
