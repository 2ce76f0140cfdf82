"""The gate on small months corrupted one way at a time: verdict, named expectation, quarantine."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bsc_pipeline.quality import GateContext, GateResult, run_gate

MONTH = "2025-03"


def gate(dataset, frame, validator, context):
    return run_gate(dataset, MONTH, frame, context=context, validator=validator)


def outcome(result: GateResult, name: str):
    matches = [e for e in result.expectations if e.name == name]
    assert matches, f"{name} not among {[e.name for e in result.expectations]}"
    return matches[0]


@pytest.mark.parametrize(
    "dataset",
    [
        "chart_of_accounts",
        "accounts",
        "employees",
        "gl_lines",
        "survey_responses",
        "tickets",
        "engagement",
    ],
)
def test_clean_month_passes_every_check(dataset, clean, validator, make_context):
    frame = clean[dataset]
    out = gate(dataset, frame, validator, make_context([len(frame)] * 6))
    assert out.result.passed
    assert out.result.severity == "ok"
    assert out.result.reason is None
    assert [e.name for e in out.result.expectations if not e.passed] == []
    assert out.result.row_count == len(frame) and out.result.quarantined_count == 0
    assert out.quarantine.empty
    pd.testing.assert_frame_equal(out.staged, frame)


def test_clean_gl_month_runs_contract_and_explicit_rules(clean, validator, make_context):
    names = {
        e.name
        for e in gate("gl_lines", clean["gl_lines"], validator, make_context()).result.expectations
    }
    assert {
        "row_count",
        "column_present:entry_id",
        "column_type:amount",
        "volume",
        "not_null:entry_id",
        "unique:entry_id+line_no",
        "finite:amount",
        "in_month:posting_date",
        "in_reference:account",
    } <= names


def assert_quarantined(out, rule, positions, reason, frame):
    """The quarantine holds exactly the rows at `positions`, with rule, reason and lineage."""
    q = out.quarantine
    assert list(q["rule"]) == [rule] * len(positions)
    assert list(q["line"]) == [p + 2 for p in positions]
    assert set(q["file"]) == {frame["_source_file"].iloc[0]}
    assert list(q["reason"]) == reason if isinstance(reason, list) else [reason] * len(positions)
    assert set(q["dataset"]) == {out.result.dataset} and set(q["month"]) == {MONTH}
    assert out.result.quarantined_count == len(positions)
    assert len(out.staged) == len(frame) - len(positions)
    kept_lines = set(out.staged["_source_line"])
    assert not kept_lines & {p + 2 for p in positions}


def test_null_key_fails_and_quarantines_the_row(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[3, "entry_id"] = None
    out = gate("gl_lines", frame, validator, make_context())
    assert not out.result.passed and out.result.severity == "critical"
    failed = outcome(out.result, "not_null:entry_id")
    assert (failed.passed, failed.unexpected_count, failed.element_count) == (False, 1, 20)
    assert failed.sample == [None]
    assert_quarantined(out, "not_null:entry_id", [3], "entry_id is empty (required)", frame)
    raw = json.loads(out.quarantine["raw"].iloc[0])
    assert raw["entry_id"] is None and raw["line_no"] == 2 and "_source_line" not in raw
    assert "not_null:entry_id" in out.result.reason


def test_duplicate_key_quarantines_every_copy(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[5, ["entry_id", "line_no"]] = ["J00002", 1]
    out = gate("gl_lines", frame, validator, make_context())
    assert not out.result.passed
    failed = outcome(out.result, "unique:entry_id+line_no")
    assert failed.unexpected_count == 2 and failed.sample == [["J00002", 1]]
    reason = "key entry_id=J00002, line_no=1 appears 2 times"
    assert_quarantined(out, "unique:entry_id+line_no", [4, 5], reason, frame)


def test_score_out_of_range(clean, validator, make_context):
    frame = clean["survey_responses"]
    frame.loc[7, "score"] = 11
    out = gate("survey_responses", frame, validator, make_context())
    assert not out.result.passed
    failed = outcome(out.result, "range:score")
    assert (failed.unexpected_count, failed.sample) == (1, [11])
    assert_quarantined(out, "range:score", [7], "score 11 is outside [0, 10]", frame)


def test_gl_account_not_in_chart_of_accounts(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[[2, 9], "account"] = ["9999", "8888"]
    out = gate("gl_lines", frame, validator, make_context())
    assert not out.result.passed
    failed = outcome(out.result, "in_reference:account")
    assert failed.unexpected_count == 2 and failed.sample == ["9999", "8888"]
    reasons = [
        "account '9999' is not in chart_of_accounts",
        "account '8888' is not in chart_of_accounts",
    ]
    assert_quarantined(out, "in_reference:account", [2, 9], reasons, frame)


def test_survey_account_unknown(clean, validator, make_context):
    frame = clean["survey_responses"]
    frame.loc[0, "account_id"] = "A99"
    out = gate("survey_responses", frame, validator, make_context())
    assert not out.result.passed
    assert_quarantined(
        out, "in_reference:account_id", [0], "account_id 'A99' is not in accounts", frame
    )


def test_engagement_department_unknown(clean, validator, make_context):
    frame = clean["engagement"]
    frame.loc[4, "department"] = "Legal"
    out = gate("engagement", frame, validator, make_context())
    assert not out.result.passed
    assert outcome(out.result, "in_reference:department").sample == ["Legal"]
    assert_quarantined(
        out, "in_reference:department", [4], "department 'Legal' is not in departments", frame
    )


def test_ticket_resolved_before_created(clean, validator, make_context):
    frame = clean["tickets"]
    frame.loc[1, "resolved_at"] = pd.Timestamp("2025-03-01 08:30")
    out = gate("tickets", frame, validator, make_context())
    assert not out.result.passed
    reason = "resolved_at 2025-03-01 08:30:00 is before created_at 2025-03-02 09:00:00"
    assert_quarantined(out, "not_before:resolved_at", [1], reason, frame)


def test_posting_date_outside_the_month(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[[0, 19], "posting_date"] = pd.to_datetime(["2025-02-28", "2025-04-01"])
    out = gate("gl_lines", frame, validator, make_context())
    assert not out.result.passed
    failed = outcome(out.result, "in_month:posting_date")
    assert failed.sample == ["2025-02-28T00:00:00", "2025-04-01T00:00:00"]
    reasons = [
        "posting_date 2025-02-28 is outside the partition month 2025-03",
        "posting_date 2025-04-01 is outside the partition month 2025-03",
    ]
    assert_quarantined(out, "in_month:posting_date", [0, 19], reasons, frame)


def test_last_day_of_month_is_inside(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[0, "posting_date"] = pd.Timestamp("2025-03-31")
    assert gate("gl_lines", frame, validator, make_context()).result.passed


def test_infinite_amount(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[6, "amount"] = np.inf
    out = gate("gl_lines", frame, validator, make_context())
    assert not out.result.passed
    assert outcome(out.result, "finite:amount").sample == ["inf"]
    assert_quarantined(out, "finite:amount", [6], "amount is inf, expected a finite number", frame)


def test_zero_rows_is_critical(clean, validator, make_context):
    frame = clean["gl_lines"].iloc[0:0]
    out = gate("gl_lines", frame, validator, make_context())
    assert not out.result.passed and out.result.severity == "critical"
    failed = outcome(out.result, "row_count")
    assert (failed.passed, failed.sample, failed.note) == (False, [0], "no rows for the month")
    assert out.quarantine.empty and out.staged.empty
    assert "volume" not in {e.name for e in out.result.expectations}


def test_volume_far_above_recent_median_warns(clean, validator, make_context):
    out = gate("gl_lines", clean["gl_lines"], validator, make_context([4] * 6))
    assert out.result.passed and out.result.severity == "warning"
    failed = outcome(out.result, "volume")
    assert (failed.passed, failed.severity, failed.sample) == (False, "warning", [20])
    assert "[0.25, 4] × the median 4" in failed.note and "of the last 6 months" in failed.note
    assert out.quarantine.empty


def test_volume_far_below_recent_median_warns_and_completeness_holds(
    clean, validator, make_context
):
    out = gate("gl_lines", clean["gl_lines"], validator, make_context([100] * 6))
    assert not out.result.passed and out.result.severity == "critical"
    assert outcome(out.result, "volume").severity == "warning"
    held = outcome(out.result, "completeness")
    assert (held.passed, held.severity, held.sample) == (False, "critical", [20])
    assert out.result.reason.startswith("completeness: 20 rows is 20% of the usual 100")


def test_volume_uses_only_the_last_six_months(clean, validator, make_context):
    # Median of the newest six is 10: 20 rows sit inside [2.5, 40]; older huge months are ignored.
    out = gate("gl_lines", clean["gl_lines"], validator, make_context([10] * 6 + [1000] * 6))
    assert outcome(out.result, "volume").passed


def test_volume_without_history_is_not_checked(clean, validator, make_context):
    out = gate("gl_lines", clean["gl_lines"], validator, make_context([]))
    assert out.result.severity == "ok"
    assert "volume" not in {e.name for e in out.result.expectations}


def test_missing_column_fails_and_skips_its_row_rules(clean, validator, make_context):
    frame = clean["gl_lines"].drop(columns=["amount"])
    out = gate("gl_lines", frame, validator, make_context())
    assert not out.result.passed
    failed = outcome(out.result, "column_present:amount")
    assert (failed.passed, failed.severity, failed.sample) == (False, "critical", ["amount"])
    skipped = outcome(out.result, "finite:amount")
    assert not skipped.passed and skipped.note.startswith("not run")
    assert out.quarantine.empty


def test_wrong_type_fails_with_expected_and_seen(clean, validator, make_context):
    frame = clean["survey_responses"]
    frame["score"] = frame["score"].astype(str) + " pts"
    out = gate("survey_responses", frame, validator, make_context())
    assert not out.result.passed
    failed = outcome(out.result, "column_type:score")
    assert failed.note == "expected whole numbers (int), got str"
    assert outcome(out.result, "range:score").note.startswith("not run")
    assert out.quarantine.empty


def test_int_column_read_as_float_without_fractions_is_accepted(clean, validator, make_context):
    frame = clean["tickets"]
    frame["reopens"] = frame["reopens"].astype(float).where(frame.index != 3)
    assert outcome(
        gate("tickets", frame, validator, make_context()).result, "column_type:reopens"
    ).passed
    frame.loc[4, "reopens"] = 1.5
    assert not outcome(
        gate("tickets", frame, validator, make_context()).result, "column_type:reopens"
    ).passed


def test_few_bad_rows_within_tolerance_pass_but_are_quarantined(validator, make_context, make_gl):
    frame = make_gl(200)
    frame.loc[10, "account"] = "9999"
    out = gate("gl_lines", frame, validator, make_context([200] * 6))
    assert out.result.passed and out.result.severity == "ok"
    kept = outcome(out.result, "in_reference:account")
    assert kept.passed and kept.unexpected_count == 1
    assert list(out.quarantine["line"]) == [12] and len(out.staged) == 199


def test_tolerance_boundary(validator, make_context, make_gl):
    # 2 of 200 rows is exactly 1%: still within `mostly` 0.99; 3 rows is not.
    frame = make_gl(200)
    frame.loc[[10, 20], "account"] = "9999"
    assert gate("gl_lines", frame, validator, make_context([200] * 6)).result.passed
    frame.loc[30, "account"] = "9999"
    assert not gate("gl_lines", frame, validator, make_context([200] * 6)).result.passed


def test_row_failing_two_rules_is_quarantined_once_per_rule(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[8, ["account", "posting_date"]] = ["9999", pd.Timestamp("2025-05-01")]
    out = gate("gl_lines", frame, validator, make_context())
    assert sorted(out.quarantine["rule"]) == ["in_month:posting_date", "in_reference:account"]
    assert out.result.quarantined_count == 1 and len(out.staged) == 19


def test_missing_reference_warns_instead_of_failing(clean, validator):
    out = run_gate("gl_lines", MONTH, clean["gl_lines"], context=GateContext(), validator=validator)
    assert out.result.passed and out.result.severity == "warning"
    skipped = outcome(out.result, "in_reference:account")
    assert skipped.severity == "warning" and "chart_of_accounts is not available" in skipped.note


def test_missing_optional_column_warns(clean, validator, make_context):
    out = gate("gl_lines", clean["gl_lines"].drop(columns=["memo"]), validator, make_context())
    assert out.result.passed and out.result.severity == "warning"
    assert outcome(out.result, "column_present:memo").note == "column 'memo' is missing"


def test_missing_optional_column_only_warns_for_its_rules(clean, validator, make_context):
    out = gate("tickets", clean["tickets"].drop(columns=["resolved_at"]), validator, make_context())
    assert out.result.passed and out.result.severity == "warning"
    skipped = outcome(out.result, "not_before:resolved_at")
    assert (skipped.passed, skipped.severity) == (False, "warning")
    assert skipped.note == "not run: column resolved_at is missing or mistyped"


def test_frame_without_lineage_still_quarantines(clean, validator, make_context):
    frame = clean["gl_lines"].drop(columns=["_source_file", "_source_line"])
    frame.loc[0, "account"] = "9999"
    out = gate("gl_lines", frame, validator, make_context())
    assert out.quarantine["file"].isna().all() and out.quarantine["line"].isna().all()


def test_metadata_is_json_safe_and_names_what_failed(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[2, "account"] = "9999"
    result = gate("gl_lines", frame, validator, make_context([4] * 6)).result
    meta = result.to_metadata()
    json.dumps(meta)
    failed = {f["name"]: f for f in meta["failed_expectations"]}
    assert set(failed) == {"in_reference:account", "volume"}
    assert failed["in_reference:account"]["unexpected_count"] == 1
    assert failed["in_reference:account"]["sample"] == ["9999"]
    assert (meta["passed"], meta["quarantined_count"], meta["row_count"]) == (False, 1, 20)


def test_result_round_trips_through_json(clean, validator, make_context):
    frame = clean["gl_lines"]
    frame.loc[[4, 5], "posting_date"] = pd.Timestamp("2024-01-01")
    result = gate("gl_lines", frame, validator, make_context()).result
    assert GateResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_unknown_dataset_is_refused(clean, validator, make_context):
    with pytest.raises(KeyError, match="no quality suite for dataset 'gl_line'"):
        gate("gl_line", clean["gl_lines"], validator, make_context())
