"""The exported JSON Schema and the `bsc spec` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.spec.cli import app
from bsc_pipeline.spec.schema import SCHEMA_PATH, schema_text, spec_json_schema

CONTRACTS = PROJECT_ROOT / "sources" / "contracts.yaml"

GOOD = """\
scorecard: {name: Tiny}
owners: [{id: cfo, name: CFO}]
perspectives: [{id: financial, name: Financial}]
objectives: [{id: grow, name: Grow, perspective: financial}]
measures:
  - id: revenue
    kind: base
    name: Revenue
    source: gl_lines
    agg: sum
    column: amount
    unit: EUR
    objective: grow
    owner: cfo
    target: {kind: constant, value: 100}
"""


def test_committed_schema_equals_a_fresh_export() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "specs/scorecard.schema.json is stale: run `bsc spec schema --out "
        "specs/scorecard.schema.json`"
    )


def test_schema_describes_every_block_and_needs_the_kind_tag() -> None:
    schema = spec_json_schema()
    assert schema["title"] == "Balanced scorecard spec"
    definitions = schema["$defs"]
    for name in ("BaseMeasure", "RatioMeasure", "SnapshotMeasure", "DerivedMeasure", "Link"):
        assert definitions[name]["description"]
        assert definitions[name]["additionalProperties"] is False
    assert "kind" in definitions["RatioMeasure"]["required"]
    assert (
        definitions["ScorecardSettings"]["properties"]["fiscal_year_start_month"]["maximum"] == 12
    )


def test_schema_accepts_a_good_spec_and_refuses_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = spec_json_schema()
    jsonschema.validate(yaml.safe_load(GOOD), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(GOOD.replace("agg: sum", "agg: summ")), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(GOOD.replace("unit: EUR", "units: EUR")), schema)


def test_check_passes_a_good_spec(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(spec), "--contracts", str(CONTRACTS)])
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output


def test_check_exits_1_listing_every_error(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    broken = GOOD.replace("owner: cfo", "owner: cfoo").replace("column: amount", "column: amt")
    spec.write_text(broken, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["check", str(spec), "--contracts", str(CONTRACTS)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert "unknown owner 'cfoo'" in result.output
    assert "unknown column of gl_lines 'amt'" in result.output
    assert "spec.yaml:14" in result.output
    assert "2 error(s)" in result.output


def test_check_exits_0_with_warnings_only(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    lonely = "objectives:\n  - {id: grow, name: Grow, perspective: financial}\n"
    lonely += "  - {id: idle, name: Idle, perspective: financial}\n"
    spec.write_text(
        GOOD.replace("objectives: [{id: grow, name: Grow, perspective: financial}]\n", lonely),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["check", str(spec), "--contracts", str(CONTRACTS)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "objective 'idle' has no measure" in result.output
    assert "0 error(s), 1 warning(s)" in result.output


def test_check_defaults_to_bsc_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD.replace("owner: cfo", "owner: nobody"), encoding="utf-8")
    monkeypatch.setenv("BSC_SPEC", str(spec))
    monkeypatch.setenv("BSC_CONTRACTS", str(CONTRACTS))
    result = CliRunner().invoke(app, ["check"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "unknown owner 'nobody'" in result.output


def test_schema_command_prints_or_writes(tmp_path: Path) -> None:
    printed = CliRunner().invoke(app, ["schema"])
    assert printed.exit_code == 0
    assert json.loads(printed.output) == spec_json_schema()
    out = tmp_path / "nested" / "schema.json"
    written = CliRunner().invoke(app, ["schema", "--out", str(out)])
    assert written.exit_code == 0
    assert out.read_text(encoding="utf-8") == schema_text()


@pytest.mark.parametrize("name", ["demo.yaml", "minimal.yaml"])
def test_shipped_specs_have_no_error(name: str) -> None:
    spec = PROJECT_ROOT / "specs" / name
    if not spec.exists():
        pytest.skip(f"specs/{name} not written yet")
    from bsc_pipeline.spec.validate import check_spec

    errors = [str(p) for p in check_spec(spec, CONTRACTS) if p.severity == "error"]
    assert errors == []


def test_check_in_a_pipe_prints_one_compiler_line_per_problem(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    long_id = "owner: no_such_owner_with_a_long_identifier_xyz"
    spec.write_text(GOOD.replace("owner: cfo", long_id), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["check", str(spec), "--contracts", str(CONTRACTS)], env={"COLUMNS": "40"}
    )
    assert result.exit_code == 1
    problem, verdict = result.stdout.splitlines()
    # file:line: severity: message (fix ...), never wrapped, however narrow the terminal
    assert problem.startswith(f"{spec}:14: error: unknown owner ")
    assert "'no_such_owner_with_a_long_identifier_xyz'" in problem
    assert problem.endswith(")") and "(fix: " in problem
    assert verdict == f"{spec}: invalid: 1 error(s), 0 warning(s)"


def test_check_json_lists_problems_with_stable_keys(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD.replace("owner: cfo", "owner: cfoo"), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["check", str(spec), "--contracts", str(CONTRACTS), "--format", "json"]
    )
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert (payload["spec"], payload["valid"], payload["errors"]) == (str(spec), False, 1)
    (problem,) = payload["problems"]
    assert set(problem) == {"severity", "file", "line", "path", "message", "fix"}
    assert (problem["severity"], problem["line"]) == ("error", 14)
    assert "cfoo" in problem["message"] and problem["fix"]
