"""A corrected input file restates the values that read it, and the reason names the file and
both checksums; values that do not read it do not move. Real Dagster runs."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.settings import Settings
from bsc_pipeline.trust.explain import explain_value
from bsc_pipeline.warehouse import make_engine

pytestmark = pytest.mark.slow

# A late credit note: February's revenue falls from 1,500 to 500.
CORRECTED_GL = """entry_id,line_no,posting_date,account,amount,department,memo
E3,1,2025-02-03,1000,1200.00,,invoice 2
E3,2,2025-02-03,4000,-1200.00,,invoice 2
E4,1,2025-02-14,1000,300.00,,invoice 3
E4,2,2025-02-14,4000,-300.00,,invoice 3
E5,1,2025-02-25,5000,900.00,Ops,subcontractor
E5,2,2025-02-25,1000,-900.00,Ops,subcontractor
E6,1,2025-02-27,4000,1000.00,,credit note
E6,2,2025-02-27,1000,-1000.00,,credit note
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_corrected_file_is_the_reason_named_with_its_checksums(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(tiny_settings.landing_dir, landing)
    settings = replace(tiny_settings, landing_dir=landing)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    assert job.execute_in_process(partition_key="2025-02").success

    gl = landing / "gl_lines" / "gl_lines_2025-02.csv"
    before = _sha(gl)
    gl.write_text(CORRECTED_GL)
    after = _sha(gl)
    assert job.execute_in_process(partition_key="2025-02").success

    engine = make_engine(settings.warehouse_url)
    with engine.connect() as conn:
        history = pd.read_sql(
            sa.text(
                "SELECT measure_id, period_type, value, reason, restatement_reason, reason_detail "
                "FROM measure_value_history WHERE reason <> 'first_publication'"
            ),
            conn,
        )
    # revenue, gross profit and margin read gl_lines; nothing else moved
    assert set(history["measure_id"]) <= {"revenue", "cogs", "gross_profit", "gross_margin_pct"}
    assert set(history["reason"]) == {"input_files_changed"}
    revenue = history[(history["measure_id"] == "revenue") & (history["period_type"] == "month")]
    assert revenue["value"].iloc[0] == pytest.approx(500.0)
    assert revenue["restatement_reason"].iloc[0] == (
        "input files changed: gl_lines/gl_lines_2025-02.csv corrected "
        f"(sha256 {before[:12]} → {after[:12]})"
    )
    detail = json.loads(revenue["reason_detail"].iloc[0])
    assert detail["files"] == [
        {
            "dataset": "gl_lines",
            "file": "gl_lines/gl_lines_2025-02.csv",
            "change": "changed",
            "sha256_before": before,
            "sha256_after": after,
        }
    ]

    quarter = explain_value(engine, "revenue", "2025-02", "quarter")
    assert quarter["value"]["period"] == "FY2025-Q1"
    assert [p["reason"] for p in quarter["publications"]] == [
        "first_publication",
        "input_files_changed",
    ]
    assert [f["sha256"] for f in quarter["files"]] == [after]
    engine.dispose()
