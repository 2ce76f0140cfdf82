"""The reason stored with a changed value, decided from the facts publishing gathers."""

from __future__ import annotations

from bsc_pipeline.trust.reasons import (
    FileChange,
    PreviousPublication,
    change_reason,
    file_changes,
)

BEFORE = [
    {"dataset": "gl_lines", "file": "gl_lines/gl_lines_2025-02.csv", "sha256": "a" * 64},
    {"dataset": "tickets", "file": "tickets/tickets_2025-02.csv", "sha256": "b" * 64},
]
PREVIOUS = PreviousPublication(run_id="r1", definition_version="v1", data_state="complete")


def _reason(**changes):  # type: ignore[no-untyped-def]
    facts = {
        "previous": PREVIOUS,
        "definition_version": "v1",
        "changed_files": [],
        "reopen_reason": None,
        "datasets": ("gl_lines",),
    }
    return change_reason(**{**facts, **changes})


def test_file_changes_are_limited_to_the_measures_datasets():
    after = [
        {**BEFORE[0], "sha256": "c" * 64},
        {"dataset": "gl_lines", "file": "gl_lines/late.csv", "sha256": "d" * 64},
        {**BEFORE[1], "sha256": "e" * 64},
    ]
    changes = file_changes(BEFORE, after, {"gl_lines"})
    assert changes == [
        FileChange("gl_lines", "gl_lines/gl_lines_2025-02.csv", "changed", "a" * 64, "c" * 64),
        FileChange("gl_lines", "gl_lines/late.csv", "added", None, "d" * 64),
    ]
    assert file_changes(BEFORE, BEFORE[:1], {"tickets"})[0].change == "removed"
    assert file_changes(BEFORE, BEFORE, {"gl_lines", "tickets"}) == []


def test_first_publication():
    reason = _reason(previous=None)
    assert (reason.code, reason.text) == ("first_publication", None)


def test_a_corrected_file_is_named_with_both_checksums():
    changed = file_changes(BEFORE, [{**BEFORE[0], "sha256": "c" * 64}], {"gl_lines"})
    reason = _reason(changed_files=changed)
    assert reason.code == "input_files_changed"
    assert reason.text == (
        "input files changed: gl_lines/gl_lines_2025-02.csv corrected "
        f"(sha256 {'a' * 12} → {'c' * 12})"
    )
    assert reason.detail["files"][0]["sha256_after"] == "c" * 64
    assert reason.detail["previous_run_id"] == "r1"


def test_a_definition_change_comes_first_and_every_cause_is_kept():
    changed = file_changes(BEFORE, [{**BEFORE[0], "sha256": "c" * 64}], {"gl_lines"})
    reason = _reason(definition_version="v2", changed_files=changed)
    assert reason.code == "definition_changed"
    assert reason.detail["causes"] == ["definition_changed", "input_files_changed"]
    assert reason.detail["definition"] == {"from": "v1", "to": "v2"}


def test_an_unknown_earlier_version_is_not_a_definition_change():
    legacy = PreviousPublication(run_id="r0", definition_version=None, data_state="complete")
    assert _reason(previous=legacy, definition_version="v2").code == "restatement"


def test_a_released_hold_counts_only_for_a_held_value_of_a_released_dataset():
    held = PreviousPublication(run_id="r1", definition_version="v1", data_state="held")
    assert _reason(previous=held, released_holds={"gl_lines"}).code == "hold_released"
    assert _reason(previous=held, released_holds={"tickets"}).code == "restatement"
    assert _reason(released_holds={"gl_lines"}).code == "restatement"


def test_a_reopened_period_keeps_the_persons_words():
    reason = _reason(reopen_reason="late credit note E6")
    assert (reason.code, reason.text) == ("period_reopened", "late credit note E6")
    changed = file_changes(BEFORE, [{**BEFORE[0], "sha256": "c" * 64}], {"gl_lines"})
    both = _reason(reopen_reason="late credit note E6", changed_files=changed)
    assert (both.code, both.text) == ("input_files_changed", "late credit note E6")
    assert both.detail["causes"] == ["input_files_changed", "period_reopened"]


def test_nothing_recorded_explains_it():
    reason = _reason()
    assert (reason.code, reason.text, reason.detail["causes"]) == (
        "restatement",
        None,
        ["restatement"],
    )
