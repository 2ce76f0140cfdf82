"""Link health through the real Dagster job on the tiny company: stored per link, shown by show.

The tiny company's map is training hours → resolution time → NPS (lag 1 each) → revenue (lag 2),
and it has two months of data (January and February 2025), so no link has enough history.
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from rich.console import Console

from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.report import render_scorecard

pytestmark = pytest.mark.slow

LINKS = {
    ("training_hours_per_employee", "resolution_hours_median"),
    ("resolution_hours_median", "nps"),
    ("nps", "revenue"),
}


def _read(settings, query: str) -> pd.DataFrame:
    engine = sa.create_engine(settings.warehouse_url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(query), conn)
    finally:
        engine.dispose()


def test_each_link_is_stored_with_not_enough_history_and_shown(tiny_settings, defs_factory):
    job = defs_factory().resolve_job_def(NIGHTLY_JOB)
    for month in ("2025-01", "2025-02"):
        assert job.execute_in_process(partition_key=month).success

    health = _read(tiny_settings, "SELECT * FROM fact_link_health")
    assert len(health) == 2 * len(LINKS)
    for month, rows in health.groupby("as_of_month"):
        assert set(zip(rows["driver"], rows["outcome"], strict=True)) == LINKS, month
    assert health["holds"].isna().all() and health["correlation"].isna().all()
    assert health["note"].str.startswith("too little history").all()

    # Every linked measure has a value in both months, so the paired months are: none in
    # January (December is not published); in February one per lag-1 link (January's driver
    # with February's outcome) and none for NPS → revenue (lag 2 needs December).
    values = _read(
        tiny_settings,
        "SELECT measure_id, value FROM fact_measure_period "
        "WHERE period_type = 'month' AND as_of_month = period",
    )
    linked = {m for link in LINKS for m in link}
    assert values[values["measure_id"].isin(linked)]["value"].notna().sum() == 2 * len(linked)
    n = health.set_index(["as_of_month", "driver"])["n"]
    assert (n.loc["2025-01"] == 0).all()
    assert n.loc["2025-02"].to_dict() == {
        "training_hours_per_employee": 1,
        "resolution_hours_median": 1,
        "nps": 0,
    }

    latest = _read(tiny_settings, "SELECT * FROM v_strategy_map_health").set_index("driver")
    assert set(latest["as_of_month"]) == {"2025-02"}
    assert latest["chain_position"].to_dict() == {
        "training_hours_per_employee": 1,
        "resolution_hours_median": 2,
        "nps": 3,
    }

    before = _read(tiny_settings, "SELECT * FROM fact_link_health ORDER BY driver, as_of_month")
    assert job.execute_in_process(partition_key="2025-02").success
    after = _read(tiny_settings, "SELECT * FROM fact_link_health ORDER BY driver, as_of_month")
    pd.testing.assert_frame_equal(after, before)  # same inputs: not even published_at moves

    console = Console(record=True, width=200)
    render_scorecard(tiny_settings, "2025-02", console)
    text = console.export_text()
    assert "Strategy map" in text
    assert "Training hours per employee → Median resolution time" in text
    assert text.count("not enough history") == len(LINKS)
    assert "chain breaks" not in text
