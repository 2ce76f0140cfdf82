"""Owners' updates in the warehouse, on SQLite and PostgreSQL: versions, the views, reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from bsc_pipeline.updates.reminders import missing_commentary, plan_reminders
from bsc_pipeline.updates.storage import latest_commentary
from bsc_pipeline.warehouse import publish_month


def _update(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "measure_id": "revenue",
        "period": "2025-03",
        "submitted_by": "cfo",
        "value": None,
        "unit": None,
        "analysis": "Two large renewals slipped to April",
        "recommendation": None,
        "file": "updates/updates_2025-03_cfo.xlsx",
        "line": 2,
        "sha256": "cd" * 32,
        "submitted_at": None,
    }
    return {**row, **changes}


def _view(engine: sa.Engine, name: str) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(
            sa.text(f"SELECT * FROM {name} ORDER BY measure_id, version"), connection
        )


def test_each_change_is_a_version_and_a_rerun_stores_nothing(engine, publish_args, spec) -> None:
    red = {"revenue": "red", "churn_rate": "green"}
    values = {"revenue": 80.0, "churn_rate": 4.0}
    publish_month(engine, "2025-03", **publish_args("2025-03", values, status=red))
    missing = missing_commentary(engine, spec, days=3)
    assert [(m.measure_id, m.owner, m.period) for m in missing] == [("revenue", "cfo", "2025-03")]
    due = missing[0].published_at + timedelta(days=3)
    assert plan_reminders(engine, spec, now=due - timedelta(seconds=1), days=3) == []
    (reminder,) = plan_reminders(engine, spec, now=due, days=3)
    assert reminder.dedup_key == "commentary_reminder/revenue/2025-03"

    first = _update()
    publish_month(engine, "2025-03", **publish_args("2025-03", values, status=red), updates=[first])
    publish_month(engine, "2025-03", **publish_args("2025-03", values, status=red), updates=[first])
    fixed = _update(recommendation="Chase the renewals weekly", file="updates/fix.csv")
    publish_month(engine, "2025-03", **publish_args("2025-03", values, status=red), updates=[fixed])

    history = _view(engine, "v_measure_commentary_history")
    assert list(history["version"]) == [1, 2]
    assert list(history["file"]) == ["updates/updates_2025-03_cfo.xlsx", "updates/fix.csv"]
    assert history["superseded_at"].notna().tolist() == [True, False]
    latest = _view(engine, "v_measure_commentary")
    assert len(latest) == 1 and latest["version"].iloc[0] == 2
    assert latest["recommendation"].iloc[0] == "Chase the renewals weekly"
    said = latest_commentary(engine, "2025-03")[("revenue", "2025-03")]
    assert (said.version, said.submitted_by) == (2, "cfo")
    assert missing_commentary(engine, spec, days=3) == []
