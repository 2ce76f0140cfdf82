"""`bsc --help`, usage errors and `bsc spec check` load no heavy library (no pandas, no Dagster).

Each case runs in a fresh interpreter (the test process has everything imported already) and
reports which of the heavy modules ended up in `sys.modules`. No timing: the benchmark
`python -m benchmarks --cli` measures the seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bsc_pipeline.settings import PROJECT_ROOT

HEAVY = ("dagster", "great_expectations", "pandas", "sqlalchemy", "pyarrow", "openpyxl")

PROBE = """
import json, sys
watched = json.loads(sys.argv[2])
sys.argv = ["bsc", *json.loads(sys.argv[1])]
from bsc_pipeline.cli import main
code = 0
try:
    main()
except SystemExit as exit:
    code = exit.code
heavy = [m for m in watched if m in sys.modules]
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _probe(args: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["spec", "check", "--help"], 0),
        (["export", "--help"], 0),
        (["period", "close", "--help"], 0),
        (["no-such-command"], 2),
        (["show", "--format", "xml"], 2),
        (["run"], 2),
        (["spec", "check", "specs/demo.yaml", "--contracts", "sources/contracts.yaml"], 0),
    ],
)
def test_help_usage_errors_and_spec_check_import_no_heavy_library(
    args: list[str], code: int
) -> None:
    result = _probe(args)
    assert result == {"code": code, "heavy": []}


def test_importing_the_cli_and_mounting_every_command_stays_light() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, json; import bsc_pipeline.cli as c; c._mount_sub_apps(); "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == []
