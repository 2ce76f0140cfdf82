"""Completeness: a month far below its usual volume, or without a file, holds; people decide.

The clean gl_lines month has 20 rows; the history around it sets how complete that is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bsc_pipeline.quality import GateContext, run_gate
from bsc_pipeline.quality.decisions import Decision, apply_decision
from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources.contracts import ContractError, load_contracts

MONTH = "2025-03"


def completeness(result):
    return next(e for e in result.expectations if e.name == "completeness")


def contracts_with(tmp_path: Path, dataset: str, rule: dict) -> Path:
    """The project's contracts with one dataset's completeness rule changed."""
    loaded = yaml.safe_load((PROJECT_ROOT / "sources" / "contracts.yaml").read_text())
    loaded["datasets"][dataset]["completeness"] = rule
    path = tmp_path / "contracts.yaml"
    path.write_text(yaml.safe_dump(loaded), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("usual", "share"),
    [(2000, "1%"), (200, "10%"), (66, "30%")],
)
def test_a_month_cut_to_a_share_of_its_usual_rows_is_held(
    usual, share, clean, validator, make_context
):
    out = run_gate(
        "gl_lines", MONTH, clean["gl_lines"], context=make_context([usual] * 6), validator=validator
    )
    assert not out.result.passed and out.result.severity == "critical"
    held = completeness(out.result)
    assert (held.passed, held.severity) == (False, "critical")
    assert f"20 rows is {share} of the usual {usual}" in held.note
    assert "held below 50%" in held.note
    assert len(out.staged) == 20, "completeness judges the month; it quarantines no row"


def test_a_lowered_threshold_lets_30_percent_publish(clean, validator, make_context, tmp_path):
    seasonal = contracts_with(tmp_path, "gl_lines", {"min_ratio": 0.25})
    out = run_gate(
        "gl_lines",
        MONTH,
        clean["gl_lines"],
        context=make_context([66] * 6),
        validator=validator,
        contracts_path=seasonal,
    )
    assert out.result.passed
    assert completeness(out.result).passed
    assert out.result.severity == "ok"


def test_warning_severity_reports_the_drop_without_holding(
    clean, validator, make_context, tmp_path
):
    reported = contracts_with(tmp_path, "gl_lines", {"severity": "warning"})
    out = run_gate(
        "gl_lines",
        MONTH,
        clean["gl_lines"],
        context=make_context([200] * 6),
        validator=validator,
        contracts_path=reported,
    )
    assert out.result.passed and out.result.severity == "warning"
    assert not completeness(out.result).passed


def test_months_without_a_file_are_left_out_of_the_baseline(clean, validator, make_context):
    # Counted as 0 rows, the four undelivered months would make the median 0 and skip the check.
    recent = [None, None, None, None, 100, 100]
    out = run_gate(
        "gl_lines", MONTH, clean["gl_lines"], context=make_context(recent), validator=validator
    )
    assert not completeness(out.result).passed
    assert "median of the 2 months with a file among the last 6" in completeness(out.result).note


def test_baseline_months_sets_how_far_back_the_median_looks(
    clean, validator, make_context, tmp_path
):
    two = contracts_with(tmp_path, "gl_lines", {"baseline_months": 2})
    out = run_gate(
        "gl_lines",
        MONTH,
        clean["gl_lines"],
        context=make_context([30, 30, 1000, 1000, 1000, 1000]),
        validator=validator,
        contracts_path=two,
    )
    assert completeness(out.result).passed


def test_no_history_no_completeness_check(clean, validator, make_context):
    out = run_gate(
        "gl_lines", MONTH, clean["gl_lines"], context=make_context([None] * 6), validator=validator
    )
    assert "completeness" not in {e.name for e in out.result.expectations}
    assert out.result.passed


@pytest.mark.parametrize("dataset", ["gl_lines", "chart_of_accounts"])
def test_a_period_or_snapshot_dataset_without_a_file_is_held(
    dataset, clean, validator, make_context
):
    base = make_context()
    context = GateContext(references=base.references, files_read=0)
    out = run_gate(dataset, MONTH, clean[dataset].iloc[0:0], context=context, validator=validator)
    assert not out.result.passed
    assert out.result.reason.startswith("file_present: no file for the month in the landing zone")


def test_an_incremental_dataset_is_judged_by_volume_not_by_file(clean, validator, make_context):
    context = replace(make_context([len(clean["tickets"])] * 6), files_read=0)
    out = run_gate("tickets", MONTH, clean["tickets"], context=context, validator=validator)
    assert "file_present" not in {e.name for e in out.result.expectations}
    assert out.result.passed


def test_contract_refuses_a_ratio_above_one(tmp_path):
    with pytest.raises(ContractError, match=r"completeness\.min_ratio"):
        load_contracts(contracts_with(tmp_path, "gl_lines", {"min_ratio": 1.5}))


def _decision(kind: str) -> Decision:
    return Decision(1, "gl_lines", MONTH, kind, "office closed", "ana", datetime.now(UTC))  # type: ignore[arg-type]


def test_accept_releases_a_held_verdict_and_keeps_what_failed(clean, validator, make_context):
    held = run_gate(
        "gl_lines", MONTH, clean["gl_lines"], context=make_context([200] * 6), validator=validator
    ).result
    released = apply_decision(held, _decision("accept"))
    assert released.passed and released.severity == "warning"
    assert released.reason.startswith("decision: accepted by ana: office closed (gate: ")
    assert not completeness(released).passed, "the drop stays on record"
    assert released.decision["decision_id"] == 1
    clean_result = run_gate(
        "gl_lines", MONTH, clean["gl_lines"], context=make_context(), validator=validator
    ).result
    assert apply_decision(clean_result, _decision("accept")) == clean_result


def test_reject_holds_even_a_verdict_that_passed(clean, validator, make_context):
    passed = run_gate(
        "gl_lines", MONTH, clean["gl_lines"], context=make_context(), validator=validator
    ).result
    rejected = apply_decision(passed, _decision("reject"))
    assert not rejected.passed and rejected.severity == "critical"
    assert rejected.reason == "decision: rejected by ana: office closed"
