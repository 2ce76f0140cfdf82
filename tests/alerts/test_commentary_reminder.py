"""Commentary is required when red: one reminder, by real e-mail, after BSC_COMMENTARY_DAYS.

The tiny company's February is red on gross margin (40 % against 50 %), NPS (-33 against 20),
median resolution time and training hours per employee. The CFO commented on NPS in the update
file, so the three others are reminded of, each to its owner.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.quality.gx_validator import GXValidator
from bsc_pipeline.settings import Settings
from bsc_pipeline.updates.reminders import missing_commentary

pytestmark = pytest.mark.slow


def _run(pipeline: Pipeline, month: str, validator: GXValidator) -> None:
    for dataset in pipeline.datasets:
        pipeline.extract(dataset, month)
        pipeline.stage(dataset, month, validator=validator)
    pipeline.compute_measures(month)
    pipeline.score(month)
    pipeline.publish(month, run_id=f"run-{month}")


def _reminders(pipeline: Pipeline) -> list[tuple[str, str, str]]:
    with pipeline.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT measure_id, recipient_owner_id, state FROM alert_event "
                "WHERE kind = 'commentary_reminder' ORDER BY measure_id"
            )
        ).all()
    return [tuple(r) for r in rows]


def test_a_red_measure_without_commentary_is_reminded_once(
    tiny_settings: Settings, tmp_path, smtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(tiny_settings.landing_dir, landing)
    (landing / "updates").mkdir()
    (landing / "updates" / "updates_2025-02_cfo.csv").write_text(
        "measure_id,owner,period,analysis\n"
        "nps,cfo,2025-02-01,Two detractors from the delayed migration\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("BSC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BSC_SMTP_PORT", str(smtp.port))
    pipeline = Pipeline(replace(tiny_settings, landing_dir=landing, commentary_days=3))
    validator = GXValidator()
    for month in ("2025-01", "2025-02"):
        _run(pipeline, month, validator)

    missing = missing_commentary(pipeline.engine, pipeline.spec, days=3)
    expected = [
        ("gross_margin_pct", "cfo"),
        ("resolution_hours_median", "ops"),
        ("training_hours_per_employee", "hr"),
    ]
    assert [(m.measure_id, m.owner) for m in missing] == expected
    published = missing[0].published_at

    pipeline.deliver_alerts(now=published + timedelta(days=2, hours=23))
    assert _reminders(pipeline) == [], "not due before three days"

    pipeline.deliver_alerts(now=published + timedelta(days=3))
    delivered = [(m, o, "delivered") for m, o in expected]
    assert _reminders(pipeline) == delivered
    reminders = [m for m in smtp.mailbox.to("cfo@tiny.example") if "COMMENTARY" in m.as_string()]
    assert len(reminders) == 1
    body = reminders[0].get_body(preferencelist=("plain",)).get_content()
    assert "COMMENTARY NEEDED: Gross margin" in body
    assert "bsc updates template --period 2025-02 --owner cfo" in body
    assert "NPS" not in body.split("COMMENTARY NEEDED")[1]
    for address in ("ops@tiny.example", "hr@tiny.example"):
        assert len([m for m in smtp.mailbox.to(address) if "COMMENTARY" in m.as_string()]) == 1

    # A re-run of the month and later deliveries find the reminder already queued: no second one.
    _run(pipeline, "2025-02", validator)
    sent = len(smtp.mailbox.mails)
    pipeline.deliver_alerts(now=published + timedelta(days=5))
    assert len(smtp.mailbox.mails) == sent
    assert _reminders(pipeline) == delivered
