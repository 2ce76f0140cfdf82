"""The monthly update cycle through the real Dagster job on the tiny company.

Owners fill in their templates (openpyxl, csv), drop them into the landing zone with a file of
bad rows, and the nightly job publishes the values and the text. Every expected number is
worked out by hand: revenue is 1000 in January and 1500 in February (test_month_run.py).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.settings import Settings
from bsc_pipeline.spec.loader import load_spec
from bsc_pipeline.updates.template import template_rows, write_template

pytestmark = pytest.mark.slow

HEADER = ["measure_id", "owner", "period", "unit", "value", "analysis", "recommendation"]


def _run(settings: Settings, *months: str) -> None:
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    for month in months:
        assert job.execute_in_process(partition_key=month).success


def _read(settings: Settings, sql: str) -> pd.DataFrame:
    engine = sa.create_engine(settings.warehouse_url)
    with engine.connect() as connection:
        return pd.read_sql(sa.text(sql), connection)


def _write_csv(path: Path, rows: list[list[Any]], mtime: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    os.utime(path, ns=(mtime, mtime))


def _fill_xlsx(path: Path, answers: dict[str, dict[str, Any]]) -> None:
    """Fill in the template as an owner would: type into the cells of their measures' rows."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        measure = row[header.index("measure_id")].value
        for column, value in answers.get(str(measure), {}).items():
            row[header.index(column)].value = value
    book.save(path)


def _fill_csv(path: Path, answers: dict[str, dict[str, Any]]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.update({k: str(v) for k, v in answers.get(row["measure_id"], {}).items()})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _value(facts: pd.DataFrame, measure: str, period_type: str, period: str, as_of: str) -> Any:
    row = facts[
        (facts["measure_id"] == measure)
        & (facts["period_type"] == period_type)
        & (facts["period"] == period)
        & (facts["as_of_month"] == as_of)
    ]
    assert len(row) == 1, (measure, period_type, period, as_of)
    return row.iloc[0]


@pytest.fixture(scope="module")
def cycle(manual_company: Settings) -> dict[str, Any]:
    settings = manual_company
    _run(settings, "2025-01", "2025-02")
    before = _read(settings, "SELECT * FROM fact_measure_period")

    spec = load_spec(settings.spec_path)
    engine = sa.create_engine(settings.warehouse_url)
    updates = settings.landing_dir / "updates"
    updates.mkdir()
    base = 1_700_000_000_000_000_000  # file times in a known order, newest last
    ops_rows = template_rows(spec, engine, "2025-02", "ops")
    ops_file = write_template(ops_rows, updates / "updates_2025-02_ops.xlsx")
    _fill_xlsx(
        ops_file,
        {
            "resolution_hours_median": {
                "analysis": "Two complex tickets took a week",
                "recommendation": "Pair new agents with seniors",
            },
            "audit_score": {"value": 72, "analysis": "Two findings on access reviews"},
        },
    )
    os.utime(ops_file, ns=(base, base))
    cfo_file = write_template(
        template_rows(spec, engine, "2025-02", "cfo"), updates / "updates_2025-02_cfo.csv"
    )
    _fill_csv(
        cfo_file,
        {"partner_revenue": {"value": 500}, "revenue": {"analysis": "Seasonal upswing"}},
    )
    os.utime(cfo_file, ns=(base + 1, base + 1))
    _write_csv(
        updates / "updates_2025-01_all.csv",
        [
            ["audit_score", "ops", "2025-01-01", "score", "90", "", ""],
            ["partner_revenue", "cfo", "2025-01-01", "EUR", "300", "", ""],
            ["supplier_rating", "ops", "2025-01-01", "score", "four", "", ""],
            ["initiative_progress", "hr", "2025-01-01", "%", "40", "On plan", ""],
        ],
        base + 2,
    )
    _write_csv(
        updates / "updates_2025-02_bad.csv",
        [
            ["ghost_measure", "cfo", "2025-02-01", "", "5", "", ""],
            ["nps", "cfo", "2025-02-01", "score", "30", "", ""],
            ["initiative_progress", "hr", "2025-02-01", "EUR", "50", "", ""],
            ["supplier_rating", "ops", "2025-02-01", "score", "7", "", ""],
            ["headcount", "cfo", "2025-02-01", "", "", "Not mine to say", ""],
            ["training_hours_per_employee", "hr", "2025-02-01", "", "", "Courses moved", ""],
        ],
        base + 3,
    )
    _run(settings, "2025-01", "2025-02")
    after = _read(settings, "SELECT * FROM fact_measure_period")
    commentary = _read(settings, "SELECT * FROM v_measure_commentary")
    quarantine = _read(settings, "SELECT * FROM quarantine_row WHERE dataset = 'updates'")
    rollup = _read(
        settings,
        "SELECT * FROM fact_objective_period WHERE objective_id = 'sound_controls' "
        "AND period_type = 'month' AND period = '2025-02' AND as_of_month = '2025-02'",
    )

    _write_csv(
        updates / "updates_2025-02_ops_fix.csv",
        [["audit_score", "ops", "2025-02-01", "score", "75", "Recounted: one finding closed", ""]],
        base + 4,
    )
    _run(settings, "2025-02")
    return {
        "settings": settings,
        "template": ops_rows,
        "before": before,
        "after": after,
        "commentary": commentary,
        "quarantine": quarantine,
        "rollup": rollup,
        "corrected": _read(settings, "SELECT * FROM fact_measure_period"),
        "versions": _read(settings, "SELECT * FROM v_measure_commentary_history"),
        "history": _read(
            settings,
            "SELECT * FROM measure_value_history WHERE measure_id = 'audit_score' "
            "AND period_type = 'month' AND period = '2025-02' ORDER BY history_id",
        ),
    }


def test_template_is_prefilled_from_the_published_month(cycle: dict[str, Any]) -> None:
    rows = {r.measure.id: r for r in cycle["template"]}
    assert list(rows) == ["resolution_hours_median", "audit_score", "supplier_rating"]
    published = _value(cycle["before"], "resolution_hours_median", "month", "2025-02", "2025-02")
    assert rows["resolution_hours_median"].actual == pytest.approx(published["value"])
    assert rows["resolution_hours_median"].status == published["status"]
    assert rows["audit_score"].manual and not rows["resolution_hours_median"].manual


def test_a_manual_measure_without_a_value_is_no_data_never_zero(cycle: dict[str, Any]) -> None:
    row = _value(cycle["before"], "audit_score", "month", "2025-02", "2025-02")
    assert row["status"] == "no_data" and pd.isna(row["value"])
    assert "no value reported" in row["data_note"]


def test_reported_values_publish_and_feed_derived_and_rollups(cycle: dict[str, Any]) -> None:
    facts = cycle["after"]
    assert _value(facts, "audit_score", "month", "2025-01", "2025-01")["value"] == 90
    audit = _value(facts, "audit_score", "month", "2025-02", "2025-02")
    # 72 against a target of 80: on the amber bound (0.9 × 80), score 3.33.
    assert (audit["value"], audit["status"]) == (72, "amber")
    assert audit["score"] == pytest.approx(10 / 3, abs=0.01)
    # A quarter of a `last` measure is its latest month; of a `sum` measure the months' sum.
    assert _value(facts, "audit_score", "quarter", "FY2025-Q1", "2025-02")["value"] == 72
    # A component is not published; the lake holds its values.
    lake = pd.read_parquet(cycle["settings"].lake_dir / "measures" / "2025-02.parquet")
    assert _value(lake, "partner_revenue", "quarter", "FY2025-Q1", "2025-02")["value"] == 800
    # total_revenue = revenue + partner_revenue: 1000 + 300, 1500 + 500, quarter 2500 + 800.
    assert _value(facts, "total_revenue", "month", "2025-01", "2025-01")["value"] == 1300
    assert _value(facts, "total_revenue", "month", "2025-02", "2025-02")["value"] == 2000
    assert _value(facts, "total_revenue", "quarter", "FY2025-Q1", "2025-02")["value"] == 3300
    rollups = cycle["rollup"]
    assert rollups["score"].iloc[0] == pytest.approx(10 / 3, abs=0.01)
    assert rollups["status"].iloc[0] == "amber"


def test_commentary_is_stored_with_who_and_which_file(cycle: dict[str, Any]) -> None:
    said = cycle["commentary"].set_index(["measure_id", "period"])
    hours = said.loc[("resolution_hours_median", "2025-02")]
    assert hours["analysis"] == "Two complex tickets took a week"
    assert hours["recommendation"] == "Pair new agents with seniors"
    assert hours["submitted_by"] == "ops"
    assert hours["file"] == "updates/updates_2025-02_ops.xlsx" and len(hours["sha256"]) == 64
    assert said.loc[("revenue", "2025-02"), "analysis"] == "Seasonal upswing"
    assert said.loc[("initiative_progress", "2025-01"), "value"] == 40
    assert said.loc[("training_hours_per_employee", "2025-02"), "analysis"] == "Courses moved"
    assert ("supplier_rating", "2025-02") not in said.index  # left empty: nothing stored


def test_each_bad_row_is_quarantined_with_its_reason(cycle: dict[str, Any]) -> None:
    q = cycle["quarantine"].drop_duplicates(["file", "line", "rule"])
    found = {(r.file, int(r.line)): (r.rule, r.reason) for r in q.itertuples()}
    bad = "updates/updates_2025-02_bad.csv"
    assert found[(bad, 2)] == (
        "updates:known_measure",
        "measure 'ghost_measure' is not in the spec",
    )
    assert found[(bad, 3)][0] == "updates:value_only_for_manual"
    assert "computed from source data" in found[(bad, 3)][1]
    assert found[(bad, 4)] == (
        "updates:unit_matches",
        "value in 'EUR' but initiative_progress is measured in '%'",
    )
    assert found[(bad, 5)] == (
        "updates:value_in_range",
        "value 7 is outside supplier_rating's valid range [1, 5]",
    )
    assert found[(bad, 6)] == (
        "updates:owner_matches",
        "row names owner 'cfo' but headcount belongs to 'hr'",
    )
    jan = "updates/updates_2025-01_all.csv"
    assert found[(jan, 4)] == (
        "updates:value_is_number",
        "value 'four' for supplier_rating is not a number",
    )
    assert len(found) == 6
    raw = json.loads(q[q["line"] == 6]["raw"].iloc[0])
    assert raw["measure_id"] == "headcount"


def test_other_measures_are_not_held_by_the_updates(cycle: dict[str, Any]) -> None:
    facts = cycle["after"]
    month = facts[(facts["period_type"] == "month") & (facts["as_of_month"] == "2025-02")]
    assert "held" not in set(month["status"])
    before = cycle["before"].set_index(["measure_id", "period_type", "period", "as_of_month"])
    after = facts.set_index(["measure_id", "period_type", "period", "as_of_month"])
    for key in before.index:
        if key[0] in ("audit_score", "partner_revenue", "total_revenue"):
            continue
        assert after.loc[key, "value"] == pytest.approx(before.loc[key, "value"], nan_ok=True)


def test_a_corrected_resubmission_is_a_new_version_and_a_restatement(cycle: dict[str, Any]) -> None:
    versions = cycle["versions"]
    audit = versions[(versions["measure_id"] == "audit_score") & (versions["period"] == "2025-02")]
    audit = audit.sort_values("version")
    assert list(audit["version"]) == [1, 2]
    assert list(audit["value"]) == [72, 75]
    assert list(audit["file"]) == [
        "updates/updates_2025-02_ops.xlsx",
        "updates/updates_2025-02_ops_fix.csv",
    ]
    assert audit["superseded_at"].iloc[0] is not None and pd.isna(audit["superseded_at"].iloc[1])
    row = _value(cycle["corrected"], "audit_score", "month", "2025-02", "2025-02")
    assert row["value"] == 75
    history = cycle["history"]
    assert list(history["value"].dropna()) == [72, 75]
    last = history.iloc[-1]
    assert last["reason"] == "input_files_changed"
    assert "updates_2025-02_ops_fix.csv" in json.dumps(json.loads(last["reason_detail"]))


def test_commentary_shows_in_show_status_export_and_briefing(
    cycle: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from rich.console import Console

    from bsc_pipeline.briefing.assemble import assemble_briefing
    from bsc_pipeline.report import render_scorecard, render_status
    from bsc_pipeline.warehouse.export import export_scorecard

    settings = cycle["settings"]
    console = Console(record=True, width=300)
    render_scorecard(settings, "2025-02", console)
    shown = console.export_text()
    assert "Owners' commentary — 2025-02" in shown
    assert (
        "Median resolution time (ops): Two complex tickets took a week — next: "
        "Pair new agents with seniors" in shown
    )

    console = Console(record=True, width=300)
    render_status(replace(settings, commentary_days=3), console)
    status = console.export_text()
    missing = status.split("Commentary missing on red measures")[1]
    assert "Gross margin" in missing and "Net promoter score" in missing
    assert "Median resolution time" not in missing

    engine = sa.create_engine(settings.warehouse_url)
    path, _ = export_scorecard(engine, "2025-02", "csv", out=tmp_path / "feb.csv")
    exported = pd.read_csv(path).set_index("measure_id")
    assert exported.loc["audit_score", "commentary"] == "Recounted: one finding closed"
    assert pd.isna(exported.loc["gross_margin_pct", "commentary"])

    book = assemble_briefing(engine, "2025-02")
    rows = {m.measure_id: m for p in book.perspectives for o in p.objectives for m in o.measures}
    assert rows["revenue"].commentary == "Seasonal upswing"
    assert rows["nps"].commentary == ""
