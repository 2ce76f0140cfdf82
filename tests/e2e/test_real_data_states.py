"""States real exports exposed (issue 13), through the real Dagster job on the tiny company.

The tiny company gets three more scored measures: leavers (employees counted by termination
date), survey responses (a count) and customer retention (accounts with a ticket opened in the
month and the month before). Its training source starts in February (January's file removed),
and December 2024 is run too, before any source started.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.settings import Settings

pytestmark = pytest.mark.slow

SURVEY_FEB = "survey_responses/survey_responses_2025-02.csv"
TRAINING_JAN = "training/training_2025-01.csv"
MEASURES = [
    {
        "id": "leavers",
        "name": "Leavers",
        "objective": "skilled_people",
        "owner": "hr",
        "unit": "employees",
        "direction": "lower",
        "kind": "base",
        "source": "employees",
        "agg": "count",
        "date_column": "termination_date",
        "decimals": 2,
        "target": {"kind": "constant", "value": 1},
    },
    {
        "id": "survey_count",
        "name": "Survey responses",
        "objective": "loyal_customers",
        "owner": "cfo",
        "unit": "count",
        "kind": "base",
        "source": "survey_responses",
        "agg": "count",
        "decimals": 0,
        "target": {"kind": "constant", "value": 3},
    },
    {
        "id": "customer_retention",
        "name": "Customer retention",
        "objective": "loyal_customers",
        "owner": "cfo",
        "unit": "%",
        "kind": "retention",
        "source": "tickets",
        "key": "account_id",
        "scale": 100,
        "target": {"kind": "constant", "value": 80},
    },
]


def _run(settings: Settings, month: str) -> None:
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    assert job.execute_in_process(partition_key=month).success


def _query(settings: Settings, sql: str) -> pd.DataFrame:
    """`sql` is one of this module's constant statements, never user text."""
    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn)


def _row(settings: Settings, measure: str, period: str, as_of: str) -> pd.Series:
    rows = _query(settings, "SELECT * FROM fact_measure_period")
    found = rows[
        (rows["measure_id"] == measure)
        & (rows["period"] == period)
        & (rows["as_of_month"] == as_of)
    ]
    assert len(found) == 1, (measure, period, as_of)
    return found.iloc[0]


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory, tiny_settings_at: Any) -> Settings:
    """December 2024 and January 2025 published; February not yet."""
    work = tmp_path_factory.mktemp("real_states")
    base = tiny_settings_at(work)
    spec = yaml.safe_load(base.spec_path.read_text(encoding="utf-8"))
    spec["measures"].extend(MEASURES)
    spec_path = work / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    landing = work / "landing"
    shutil.copytree(base.landing_dir, landing)
    (landing / TRAINING_JAN).unlink()
    settings = replace(base, spec_path=spec_path, landing_dir=landing)
    for month in ("2024-12", "2025-01"):
        _run(settings, month)
    return settings


def test_a_count_with_no_matching_rows_is_zero_not_no_data(company: Settings) -> None:
    # Nobody left in January (e2 leaves on 15 February): 0, although the snapshot is undated.
    january = _row(company, "leavers", "2025-01", "2025-01")
    assert (january["value"], january["data_state"]) == (0, "complete")
    assert january["status"] == "green"
    assert _row(company, "leavers", "FY2025", "2025-01")["value"] == 0


def test_months_before_a_source_started_are_not_started_without_hold_or_alert(
    company: Settings,
) -> None:
    december = _query(company, "SELECT * FROM fact_measure_period WHERE as_of_month = '2024-12'")
    month = december[december["period_type"] == "month"].set_index("measure_id")
    # Every monthly source starts in January 2025 (its first delivery).
    early = month.drop(index=["headcount", "leavers"])
    assert set(early["data_state"]) == {"not_started"}
    assert set(early["status"]) == {"no_data"}
    assert early["value"].isna().all()
    assert early["data_note"].str.contains("source not started: ").all()
    assert "source not started: gl_lines starts 2025-01" in month.loc["revenue", "data_note"]
    # The employees snapshot of January also serves December, as before: e1 and e2 employed.
    assert month.loc["headcount", "value"] == 2
    assert (month.loc["leavers", "value"], month.loc["leavers", "data_state"]) == (0, "complete")
    # Training starts in February (its first delivery): January's training is not started,
    # and so is training per employee; nothing else of January is.
    hours = _row(company, "training_hours_per_employee", "2025-01", "2025-01")
    assert (hours["status"], hours["data_state"]) == ("no_data", "not_started")
    assert "source not started: training starts 2025-02 (first delivery)" in hours["data_note"]
    gates = _query(company, "SELECT * FROM dq_result WHERE month IN ('2024-12', '2025-01')")
    training = gates[(gates["dataset"] == "training") & (gates["month"] == "2025-01")]
    assert training["passed"].astype(bool).all()
    assert "source_started" in set(training["expectation"])
    events = _query(company, "SELECT kind, measure_id, period FROM alert_event")
    assert events[events["kind"].isin(["held", "no_data"])].empty, events


def test_retention_publishes_its_counts(company: Settings) -> None:
    # Accounts with a ticket opened in December: none (not started): no value.
    january = _row(company, "customer_retention", "2025-01", "2025-01")
    assert january["data_state"] == "not_started"


def test_a_held_month_carries_null_then_the_previous_figure(
    company: Settings, tmp_path: Path
) -> None:
    settings = replace(company, landing_dir=tmp_path / "landing")
    shutil.copytree(company.landing_dir, settings.landing_dir)
    survey = settings.landing_dir / SURVEY_FEB
    content = survey.read_bytes()

    survey.unlink()  # February's survey extract is missing: held, never published before
    _run(settings, "2025-02")
    for period in ("2025-02", "FY2025-Q1"):
        held = _row(settings, "survey_count", period, "2025-02")
        assert (held["status"], held["data_state"]) == ("held", "held")
        assert pd.isna(held["value"]), (period, held["value"])
    events = _query(settings, "SELECT kind, measure_id, period FROM alert_event")
    assert len(events[(events["kind"] == "held") & (events["period"] == "2025-02")]) > 0

    survey.write_bytes(content)
    _run(settings, "2025-02")
    assert _row(settings, "survey_count", "2025-02", "2025-02")["value"] == 3
    assert _row(settings, "survey_count", "FY2025-Q1", "2025-02")["value"] == 7
    # Retention of February: accounts with a ticket opened in January {A1, A2}, in February {A2}.
    retention = _row(settings, "customer_retention", "2025-02", "2025-02")
    assert (retention["numerator"], retention["denominator"], retention["value"]) == (1, 2, 50)

    survey.unlink()
    _run(settings, "2025-02")
    for period, figure in (("2025-02", 3), ("FY2025-Q1", 7)):
        held = _row(settings, "survey_count", period, "2025-02")
        assert (held["status"], held["value"]) == ("held", figure)


def test_bsc_show_prints_the_measures_decimals(company: Settings) -> None:
    from rich.console import Console

    from bsc_pipeline.report import _fmt, render_scorecard

    console = Console(record=True, width=300)
    render_scorecard(company, "2025-01", console)
    text = console.export_text()
    # January: 4 responses, 0 leavers; survey_count has decimals 0, leavers decimals 2.
    assert "4 count" in text
    assert "0.00 employees" in text
    assert _fmt(0.0125, "ratio", 4) == "0.0125 ratio"
    assert _fmt(0.02, "ratio", 4) == "0.0200 ratio"
    assert _fmt(1234.5, "EUR", 0) == "€1,234"
