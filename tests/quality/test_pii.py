"""Personal data stays out of the side tables: a quarantined HR row shows masks, not names.

The tiny company runs with its employees extract in BambooHR's format (first and last names in
columns the mapping ignores and marks `pii:`); one row has an unreadable hire date (a parse
reject, kept as its raw line) and one employee number appears twice (the unique rule quarantines
both rows, and its sample names the key). Names and employee numbers must not reach the
warehouse's side tables, the DQ report, the alert payloads or the logs; file and line must.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import shutil
from dataclasses import replace
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bsc_pipeline.cli import _mount_sub_apps, app
from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.settings import PROJECT_ROOT, Settings
from bsc_pipeline.sources.pii import PII_KEY_ENV, PLACEHOLDER, mask_line, mask_series, mask_value

KEY = "test-pii-key"
MONTH = "2025-01"
BAMBOO = PROJECT_ROOT / "sources" / "mappings" / "bamboohr_employees.yaml"
DEMO = PROJECT_ROOT / "sources" / "mappings" / "demo.yaml"
HEADER = (
    "employeeNumber,firstName,lastName,hireDate,originalHireDate,terminationDate,"
    "terminationType,status,employmentHistoryStatus,department,division,location,jobTitle,"
    "supervisorEId\n"
)
EMPLOYEES = HEADER + (
    "e1,Ada,Lovelace,2024-01-01,0000-00-00,0000-00-00,,Active,Full-Time,Ops,Ops,London,Lead,\n"
    "e2,Alan,Turing,2024-06-01,0000-00-00,2025-02-15,Resignation,Active,Full-Time,Ops,Ops,"
    "Leeds,Agent,e1\n"
    "e3,Grace,Hopper,2025-02-01,0000-00-00,0000-00-00,,Active,Full-Time,Ops,Ops,York,Agent,e1\n"
    "e3,Grace,Hopper,2025-02-01,0000-00-00,0000-00-00,,Active,Full-Time,Ops,Ops,York,Agent,e1\n"
    "e5,Edsger,Dijkstra,not-a-date,0000-00-00,0000-00-00,,Active,Full-Time,Ops,Ops,Bath,Agent,e1\n"
)
NAMES = ("Lovelace", "Turing", "Hopper", "Grace", "Dijkstra", "Edsger")
EMPLOYEE_FILE = "employees/employees_2025-01.csv"


def expected_mask(value: str) -> str:
    digest = hmac.new(KEY.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"pii:{digest[:12]}"


def test_mask_is_a_keyed_hash_or_the_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PII_KEY_ENV, raising=False)
    assert mask_value("Ada Lovelace") == PLACEHOLDER
    assert mask_series(pd.Series(["Ada", None, "Alan"])).tolist() == [
        PLACEHOLDER,
        None,
        PLACEHOLDER,
    ]
    monkeypatch.setenv(PII_KEY_ENV, KEY)
    assert mask_value("Ada Lovelace") == expected_mask("Ada Lovelace")
    assert mask_value("Ada Lovelace") != mask_value("Alan Turing")


def test_raw_line_masks_personal_fields_or_every_field_when_misaligned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PII_KEY_ENV, KEY)
    names = ["id", "first", "last", "dept"]
    line = mask_line('7,Ada,"Lovelace, Countess",Ops', names, {"first", "last"}, ",", '"')
    assert line == f"7,{expected_mask('Ada')},{expected_mask('Lovelace, Countess')},Ops"
    shifted = mask_line("7,Ada,Lovelace,Ops,extra", names, {"first"}, ",", '"')
    assert "Ada" not in shifted and "Lovelace" not in shifted and shifted.count("pii:") == 5


@pytest.fixture(scope="module")
def hr_run(tmp_path_factory: pytest.TempPathFactory, tiny_settings_at: Any) -> dict[str, Any]:
    """The tiny company's January with the BambooHR employees file, warehouse and logs read."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PII_KEY_ENV, KEY)
        work = tmp_path_factory.mktemp("pii")
        base: Settings = tiny_settings_at(work)
        landing = work / "landing"
        shutil.copytree(base.landing_dir, landing)
        (landing / EMPLOYEE_FILE).write_text(EMPLOYEES, encoding="utf-8")
        config = work / "sources.yaml"
        config.write_text(
            f"defaults: {{mapping: '{DEMO}'}}\ndatasets:\n  employees: {{mapping: '{BAMBOO}'}}\n",
            encoding="utf-8",
        )
        settings = replace(base, landing_dir=landing, sources_config=config)
        instance = dg.DagsterInstance.ephemeral()
        handler, root = _Capture(), logging.getLogger()
        level = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
            result = job.execute_in_process(
                partition_key=MONTH, instance=instance, raise_on_error=False
            )
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
        dagster_log = "\n".join(repr(e) for e in instance.all_logs(result.run_id))
        engine = sa.create_engine(settings.warehouse_url)
        with engine.connect() as connection:
            quarantine = [
                dict(r._mapping)
                for r in connection.execute(
                    sa.text("SELECT file, line, rule, reason, raw FROM quarantine_row")
                )
            ]
            samples = [
                json.dumps(r.sample)
                for r in connection.execute(
                    sa.text("SELECT sample FROM dq_result WHERE dataset = 'employees'")
                )
            ]
            payloads = [
                str(r.payload)
                for r in connection.execute(sa.text("SELECT payload FROM alert_event"))
            ]
        engine.dispose()
        _mount_sub_apps()
        report = CliRunner().invoke(
            app,
            ["dq", "report", "--period", MONTH, "--warehouse", settings.warehouse_url],
            env={"COLUMNS": "400"},
        )
    return {
        "quarantine": quarantine,
        "samples": samples,
        "payloads": payloads,
        "report": report.output,
        "dagster_log": dagster_log,
        "python_log": "\n".join(handler.lines),
    }


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _employee_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [q for q in run["quarantine"] if q["file"] == EMPLOYEE_FILE]


def test_quarantined_hr_rows_show_masks_and_stay_traceable(hr_run: dict[str, Any]) -> None:
    rows = {(q["line"], q["rule"]): q for q in _employee_rows(hr_run)}
    assert set(rows) == {(4, "unique:employee_id"), (5, "unique:employee_id"), (6, "parse")}
    rejected = rows[(6, "parse")]["raw"]
    assert rejected.startswith(f"{expected_mask('e5')},{expected_mask('Edsger')},")
    assert f",{expected_mask('Dijkstra')},not-a-date," in rejected
    duplicate = json.loads(rows[(4, "unique:employee_id")]["raw"])
    assert duplicate["employee_id"] == expected_mask("e3")
    assert duplicate["manager_id"] == expected_mask("e1")
    assert duplicate["department"] == "Ops"  # what is not personal stays readable
    reason = rows[(4, "unique:employee_id")]["reason"]
    assert reason == f"key employee_id={expected_mask('e3')} appears 2 times"
    text = json.dumps(hr_run["quarantine"], default=str)
    for secret in (*NAMES, '"e3"', '"e5"'):
        assert secret not in text


def test_dq_samples_and_report_show_the_mask(hr_run: dict[str, Any]) -> None:
    samples = "\n".join(hr_run["samples"])
    assert expected_mask("e3") in samples
    assert '"e3"' not in samples
    assert expected_mask("e3") in hr_run["report"]
    for secret in NAMES:
        assert secret not in samples
        assert secret not in hr_run["report"]


def test_logs_and_alert_payloads_carry_no_personal_data(hr_run: dict[str, Any]) -> None:
    assert expected_mask("e3") in hr_run["dagster_log"]  # the gate's sample is logged, masked
    assert hr_run["payloads"], "the failed employees gate holds HR measures: held alerts"
    for secret in NAMES:
        assert secret not in hr_run["dagster_log"]
        assert secret not in hr_run["python_log"]
        assert all(secret not in payload for payload in hr_run["payloads"])
