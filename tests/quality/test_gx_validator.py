"""GX is imported lazily, its context is built once per process, and it keeps logs clean."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from bsc_pipeline.quality import GXValidator
from bsc_pipeline.quality import gx_validator as module
from bsc_pipeline.quality.gx_validator import GXExpectation


def test_importing_the_package_does_not_import_gx():
    code = "import sys, bsc_pipeline.quality; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_context_is_created_once_and_shared(validator):
    frame = pd.DataFrame({"a": [1, 2]})
    request = [GXExpectation("rows", "ExpectTableRowCountToBeBetween", {"min_value": 1})]
    validator.check(frame, "first", request)
    batch_definition = module._STATE["batch_definition"]
    GXValidator().check(frame, "second", request)
    assert module._STATE["batch_definition"] is batch_definition


def test_summary_results_without_progress_bars(validator, capfd):
    frame = pd.DataFrame({"a": [1, 2, 3]})
    requests = [
        GXExpectation("rows", "ExpectTableRowCountToBeBetween", {"min_value": 5}),
        GXExpectation("col", "ExpectColumnToExist", {"column": "b"}),
    ]
    rows, column = validator.check(frame, "t", requests)
    assert (rows.rule, rows.success, rows.result["observed_value"]) == ("rows", False, 3)
    assert (column.rule, column.success) == ("col", False)
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out
    assert "%|" not in captured.err


def test_no_expectations_does_not_load_anything():
    assert GXValidator().check(pd.DataFrame(), "empty", []) == []
