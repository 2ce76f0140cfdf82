"""`bsc explain` on a held value: the failed gate, the quarantined rows by file and line, and
the published figure kept. Real Dagster runs on the tiny company."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.settings import Settings
from bsc_pipeline.trust.explain import explain_value, render_text
from bsc_pipeline.warehouse import make_engine

pytestmark = pytest.mark.slow

SURVEY_FEB = "survey_responses/survey_responses_2025-02.csv"
# Scores of 11 and 12 are outside 0–10: two of three rows fail the gate.
BROKEN_SURVEY = """response_id,account_id,response_date,score
S5,A1,2025-02-02,10
S6,A2,2025-02-09,11
S7,A2,2025-02-16,12
"""


def test_explain_a_held_value_names_the_gate_and_the_quarantined_rows(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(tiny_settings.landing_dir, landing)
    settings = replace(tiny_settings, landing_dir=landing)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    assert job.execute_in_process(partition_key="2025-02").success
    (landing / SURVEY_FEB).write_text(BROKEN_SURVEY)
    assert job.execute_in_process(partition_key="2025-02").success

    engine = make_engine(settings.warehouse_url)
    explained = explain_value(engine, "nps", "2025-02")
    engine.dispose()
    value = explained["value"]
    assert (value["status"], value["data_state"]) == ("held", "held")
    assert value["value"] == pytest.approx(-100 / 3)  # the published figure is kept
    verdict = next(g for g in explained["gates"] if g["expectation"] == "gate")
    assert not verdict["passed"] and verdict["element_count"] == 3
    quarantine = explained["quarantine"]
    assert quarantine["count"] == 2
    assert [(q["file"], q["line"]) for q in quarantine["sample"]] == [
        (SURVEY_FEB, 3),
        (SURVEY_FEB, 4),
    ]
    assert [p["status"] for p in explained["publications"]] == ["red", "held"]

    text = render_text(explained)
    assert "survey_responses   FAILED (critical): 3 rows, 2 quarantined" in text
    assert f"  {SURVEY_FEB}:3  " in text
    assert "Quarantined rows: 2" in text
