"""Why a published value changed: one small pure decision, stored with the value's history.

Publishing gathers the facts (the files of this run against those of the run that last
published the value, both definition versions, the month's reopen record, holds a person
released) and `change_reason` turns them into a reason code, a sentence and a JSON detail.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

FIRST_PUBLICATION = "first_publication"
DEFINITION_CHANGED = "definition_changed"
HOLD_RELEASED = "hold_released"
INPUT_FILES_CHANGED = "input_files_changed"
PERIOD_REOPENED = "period_reopened"
RESTATEMENT = "restatement"
"""A change none of the recorded facts explains (e.g. an earlier month's file read by a year)."""

REASON_CODES = (
    FIRST_PUBLICATION,
    DEFINITION_CHANGED,
    HOLD_RELEASED,
    INPUT_FILES_CHANGED,
    PERIOD_REOPENED,
    RESTATEMENT,
)
"""Every `measure_value_history.reason`; for a restatement the first cause found wins."""

FileChangeKind = Literal["added", "changed", "removed"]


@dataclass(frozen=True)
class FileChange:
    """One landing file that differs between the run that last published a value and this one."""

    dataset: str
    file: str
    change: FileChangeKind
    sha256_before: str | None
    sha256_after: str | None

    def text(self) -> str:
        before = (self.sha256_before or "")[:12]
        after = (self.sha256_after or "")[:12]
        if self.change == "added":
            return f"{self.file} added (sha256 {after})"
        if self.change == "removed":
            return f"{self.file} removed (was sha256 {before})"
        return f"{self.file} corrected (sha256 {before} → {after})"


@dataclass(frozen=True)
class PreviousPublication:
    """What the value's last history row says about how it was published."""

    run_id: str
    definition_version: str | None
    data_state: str


@dataclass(frozen=True)
class ChangeReason:
    """The reason stored with a history row: code, sentence for people, detail for tools."""

    code: str
    text: str | None
    detail: dict[str, Any]


def file_changes(
    before: Iterable[Mapping[str, Any]],
    after: Iterable[Mapping[str, Any]],
    datasets: Collection[str],
) -> list[FileChange]:
    """Files of `datasets` added, corrected (other sha256) or removed between two runs.

    Each file is a mapping with `dataset`, `file` and `sha256` (a `pipeline_run_file` row).
    """
    old = {(f["dataset"], f["file"]): f["sha256"] for f in before if f["dataset"] in datasets}
    new = {(f["dataset"], f["file"]): f["sha256"] for f in after if f["dataset"] in datasets}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        kind: FileChangeKind = "added" if was is None else "removed" if now is None else "changed"
        changes.append(FileChange(key[0], key[1], kind, was, now))
    return changes


def change_reason(
    *,
    previous: PreviousPublication | None,
    definition_version: str | None,
    changed_files: Sequence[FileChange],
    reopen_reason: str | None,
    datasets: Collection[str],
    released_holds: Collection[str] = (),
    given_reason: str | None = None,
) -> ChangeReason:
    """Why a value is (re)published, from facts the caller already narrowed to this value.

    `changed_files` are the files of the measure's datasets that differ from the run that last
    published it; `released_holds` the datasets a person released for the month; `given_reason`
    a reason passed by the caller. The sentence keeps a person's words (the reopen or given
    reason) and otherwise names the causes found.
    """
    if previous is None:
        return ChangeReason(FIRST_PUBLICATION, None, {"causes": [FIRST_PUBLICATION]})
    detail: dict[str, Any] = {}
    sentences: list[str] = []
    causes: list[str] = []
    old_version = previous.definition_version
    if old_version is not None and definition_version not in (None, old_version):
        causes.append(DEFINITION_CHANGED)
        detail["definition"] = {"from": old_version, "to": definition_version}
        sentences.append(f"definition changed ({old_version} → {definition_version})")
    released = sorted(set(datasets) & set(released_holds))
    if previous.data_state == "held" and released:
        causes.append(HOLD_RELEASED)
        detail["released_holds"] = released
        sentences.append(f"hold released on {', '.join(released)}")
    if changed_files:
        causes.append(INPUT_FILES_CHANGED)
        detail["files"] = [f.__dict__ for f in changed_files]
        sentences.append("input files changed: " + "; ".join(f.text() for f in changed_files))
    if reopen_reason:
        causes.append(PERIOD_REOPENED)
        detail["reopen_reason"] = reopen_reason
        sentences.append(f"period reopened: {reopen_reason}")
    if given_reason:
        detail["given_reason"] = given_reason
    detail["previous_run_id"] = previous.run_id
    detail["causes"] = causes or [RESTATEMENT]
    person = given_reason or reopen_reason
    text = person or ("; ".join(sentences) if sentences else None)
    return ChangeReason(causes[0] if causes else RESTATEMENT, text, detail)
