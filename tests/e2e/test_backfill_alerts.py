"""A backfill tells owners about the present; later runs and restatements still alert.

The tiny company over a whole year: its two hand-made months plus ten written here, each small
enough to check by hand. Revenue (target 1,000 EUR, red below 900) dips in April and July and is
red again from October (cost of services stays 30 %, so the gross margin is green); the median
resolution time (target 8 h, red above 12 h) is red in June only; training hours per employee
(3 people, target 3 h, red below 2.7 h) turn red in December. So December finds Revenue still
red since 2025-10 (CFO) and Training hours per employee red since 2025-12 (HR), and nothing new
for Ops. The year is loaded the way `bsc backfill` loads it (the nightly job month by month)
with a real local SMTP server configured, so every run's delivery step sends what is pending.
"""

from __future__ import annotations

import io
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from aiosmtpd.controller import Controller
from rich.console import Console

from bsc_pipeline.alerts.channels import EmailChannel, SmtpConfig
from bsc_pipeline.alerts.delivery import deliver_pending
from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.quality import GXValidator
from bsc_pipeline.runner import run_months
from bsc_pipeline.settings import PROJECT_ROOT, Settings
from bsc_pipeline.warehouse import close_period, make_engine, reopen_period

pytestmark = pytest.mark.slow

TINY = PROJECT_ROOT / "tests" / "e2e" / "tiny_company"
TINY_LANDING = TINY / "landing"
REVENUE = {
    "2025-03": 1200, "2025-04": 600, "2025-05": 1200, "2025-06": 1100, "2025-07": 700,
    "2025-08": 1300, "2025-09": 1000, "2025-10": 500, "2025-11": 600, "2025-12": 700,
}  # fmt: skip
RESOLUTION_HOURS = {month: 4 for month in REVENUE} | {"2025-06": 20}
TRAINING_HOURS = {month: 12 for month in REVENUE} | {"2025-12": 3}
MONTHS = ["2025-01", "2025-02", *REVENUE]


def write_tiny_year(landing: Path) -> list[str]:
    """Copy the tiny company's landing zone to `landing` and add March to December 2025."""
    shutil.copytree(TINY_LANDING, landing)
    for month in REVENUE:
        write_month(landing, month, revenue=REVENUE[month])
    return MONTHS


def write_month(
    landing: Path,
    month: str,
    *,
    revenue: float | None = None,
    resolution_hours: float | None = None,
    training_hours: float | None = None,
) -> None:
    """One month of gl lines, survey responses, tickets and training for the tiny company."""
    tag = month.replace("-", "")
    opened = datetime.fromisoformat(f"{month}-05T08:00:00")
    revenue = REVENUE.get(month, 1000) if revenue is None else revenue
    hours = RESOLUTION_HOURS.get(month, 4) if resolution_hours is None else resolution_hours
    training = TRAINING_HOURS.get(month, 12) if training_hours is None else training_hours
    resolved = opened + timedelta(hours=hours)
    files = {
        "gl_lines": (
            "entry_id,line_no,posting_date,account,amount,department,memo\n"
            f"E{tag},1,{month}-10,1000,{revenue:.2f},,invoice\n"
            f"E{tag},2,{month}-10,4000,{-revenue:.2f},,invoice\n"
            f"C{tag},1,{month}-20,5000,{revenue * 0.3:.2f},Ops,subcontractor\n"
            f"C{tag},2,{month}-20,1000,{-revenue * 0.3:.2f},Ops,subcontractor\n"
        ),
        "survey_responses": (
            "response_id,account_id,response_date,score\n"
            f"S{tag}a,A1,{month}-05,10\nS{tag}b,A2,{month}-12,9\n"
        ),
        "tickets": (
            "ticket_id,account_id,created_at,resolved_at,sla_due_at,priority,category,status,"
            "reopens,satisfaction,updated_at\n"
            f"T{tag},A1,{opened:%Y-%m-%dT%H:%M:%S},{resolved:%Y-%m-%dT%H:%M:%S},"
            f"{month}-06T08:00:00,normal,incident,solved,0,good,{month}-06T08:00:00\n"
        ),
        "training": (
            "training_id,employee_id,completed_date,course,hours\n"
            f"TR{tag},e1,{month}-08,Coaching,{training}\n"
        ),
        "opportunities": (
            "opportunity_id,account_id,stage,amount,created_date,close_date,updated_at\n"
            f"O{tag},A1,won,100.00,{month}-01,{month}-15,{month}-15T10:00:00\n"
        ),
        "engagement": (f"response_id,department,response_date,score\nG{tag},Ops,{month}-15,4\n"),
    }
    for dataset, text in files.items():
        (landing / dataset / f"{dataset}_{month}.csv").write_text(text)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    mails: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 OK"

    def take(self) -> dict[str, list[str]]:
        """Plain-text bodies by recipient address, emptying the box."""
        found: dict[str, list[str]] = {}
        for mail in self.mails:
            body = mail.get_body(("plain",))
            assert body is not None
            text = f"Subject: {mail['Subject']}\n{body.get_content()}"
            found.setdefault(str(mail["To"]), []).append(text)
        self.mails.clear()
        return found


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory, tiny_settings_at: Any) -> Iterator[dict]:
    """The year backfilled with email configured; then the nightly run of January 2026."""
    work: Path = tmp_path_factory.mktemp("tiny_year")
    months = write_tiny_year(work / "landing")
    spec = yaml.safe_load((TINY / "spec.yaml").read_text())
    # A still-red measure is told again after three periods, not every month.
    spec["alerts"]["repeat_after_periods"] = 3
    (work / "spec.yaml").write_text(yaml.safe_dump(spec))
    settings = replace(
        tiny_settings_at(work), landing_dir=work / "landing", spec_path=work / "spec.yaml"
    )
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("BSC_SMTP_HOST", "127.0.0.1")
            env.setenv("BSC_SMTP_PORT", str(smtp.port))
            report = run_months(
                months,
                console=Console(file=io.StringIO()),
                settings=settings,
                instance=dg.DagsterInstance.ephemeral(),
                backfill=True,
            )
            assert report.ok, [o.error for o in report.outcomes if not o.succeeded]
            yield {
                "settings": settings,
                "mailbox": mailbox,
                "port": smtp.port,
                "after_backfill": mailbox.take(),
            }
    finally:
        smtp.stop()


def _events(settings: Settings, where: str = "1 = 1") -> pd.DataFrame:
    with make_engine(settings.warehouse_url).connect() as conn:
        return pd.read_sql(
            sa.text(f"SELECT * FROM alert_event WHERE {where} ORDER BY period, dedup_key"), conn
        )


def test_a_backfill_sends_each_owner_one_message_about_the_latest_month(year: dict) -> None:
    mails = year["after_backfill"]
    # Every measure owner; Dee Data owns datasets, no measure, and nothing of hers is held.
    assert {address: len(texts) for address, texts in mails.items()} == {
        "cfo@tiny.example": 1,
        "ops@tiny.example": 1,
        "hr@tiny.example": 1,
    }
    (cfo,) = mails["cfo@tiny.example"]
    assert "Subject: [Tiny Co] 1 still red" in cfo
    assert "Hello Casey Finance, 1 item you look after needs your attention as of 2025-12." in cfo
    assert "Red now: Revenue since 2025-10." in cfo
    assert "WHERE YOUR MEASURES STAND — 2025-12" in cfo
    assert "Revenue (2025-12): red since 2025-10, 700.0 EUR vs target 1,000.0 EUR." in cfo
    assert "Gross margin (2025-12): green, 70.0 % vs target 50.0 %." in cfo
    assert "Net promoter score (2025-12): green, 100.0 score vs target 20.0 score." in cfo
    assert "STILL RED: Revenue — 2025-12" in cfo
    assert "Actual 700.0 EUR vs target 1,000.0 EUR" in cfo
    assert "Why — drivers: Net promoter score is green, 100.0 score, lag 2 mo." in cfo
    (hr,) = mails["hr@tiny.example"]
    assert "Red now: Training hours per employee since 2025-12." in hr
    assert "Actual 1.0 hours vs target 3.0 hours" in hr
    assert "outcomes: Median resolution time is green, 4.0 hours, lag 1 mo." in hr
    assert "Headcount (2025-12): green, 3.0 employees vs target 3.0 employees." in hr
    (ops,) = mails["ops@tiny.example"]
    assert "Subject: [Tiny Co] where your measures stand as of 2025-12" in ops
    assert "Median resolution time (2025-12): green, 4.0 hours vs target 8.0 hours." in ops
    assert "RED" not in ops
    for text in (cfo, ops, hr):
        for month in ("2025-04", "2025-06", "2025-07", "2025-10 (", "2025-11 ("):
            assert f"— {month}" not in text


def test_the_history_is_kept_as_historical_events(year: dict) -> None:
    events = _events(year["settings"], "period < '2025-12' AND period NOT LIKE 'FY%'")
    states = set(events["state"])
    assert states == {"historical"}
    keys = set(events["dedup_key"])
    assert {
        "revenue/2025-04/red",
        "revenue/2025-05/recovery",
        "resolution_hours_median/2025-06/red",
        "revenue/2025-10/red",
    } <= keys
    latest = _events(year["settings"], "period = '2025-12'")
    assert sorted(zip(latest["dedup_key"], latest["state"], strict=True)) == [
        ("revenue/2025-12/red", "delivered"),
        ("state/cfo/2025-12", "delivered"),
        ("state/hr/2025-12", "delivered"),
        ("state/ops/2025-12", "delivered"),
        ("training_hours_per_employee/2025-12/red", "delivered"),
    ]


def test_a_later_nightly_run_that_turns_a_measure_red_sends_one_alert(year: dict) -> None:
    settings: Settings = year["settings"]
    # January: resolution takes 20 h (red); revenue and training stay red (no repeat yet).
    write_month(settings.landing_dir, "2026-01", revenue=650, resolution_hours=20, training_hours=3)
    pipeline = Pipeline(settings)
    validator = GXValidator()
    for dataset in pipeline.datasets:
        pipeline.extract(dataset, "2026-01")
        pipeline.stage(dataset, "2026-01", validator=validator)
    pipeline.compute_measures("2026-01")
    pipeline.score("2026-01")
    # The nightly run of early February: January is this run's news.
    pipeline.publish("2026-01", run_id="nightly-2026-02-03", today=date(2026, 2, 3))
    port = year["port"]
    channel = EmailChannel(SmtpConfig(host="127.0.0.1", port=port))
    summary = deliver_pending(pipeline.engine, pipeline.spec, channels=[channel])

    assert summary.digests_sent == 1 and summary.delivered == 1
    mails = year["mailbox"].take()
    assert list(mails) == ["ops@tiny.example"]
    (ops,) = mails["ops@tiny.example"]
    assert "RED: Median resolution time — 2026-01" in ops
    assert "Red since 2026-01; previously green (2025-12)." in ops


def test_a_restatement_of_a_closed_month_sends_one_alert_marked_as_such(year: dict) -> None:
    settings: Settings = year["settings"]
    engine = make_engine(settings.warehouse_url)
    assert close_period(engine, "2025-09")
    write_month(settings.landing_dir, "2025-09", revenue=400)
    reopen_period(engine, "2025-09", "late credit note")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BSC_SMTP_HOST", "127.0.0.1")
        env.setenv("BSC_SMTP_PORT", str(year["port"]))
        job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
        assert job.execute_in_process(partition_key="2025-09").success

    mails = year["mailbox"].take()
    assert list(mails) == ["cfo@tiny.example"]
    (cfo,) = mails["cfo@tiny.example"]
    assert "(restatement)" in cfo.splitlines()[0]
    assert "RED: Revenue — 2025-09 (restatement of a closed period)" in cfo
    assert "Actual 400.0 EUR vs target 1,000.0 EUR" in cfo
    restated = _events(settings, "dedup_key = 'revenue/2025-09/red'")
    assert list(restated["state"]) == ["delivered"] and bool(restated["is_restatement"].iloc[0])
