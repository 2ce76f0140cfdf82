"""Gate results and quarantine rows reach the warehouse tables, and `bsc dq report` reads them."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from typer.testing import CliRunner

from bsc_pipeline.quality import dq_result_frame, gate_result_rows, quarantine_rows, run_gate
from bsc_pipeline.quality.cli import app
from bsc_pipeline.warehouse import schema

MONTH = "2025-03"


def _warehouse(tmp_path) -> tuple[sa.Engine, str]:
    url = f"sqlite:///{tmp_path / 'dq.db'}"
    engine = sa.create_engine(url)
    schema.metadata.create_all(engine, tables=[schema.dq_result, schema.quarantine_row])
    return engine, url


def _failed_gl(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[[2, 9], "account"] = ["9999", "8888"]
    return run_gate("gl_lines", MONTH, frame, context=make_context(), validator=validator)


def test_rows_insert_into_the_warehouse_tables(tmp_path, clean, validator, make_context):
    out = _failed_gl(clean, validator, make_context)
    engine, _ = _warehouse(tmp_path)
    rows = gate_result_rows(out.result, "run-1")
    with engine.begin() as c:
        c.execute(sa.insert(schema.dq_result), rows)
        c.execute(sa.insert(schema.quarantine_row), quarantine_rows(out.quarantine, "run-1"))
    with engine.connect() as c:
        dq = pd.read_sql(sa.select(schema.dq_result), c)
        quarantined = pd.read_sql(sa.select(schema.quarantine_row), c)
    assert len(dq) == len(out.result.expectations) + 1
    verdict = dq[dq["expectation"] == "gate"].iloc[0]
    assert (verdict["passed"], verdict["severity"], verdict["unexpected_count"]) == (
        False,
        "critical",
        2,
    )
    ref = dq[dq["expectation"] == "in_reference:account"].iloc[0]
    assert (ref["column"], ref["element_count"], ref["unexpected_count"]) == ("account", 20, 2)
    assert ref["sample"] == ["9999", "8888"]
    assert list(quarantined["line"]) == [4, 11]
    assert set(quarantined["rule"]) == {"in_reference:account"}
    assert set(quarantined["file"]) == {"finance/gl_2025-03.csv"}
    assert quarantined["raw"].str.contains('"account":"9999"').sum() == 1


def test_empty_quarantine_gives_no_rows():
    assert (
        quarantine_rows(
            pd.DataFrame(columns=["dataset", "month", "file", "line", "rule", "reason", "raw"]), "r"
        )
        == []
    )


def test_report_prints_the_latest_run(tmp_path, clean, validator, make_context):
    engine, url = _warehouse(tmp_path)
    failed = _failed_gl(clean, validator, make_context)
    fixed = run_gate(
        "survey_responses",
        MONTH,
        clean["survey_responses"],
        context=make_context(),
        validator=validator,
    )
    with engine.begin() as c:
        c.execute(sa.insert(schema.dq_result), gate_result_rows(fixed.result, "run-old"))
        c.execute(sa.insert(schema.dq_result), gate_result_rows(failed.result, "run-1"))
        c.execute(sa.insert(schema.dq_result), gate_result_rows(fixed.result, "run-2"))
    runner = CliRunner()
    result = runner.invoke(
        app, ["report", "--period", MONTH, "--warehouse", url, "--failed"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "gl_lines" in result.output and "in_reference:account" in result.output
    assert "9999, 8888" in result.output
    # survey_responses passed in its latest run, so --failed leaves it out.
    assert "survey_responses" not in result.output
    everything = runner.invoke(
        app, ["report", "--period", MONTH, "--warehouse", url], env={"COLUMNS": "200"}
    )
    assert "survey_responses" in everything.output
    assert everything.output.count("not_null:response_id") == 1


def test_report_without_results_exits_nonzero(tmp_path):
    _, url = _warehouse(tmp_path)
    result = CliRunner().invoke(app, ["report", "--period", "2025-04", "--warehouse", url])
    assert result.exit_code == 1 and "No gate results for 2025-04" in result.output


def test_report_refuses_a_bad_period(tmp_path):
    _, url = _warehouse(tmp_path)
    result = CliRunner().invoke(app, ["report", "--period", "March", "--warehouse", url])
    assert result.exit_code == 2


def test_frame_from_lake_json_matches_rows(clean, validator, make_context):
    result = _failed_gl(clean, validator, make_context).result
    frame = dq_result_frame([result.to_dict(), result], "run-9")
    assert len(frame) == 2 * (len(result.expectations) + 1)
    assert list(frame.iloc[0][["expectation", "passed", "unexpected_count"]]) == ["gate", False, 2]
    assert set(frame["run_id"]) == {"run-9"}


def test_report_as_json_and_as_plain_lines(tmp_path, clean, validator, make_context):
    import json

    engine, url = _warehouse(tmp_path)
    failed = _failed_gl(clean, validator, make_context)
    with engine.begin() as c:
        c.execute(sa.insert(schema.dq_result), gate_result_rows(failed.result, "run-1"))
    runner = CliRunner()
    args = ["report", "--period", MONTH, "--warehouse-url", url, "--failed"]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["period"] == MONTH
    check = next(r for r in payload["results"] if r["expectation"] == "in_reference:account")
    assert set(check) == {
        "dataset",
        "expectation",
        "column",
        "severity",
        "passed",
        "element_count",
        "unexpected_count",
        "sample",
        "run_id",
    }
    assert (check["dataset"], check["column"], check["run_id"]) == ("gl_lines", "account", "run-1")
    assert check["passed"] is False and check["sample"] == ["9999", "8888"]

    piped = runner.invoke(app, args)
    line = next(x for x in piped.stdout.splitlines() if "in_reference:account[" in x)
    assert line.startswith(f"{MONTH} gl_lines in_reference:account[account]: ")
    assert ": FAIL (" in line and "e.g. 9999, 8888" in line
