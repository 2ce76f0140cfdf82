"""Extract modes pick the right files; the landing zone is read, never changed."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pandas as pd
import pytest

import bsc_pipeline.sources.landing as landing_zone
from bsc_pipeline.sources import landing_files
from bsc_pipeline.sources.landing import sha256_of

GL = "entry_id,line_no,posting_date,account,amount\n"
TICKETS = (
    "ticket_id,account_id,created_at,resolved_at,sla_due_at,priority,category,status,"
    "reopens,satisfaction,updated_at\n"
)
EMP = "employee_id,hire_date,original_hire_date,termination_date,termination_type,department\n"


def _age(path, seconds: float) -> None:
    """Set a file's modification time `seconds` in the past (newest-wins needs distinct times)."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_period_mode_reads_only_that_months_file(landing):
    landing.put("gl_lines", "gl_lines_2025-02.csv", GL + "F1,1,2025-02-10,4000,7\n")
    landing.put("gl_lines", "gl_lines_2025-03.csv", GL + "M1,1,2025-03-10,4000,9\n")
    read = landing.read("gl_lines", "2025-03")
    assert read.frame["entry_id"].tolist() == ["M1"]
    assert [f.path for f in read.files] == ["gl_lines/gl_lines_2025-03.csv"]


def test_period_mode_newest_file_for_the_month_replaces_older(landing):
    landing.file_pattern("gl_lines", r"^gl_(?P<month>\d{4}-\d{2})(_v\d+)?\.csv$")
    old = landing.put("gl_lines", "gl_2025-03.csv", GL + "OLD,1,2025-03-10,4000,1\n")
    landing.put("gl_lines", "gl_2025-03_v2.csv", GL + "NEW,1,2025-03-10,4000,2\n")
    _age(old, 3600)
    read = landing.read("gl_lines", "2025-03")
    assert read.frame["entry_id"].tolist() == ["NEW"]


def _ticket(tid: str, created: str, resolved: str, status: str, updated: str) -> str:
    return f"{tid},A1,{created},{resolved},,normal,request,{status},0,,{updated}\n"


def test_incremental_keeps_newest_version_and_rows_touching_the_month(landing):
    landing.put(
        "tickets",
        "tickets_2025-03.csv",
        TICKETS
        + _ticket("T1", "2025-03-05T10:00:00", "", "open", "2025-03-05T10:00:00")
        + _ticket(
            "T2", "2025-02-20T10:00:00", "2025-03-02T09:00:00", "solved", "2025-03-02T09:00:00"
        ),
    )
    landing.put(
        "tickets",
        "tickets_2025-04.csv",
        TICKETS
        + _ticket(
            "T1", "2025-03-05T10:00:00", "2025-04-02T10:00:00", "solved", "2025-04-02T10:00:00"
        )
        + _ticket("T3", "2025-04-03T10:00:00", "", "new", "2025-04-03T10:00:00"),
    )
    march = landing.read("tickets", "2025-03").frame.set_index("ticket_id")
    # As of March only March's extract counts: T1 still open; T2 resolved in March (created Feb).
    assert sorted(march.index) == ["T1", "T2"]
    assert march.loc["T1", "status"] == "open"
    april = landing.read("tickets", "2025-04").frame.set_index("ticket_id")
    # T1 resolved in April: its newer version wins; T2 touches no April date.
    assert sorted(april.index) == ["T1", "T3"]
    assert april.loc["T1", "status"] == "solved"
    assert april.loc["T1", "_source_file"] == "tickets/tickets_2025-04.csv"


def test_incremental_version_column_beats_file_order(landing):
    landing.file_pattern("tickets", r"^tickets_(?P<month>\d{4}-\d{2})[a-z]?\.csv$")
    first = landing.put(
        "tickets",
        "tickets_2025-03.csv",
        TICKETS + _ticket("T1", "2025-03-05T10:00:00", "", "pending", "2025-03-20T00:00:00"),
    )
    landing.put(
        "tickets",
        "tickets_2025-03b.csv",
        TICKETS + _ticket("T1", "2025-03-05T10:00:00", "", "open", "2025-03-06T00:00:00"),
    )
    _age(first, 3600)  # the file written later holds the older version
    read = landing.read("tickets", "2025-03")
    assert len(read.files) == 2
    assert read.frame["status"].tolist() == ["pending"]


def test_snapshot_takes_newest_file_as_of_the_month(landing):
    landing.put("employees", "employees_2025-01.csv", EMP + "E1,2020-01-01,,,,Sales\n")
    landing.put(
        "employees", "employees_2025-03.csv", EMP + "E1,2020-01-01,,,,Sales\nE2,2025-03-01,,,,Ops\n"
    )
    assert landing.read("employees", "2025-02").frame["employee_id"].tolist() == ["E1"]
    assert landing.read("employees", "2025-06").frame["employee_id"].tolist() == ["E1", "E2"]
    # before any snapshot existed, the earliest truth available is still the newest file
    assert len(landing.read("employees", "2024-06").frame) == 2


def test_no_file_for_the_month_is_an_empty_frame_with_a_warning(landing):
    read = landing.read("gl_lines", "2025-03")
    assert read.usable and read.frame.empty and not read.files
    assert read.problems and read.problems[0].severity == "warning"


def test_duplicate_delivery_is_read_once(landing):
    body = TICKETS + _ticket("T1", "2025-03-05T10:00:00", "", "open", "2025-03-05T10:00:00")
    landing.put("tickets", "tickets_2025-03.csv", body)
    landing.put("tickets", "tickets_2025-03.csv.part", body)  # partial name: never listed
    copy = landing.put("tickets", "tickets_2025-02.csv", body)
    read = landing.read("tickets", "2025-03")
    assert len(read.files) == 1 and len(read.frame) == 1
    assert any("duplicate delivery" in p.message for p in read.problems)
    assert copy.exists()


def test_file_identity_and_files_never_modified(landing):
    path = landing.put("gl_lines", "gl_lines_2025-03.csv", GL + "E1,1,2025-03-10,4000,9\n")
    before = (path.stat().st_mtime_ns, sha256_of(path))
    read = landing.read("gl_lines", "2025-03")
    (ident,) = read.files
    assert ident.path == "gl_lines/gl_lines_2025-03.csv"
    assert ident.size == path.stat().st_size
    assert ident.sha256 == before[1]
    assert ident.month == "2025-03"
    assert pd.Timestamp(ident.mtime).value == pytest.approx(before[0], abs=1000)
    assert (path.stat().st_mtime_ns, sha256_of(path)) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["gl_lines_2025-03.csv"]


def test_symlink_leading_outside_the_landing_zone_is_refused(landing, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text(GL + "X,1,2025-03-10,4000,1\n", encoding="utf-8")
    (landing.dir / "gl_lines").mkdir()
    (landing.dir / "gl_lines" / "gl_lines_2025-03.csv").symlink_to(outside)
    read = landing.read("gl_lines", "2025-03")
    assert read.frame.empty and not read.files
    assert any("outside the landing zone" in p.message for p in read.problems)
    assert landing_files(landing.dir, "gl_lines", landing.config) == []


def test_dataset_folder_symlinked_outside_is_refused(landing, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "gl_lines_2025-03.csv").write_text(GL + "X,1,2025-03-10,4000,1\n")
    (landing.dir / "gl_lines").symlink_to(elsewhere)
    assert landing_files(landing.dir, "gl_lines", landing.config) == []


def test_file_still_being_written_is_left_for_the_next_run(landing, monkeypatch):
    steady = landing.put("gl_lines", "gl_lines_2025-02.csv", GL + "E1,1,2025-02-10,4000,9\n")
    growing = landing.put("gl_lines", "gl_lines_2025-03.csv", GL)
    waits: list[float] = []

    def written_to_while_settling(seconds: float) -> None:
        # The sender is still writing: the file grows during the settle wait.
        waits.append(seconds)
        with growing.open("a", encoding="utf-8") as handle:
            handle.write("E2,1,2025-03-10,4000,1\n")

    monkeypatch.setattr(landing_zone, "time", SimpleNamespace(sleep=written_to_while_settling))
    found = landing_files(landing.dir, "gl_lines", landing.config, settle_seconds=0.2)
    assert waits == [0.2]
    assert [f.path for f in found] == ["gl_lines/" + steady.name]
    monkeypatch.setattr(landing_zone, "time", SimpleNamespace(sleep=waits.append))  # done
    again = landing_files(landing.dir, "gl_lines", landing.config, settle_seconds=0.05)
    assert len(again) == 2 and waits == [0.2, 0.05]


def test_landing_files_skip_partial_names_and_identify_files(landing):
    landing.put("gl_lines", "gl_lines_2025-03.csv.tmp", GL)
    landing.put("gl_lines", "gl_lines_2025-03.part", GL)
    landing.put("gl_lines", ".gl_lines_2025-03.csv", GL)
    path = landing.put("gl_lines", "gl_lines_2025-03.csv", GL)
    (ident,) = landing_files(landing.dir, "gl_lines", landing.config, settle_seconds=0)
    assert ident.sha256 == sha256_of(path) and ident.size == len(GL)
