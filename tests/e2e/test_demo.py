"""The demo company end to end: what `make demo` promises, checked on the real pipeline.

One module-scoped run generates the 36 demo months and publishes each through the pipeline's
steps into a SQLite warehouse; the tests read the story back from the published view, the
strategy map and the alerts delivered to a real local SMTP server.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from dataclasses import replace
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from bsc_pipeline.alerts.channels import EmailChannel, SmtpConfig
from bsc_pipeline.alerts.delivery import deliver_pending
from bsc_pipeline.measures.dependencies import measure_sources
from bsc_pipeline.periods import Month, month_range
from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.quality import GXValidator
from bsc_pipeline.scoring import link_health
from bsc_pipeline.settings import PROJECT_ROOT, Settings
from bsc_pipeline.sources.demo_data import generate_demo

pytestmark = pytest.mark.slow

DEMO_END = "2026-10"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work: Path = tmp_path_factory.mktemp("demo")
    summary = generate_demo(work / "landing", end=DEMO_END)
    pipeline = Pipeline(
        Settings(
            warehouse_url=f"sqlite:///{work / 'warehouse.db'}",
            landing_dir=work / "landing",
            lake_dir=work / "lake",
            spec_path=PROJECT_ROOT / "specs" / "demo.yaml",
            contracts_path=PROJECT_ROOT / "sources" / "contracts.yaml",
            sources_config=PROJECT_ROOT / "sources" / "sources.yaml",
            timezone="UTC",
            partitions_start=summary.first_month,
        )
    )
    validator = GXValidator()
    months = [str(m) for m in month_range(Month.parse(summary.first_month), Month.parse(DEMO_END))]
    for month in months:
        for dataset in pipeline.datasets:
            pipeline.extract(dataset, month)
            pipeline.stage(dataset, month, validator=validator)
        pipeline.compute_measures(month)
        pipeline.score(month)
        # As `bsc backfill` does: the older months' alerts are history, DEMO_END is news.
        pipeline.publish(month, run_id=f"demo-{month}", backfill_through=DEMO_END)
    with pipeline.engine.connect() as conn:
        monthly = pd.read_sql(sa.text("SELECT * FROM v_scorecard_monthly"), conn)
    return {"pipeline": pipeline, "months": months, "monthly": monthly}


def test_view_holds_every_measure_for_every_month(demo: dict[str, Any]) -> None:
    monthly: pd.DataFrame = demo["monthly"]
    assert monthly["measure_id"].nunique() >= 16
    assert monthly["period"].nunique() >= 24
    counts = monthly.groupby("period")["measure_id"].nunique()
    assert (counts == monthly["measure_id"].nunique()).all()


def test_measures_come_from_all_four_sources(demo: dict[str, Any]) -> None:
    pipeline: Pipeline = demo["pipeline"]
    systems = {c.source for c in pipeline.contracts.values()}
    read = {
        pipeline.contracts[dataset].source
        for measure in pipeline.spec.scored_measures()
        for dataset in measure_sources(pipeline.spec, measure.id)
    }
    # Plus the owners' own update files, which the two manual measures read.
    assert read == systems == {"finance", "crm", "ticketing", "hr", "owners"}


def test_the_story_turns_measures_red_and_they_recover(demo: dict[str, Any]) -> None:
    monthly: pd.DataFrame = demo["monthly"].sort_values("period")
    recovered = []
    for measure, rows in monthly.groupby("measure_id"):
        statuses = list(rows["status"])
        if "red" in statuses and "green" in statuses[statuses.index("red") :]:
            recovered.append(measure)
    assert len(recovered) >= 5, recovered
    assert {"nps", "sla_compliance"} <= set(recovered)


def test_lagging_results_green_while_leading_drivers_red_are_flagged(
    demo: dict[str, Any],
) -> None:
    pipeline: Pipeline = demo["pipeline"]
    flagged = demo["monthly"][demo["monthly"]["balance_flag"].notna()]
    lead_lag = {m.id: m.lead_lag for m in pipeline.spec.measures}
    outcomes = flagged[flagged["measure_id"].map(lead_lag) == "lagging"]
    drivers = flagged[flagged["measure_id"].map(lead_lag) == "leading"]
    assert len(outcomes) > 0 and (outcomes["status"] == "green").all()
    assert len(drivers) > 0 and (drivers["status"] == "red").all()
    assert set(outcomes["period"]) == set(drivers["period"])


def test_the_demo_strategy_map_holds(demo: dict[str, Any]) -> None:
    pipeline: Pipeline = demo["pipeline"]
    history = demo["monthly"].rename(columns={"actual": "value"})
    health = link_health(pipeline.spec, history[["measure_id", "period", "value"]])
    assert len(health) == len(pipeline.spec.links)
    assert (health["n"] >= 12).all()
    assert health["holds"].fillna(False).all(), health[~health["holds"].fillna(False)]
    with pipeline.engine.connect() as conn:
        published = pd.read_sql(sa.text("SELECT * FROM v_strategy_map_health"), conn)
    assert set(published["as_of_month"]) == {DEMO_END}
    assert len(published) == len(pipeline.spec.links)
    assert published["holds"].astype(bool).all()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        await asyncio.sleep(0)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _text(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "\n".join(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in parts
        if part.get_content_type() == "text/plain"
    )


def test_the_first_digest_tells_each_owner_where_they_stand_now(demo: dict[str, Any]) -> None:
    pipeline: Pipeline = demo["pipeline"]
    mailbox = _Mailbox()
    # ready_timeout only bounds a hang: the server thread starts late on a busy machine.
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port(), ready_timeout=600)
    controller.start()
    try:
        channel = EmailChannel(SmtpConfig(host="127.0.0.1", port=controller.port))
        summary = deliver_pending(pipeline.engine, pipeline.spec, channels=[channel])
    finally:
        controller.stop()
    assert summary.still_pending == 0 and summary.dead == 0
    with pipeline.engine.connect() as conn:
        events = pd.read_sql(sa.text("SELECT * FROM alert_event"), conn)
    # The story's reds and recoveries are all kept, as history.
    history = events[events["state"] == "historical"]
    assert (history["kind"] == "red").sum() >= 5 and (history["kind"] == "recovery").sum() >= 5
    assert set(events.loc[events["state"] != "historical", "period"]) == {DEMO_END}
    by_address: dict[str, list[Message]] = {}
    for message in mailbox.messages:
        by_address.setdefault(str(message["To"]), []).append(message)
    owners = {o.id: o for o in pipeline.spec.owners}
    measure_owners = {m.owner for m in pipeline.spec.scored_measures() if m.owner}
    assert {address: len(m) for address, m in by_address.items()} == {
        str(owners[o].email): 1 for o in measure_owners
    }
    nps_owner = owners[str(pipeline.spec.measure("nps").owner)]
    (nps_mail,) = [_text(m) for m in by_address[str(nps_owner.email)]]
    assert f"WHERE YOUR MEASURES STAND — {DEMO_END}" in nps_mail
    assert f"Net promoter score ({DEMO_END}): " in nps_mail


def test_the_minimal_spec_runs_on_the_demo_extracts(demo: dict[str, Any], tmp_path: Path) -> None:
    """specs/minimal.yaml, the documented place to start, scores the same staged demo data."""
    full: Pipeline = demo["pipeline"]
    lake = tmp_path / "lake"
    shutil.copytree(full.lake.root / "staged", lake / "staged")
    shutil.copytree(full.lake.root / "gate", lake / "gate")
    minimal = Pipeline(
        replace(
            full.settings,
            spec_path=PROJECT_ROOT / "specs" / "minimal.yaml",
            lake_dir=lake,
            warehouse_url=f"sqlite:///{tmp_path / 'minimal.db'}",
        )
    )
    months = demo["months"][-3:]
    for month in months:
        minimal.compute_measures(month)
        minimal.score(month)
        minimal.publish(month, run_id=f"minimal-{month}")
    with minimal.engine.connect() as conn:
        mine = pd.read_sql(sa.text("SELECT * FROM v_scorecard_monthly"), conn)
    assert set(mine["measure_id"]) == {m.id for m in minimal.spec.scored_measures()}
    assert len(minimal.spec.scored_measures()) == 3
    assert set(mine["period"]) == set(months)
    assert mine["status"].isin(["green", "amber", "red"]).all()
    full_revenue = demo["monthly"].set_index(["measure_id", "period"]).loc["revenue", "actual"]
    for row in mine[mine["measure_id"] == "revenue"].itertuples():
        assert row.actual == pytest.approx(full_revenue.loc[row.period])


def test_briefing_book_marks_the_links_the_story_breaks(demo: dict[str, Any]) -> None:
    """January 2025, deep in the story: complaints are red while what they drive is still green."""
    from bsc_pipeline.briefing import assemble_briefing, render_html

    pipeline: Pipeline = demo["pipeline"]
    briefing = assemble_briefing(pipeline.engine, "2025-01", spec=pipeline.spec)
    verdicts = {(link.driver, link.outcome): link.verdict for link in briefing.links if link.marked}
    assert verdicts == {
        ("complaints_per_100_customers", "customer_retention"): "does not hold · balance flag",
        ("complaints_per_100_customers", "gross_margin_pct"): "does not hold · balance flag",
        ("nps", "customer_retention"): "does not hold",
    }
    assert len(briefing.measures) == demo["monthly"]["measure_id"].nunique()
    flags = {m.measure_id: m.balance_flag for m in briefing.measures if m.balance_flag}
    assert flags["gross_margin_pct"] == (
        "Gross margin green while driver Complaints per 100 customers (annualised) is red"
    )
    html = render_html(briefing)
    assert html.count('stroke-dasharray="7 5"') == len(verdicts)
