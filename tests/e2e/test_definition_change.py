"""A changed definition restates open months only, with its reason; a retired measure keeps its
history; `bsc spec diff` says so beforehand and `bsc explain` afterwards. Real Dagster runs."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import typer
import yaml
from typer.testing import CliRunner

from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.settings import Settings
from bsc_pipeline.trust.cli import explain_command, spec_diff_command
from bsc_pipeline.warehouse import close_period, make_engine

pytestmark = pytest.mark.slow

# NPS counted over promoters only: January 2 of 4 responses (was (2 - 1) / 4), February 1 of 3
# (was (1 - 2) / 3). gross_margin_pct leaves the spec.
NEW_NPS = "100 * promoters / responses"


def _query(settings: Settings, sql: str) -> pd.DataFrame:
    engine = make_engine(settings.warehouse_url)
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(sql), conn)
    engine.dispose()
    return frame


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("explain")(explain_command)
    app.command("diff")(spec_diff_command)
    return app


def _new_spec(old: Path, new: Path) -> None:
    data = yaml.safe_load(old.read_text())
    data["measures"] = [m for m in data["measures"] if m["id"] != "gross_margin_pct"]
    for measure in data["measures"]:
        if measure["id"] == "nps":
            measure["formula"] = NEW_NPS
    new.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory, tiny_settings_at) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """January and February published, January closed, then the spec changed and February
    re-run (January refused), then February re-run once more with nothing changed."""
    work = tmp_path_factory.mktemp("definition_change")
    base = tiny_settings_at(work)
    old_spec, new_spec = work / "old.yaml", work / "new.yaml"
    shutil.copy(base.spec_path, old_spec)
    _new_spec(old_spec, new_spec)
    settings = replace(base, spec_path=old_spec)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    for month in ("2025-01", "2025-02"):
        assert job.execute_in_process(partition_key=month).success
    engine = make_engine(settings.warehouse_url)
    assert close_period(engine, "2025-01")
    engine.dispose()

    args = ["diff", str(old_spec), str(new_spec), "--warehouse-url", settings.warehouse_url]
    diff = CliRunner().invoke(_cli(), args)
    diff_json = CliRunner().invoke(_cli(), [*args, "--format", "json"])
    before = _query(settings, "SELECT * FROM measure_value_history")

    settings = replace(settings, spec_path=new_spec)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    january = job.execute_in_process(partition_key="2025-01", raise_on_error=False)
    assert job.execute_in_process(partition_key="2025-02").success
    after = _query(settings, "SELECT * FROM measure_value_history")
    assert job.execute_in_process(partition_key="2025-02").success
    yield {
        "settings": settings,
        "diff": diff,
        "diff_json": diff_json,
        "january_refused": not january.success,
        "history_before": before,
        "history_after": after,
        "old_spec": old_spec,
        "new_spec": new_spec,
    }


def _nps(settings: Settings, period: str) -> pd.Series:
    return _query(
        settings,
        f"SELECT actual, status FROM v_scorecard_monthly "
        f"WHERE measure_id = 'nps' AND period = '{period}'",
    ).iloc[0]


def test_open_month_is_restated_with_the_reason_and_closed_month_is_not(changed):
    settings = changed["settings"]
    assert changed["january_refused"]
    assert _nps(settings, "2025-01")["actual"] == pytest.approx(25.0)
    february = _nps(settings, "2025-02")
    assert february["actual"] == pytest.approx(100 / 3)
    assert february["status"] == "green"  # was -33.3, red

    history = _query(
        settings,
        "SELECT value, reason, restatement_reason, definition_version, reason_detail "
        "FROM measure_value_history WHERE measure_id = 'nps' AND period_type = 'month' "
        "AND period = '2025-02' ORDER BY history_id",
    )
    assert list(history["reason"]) == ["first_publication", "definition_changed"]
    assert list(history["value"]) == pytest.approx([-100 / 3, 100 / 3])
    old_version, new_version = history["definition_version"]
    assert old_version != new_version
    detail = json.loads(history["reason_detail"].iloc[1])
    assert detail["definition"] == {"from": old_version, "to": new_version}
    assert history["restatement_reason"].iloc[1] == (
        f"definition changed ({old_version} → {new_version})"
    )
    # every period type of February that moved says why; nothing of January moved
    moved = changed["history_after"].merge(changed["history_before"], how="left", indicator=True)
    moved = moved[moved["_merge"] == "left_only"]
    assert set(moved["measure_id"]) == {"nps"}
    assert set(moved["as_of_month"]) == {"2025-02"}
    assert set(moved["reason"]) == {"definition_changed"}


def test_a_rerun_with_the_same_inputs_and_definitions_writes_no_history(changed):
    settings = changed["settings"]
    now = _query(settings, "SELECT * FROM measure_value_history")
    assert len(now) == len(changed["history_after"])


def test_definition_history_view_shows_when_nps_changed(changed):
    rows = _query(
        changed["settings"],
        "SELECT definition_version, previous_version, first_as_of_month, superseded_at, "
        "formula, retired FROM v_measure_definition_history WHERE measure_id = 'nps' "
        "ORDER BY first_published_at",
    )
    assert list(rows["formula"]) == ["100 * (promoters - detractors) / responses", NEW_NPS]
    assert rows["previous_version"].iloc[1] == rows["definition_version"].iloc[0]
    assert list(rows["first_as_of_month"]) == ["2025-01", "2025-02"]
    assert list(rows["superseded_at"].isna()) == [False, True]
    assert not rows["retired"].astype(bool).any()


def test_a_retired_measure_keeps_its_facts_and_history(changed):
    settings = changed["settings"]
    facts = _query(
        settings,
        "SELECT as_of_month FROM fact_measure_period WHERE measure_id = 'gross_margin_pct'",
    )
    assert set(facts["as_of_month"]) == {"2025-01", "2025-02"}
    history = _query(
        settings, "SELECT reason FROM measure_value_history WHERE measure_id = 'gross_margin_pct'"
    )
    before = changed["history_before"]
    assert len(history) == (before["measure_id"] == "gross_margin_pct").sum() > 0
    dim = _query(settings, "SELECT in_spec FROM dim_measure WHERE measure_id = 'gross_margin_pct'")
    assert not bool(dim["in_spec"].iloc[0])
    view = _query(
        settings,
        "SELECT retired FROM v_measure_definition_history WHERE measure_id = 'gross_margin_pct'",
    )
    assert view["retired"].astype(bool).all()


def test_spec_diff_names_the_changes_and_the_months_that_would_move(changed):
    diff = changed["diff"]
    assert diff.exit_code == 0, diff.output
    lines = diff.output.splitlines()
    nps = next(line for line in lines if " nps " in line)
    assert nps.split()[0] == "changed" and "own formula" in nps and NEW_NPS in nps
    margin = next(line for line in lines if " gross_margin_pct " in line)
    assert margin.split()[0] == "removed" and "retired" in margin
    assert "nps: a run restates open 2025-02 (reason definition_changed)" in diff.output
    assert "nps: closed 2025-01 would not move until reopened" in diff.output
    assert not any(line.split()[:1] == ["changed"] and "revenue" in line for line in lines)

    data = json.loads(changed["diff_json"].output)
    kinds = {m["measure_id"]: m["change"] for m in data["measures"]}
    assert kinds == {"nps": "changed", "gross_margin_pct": "removed"}
    assert data["warehouse"]["open_months"] == {"nps": ["2025-02"]}
    assert data["warehouse"]["closed_months"] == {"nps": ["2025-01"]}


def test_spec_diff_sees_a_change_through_a_dependency(changed, tmp_path):
    data = yaml.safe_load(changed["old_spec"].read_text())
    for measure in data["measures"]:
        if measure["id"] == "gross_profit":
            measure["formula"] = "revenue - 2 * cogs"
    new = tmp_path / "margin.yaml"
    new.write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(_cli(), ["diff", str(changed["old_spec"]), str(new)])
    assert result.exit_code == 0, result.output
    margin = next(line for line in result.output.splitlines() if " gross_margin_pct " in line)
    assert "through gross_profit" in margin and "own" not in margin
    same = CliRunner().invoke(_cli(), ["diff", str(new), str(new)])
    assert same.output.startswith("No measure changes")


def test_explain_a_restated_value_in_text_and_json(changed):
    settings = changed["settings"]
    args = ["explain", "--measure", "nps", "--period", "2025-02"]
    url = ["--warehouse-url", settings.warehouse_url]
    text = CliRunner().invoke(_cli(), [*args, *url])
    assert text.exit_code == 0, text.output
    survey = settings.landing_dir / "survey_responses" / "survey_responses_2025-02.csv"
    sha = hashlib.sha256(survey.read_bytes()).hexdigest()
    assert f"survey_responses/survey_responses_2025-02.csv  {survey.stat().st_size} bytes" in (
        text.output
    )
    assert sha in text.output
    assert f"formula     {NEW_NPS}" in text.output
    assert "survey_responses   passed: 3 rows, 0 quarantined" in text.output
    assert "definition_changed — definition changed (" in text.output
    assert "\x1b[" not in text.output  # plain text in a pipe

    result = CliRunner().invoke(_cli(), [*args, *url, "--format", "json"])
    data = json.loads(result.output)
    assert data["value"]["value"] == pytest.approx(100 / 3)
    assert data["datasets"] == ["survey_responses"]
    assert data["definition"]["formula"] == NEW_NPS
    assert data["definition"]["definition_version"] == data["value"]["definition_version"]
    assert [f["sha256"] for f in data["files"]] == [sha]
    assert [p["reason"] for p in data["publications"]] == [
        "first_publication",
        "definition_changed",
    ]
    verdicts = [g for g in data["gates"] if g["expectation"] == "gate"]
    assert [(g["dataset"], g["passed"], g["element_count"]) for g in verdicts] == [
        ("survey_responses", True, 3)
    ]
    assert data["quarantine"] == {"count": 0, "sample": []}


def test_explain_an_unknown_measure_or_period_is_a_usage_error(changed):
    url = ["--warehouse-url", changed["settings"].warehouse_url]
    unknown = CliRunner().invoke(
        _cli(), ["explain", "--measure", "nope", "--period", "2025-02", *url]
    )
    assert unknown.exit_code == 2 and "unknown measure 'nope'" in unknown.output
    empty = CliRunner().invoke(_cli(), ["explain", "--measure", "nps", "--period", "2024-06", *url])
    assert empty.exit_code == 2
    assert "published periods: 2025-01, 2025-02" in empty.output


def test_trust_definitions_lists_each_version(changed):
    from bsc_pipeline.trust.cli import app

    url = ["--warehouse-url", changed["settings"].warehouse_url]
    text = CliRunner().invoke(app, ["definitions", "--measure", "nps", *url])
    assert text.exit_code == 0, text.output
    states = [line.split()[2] for line in text.output.splitlines()]
    assert states == ["old", "current"]
    assert text.output.splitlines()[1].endswith(NEW_NPS)
    retired = CliRunner().invoke(
        app, ["definitions", "--measure", "gross_margin_pct", "--format", "json", *url]
    )
    assert [r["retired"] for r in json.loads(retired.output)] == [1]
    unknown = CliRunner().invoke(app, ["definitions", "--measure", "nope", *url])
    assert unknown.exit_code == 2
