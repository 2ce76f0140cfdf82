"""Reading a spec file: every shape problem at once, each at its line, with a fix."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from bsc_pipeline.spec import loader
from bsc_pipeline.spec.loader import load_spec, read_spec, resolve_targets_file
from bsc_pipeline.spec.models import BaseMeasure, RatioMeasure
from bsc_pipeline.spec.problems import SpecError

GOOD = textwrap.dedent(
    """\
    scorecard:
      name: Small company
      fiscal_year_start_month: 4
    owners:
      - id: cfo
        name: Chief Financial Officer
        email: cfo@example.com
    perspectives:
      - id: financial
        name: Financial
    objectives:
      - id: grow_revenue
        name: Grow revenue
        perspective: financial
    measures:
      - id: revenue
        kind: base
        name: Revenue
        source: gl_lines
        agg: sum
        column: amount
        unit: EUR
      - id: margin_pct
        kind: ratio
        name: Margin
        numerator: revenue
        denominator: revenue
        unit: "%"
        objective: grow_revenue
        owner: cfo
        target: {kind: constant, value: 40}
    """
)


def line_with(text: str, fragment: str) -> int:
    """1-based line of the only line containing `fragment`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(hits) == 1, (fragment, hits)
    return hits[0]


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_spec_loads_with_lines(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    loaded = read_spec(path)
    assert loaded.spec.scorecard.fiscal_year_start_month == 4
    assert isinstance(loaded.spec.measure("revenue"), BaseMeasure)
    assert isinstance(loaded.spec.measure("margin_pct"), RatioMeasure)
    assert loaded.lines[("measures", 1, "numerator")] == line_with(GOOD, "numerator: revenue")
    assert loaded.lines[("measures", 1)] == line_with(GOOD, "id: margin_pct")
    assert load_spec(path) == loaded.spec


def test_every_shape_problem_is_listed_at_its_line(tmp_path: Path) -> None:
    text = (
        GOOD.replace("    email: cfo@", "    emial: cfo@")
        .replace("agg: sum", "agg: summ")
        .replace("id: margin_pct", "id: Margin-Pct")
        .replace("fiscal_year_start_month: 4", "fiscal_year_start_month: 13")
        + "  - id: orphan\n    kind: weird\n    name: x\n    unit: x\n"
        + "  - id: no_kind\n    name: y\n    unit: y\n"
    )
    with pytest.raises(SpecError) as raised:
        load_spec(write(tmp_path, text))
    found = {(p.path, p.line) for p in raised.value.problems}
    assert found == {
        ("owners[0].emial", line_with(text, "emial")),
        ("measures[0].agg", line_with(text, "agg: summ")),
        ("measures[1].id", line_with(text, "Margin-Pct")),
        ("scorecard.fiscal_year_start_month", line_with(text, "fiscal_year_start_month")),
        ("measures[2].kind", line_with(text, "kind: weird")),
        ("measures[3]", line_with(text, "id: no_kind")),
    }
    by_path = {p.path: p for p in raised.value.problems}
    assert "did you mean 'email'" in by_path["owners[0].emial"].fix
    assert "'sum'" in by_path["measures[0].agg"].fix
    assert "snake_case" in by_path["measures[1].id"].fix
    assert "ratio" in by_path["measures[2].kind"].fix
    assert "kind" in by_path["measures[3]"].fix
    message = str(raised.value)
    assert f"spec.yaml:{line_with(text, 'emial')}" in message
    assert "6 problems" in message


def test_missing_field_points_at_its_block(tmp_path: Path) -> None:
    text = GOOD.replace("    name: Grow revenue\n", "")
    with pytest.raises(SpecError) as raised:
        load_spec(write(tmp_path, text))
    [problem] = raised.value.problems
    assert problem.path == "objectives[0].name"
    assert problem.line == line_with(text, "id: grow_revenue")
    assert "add `name:`" in problem.fix


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("    unit: EUR\n", "    unit: [EUR\n")
    with pytest.raises(SpecError) as raised:
        load_spec(write(tmp_path, text))
    [problem] = raised.value.problems
    assert "not valid YAML" in problem.message
    assert problem.line is not None
    assert problem.line >= line_with(text, "unit: [EUR")


def test_duplicate_yaml_key_is_reported(tmp_path: Path) -> None:
    text = GOOD.replace("    unit: EUR\n", "    unit: EUR\n    unit: USD\n")
    with pytest.raises(SpecError) as raised:
        load_spec(write(tmp_path, text))
    [problem] = raised.value.problems
    assert problem.line == line_with(text, "unit: USD")
    assert "appears twice" in problem.message


def test_python_tags_are_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = GOOD.replace(
        "name: Small company", f"name: !!python/object/apply:os.system ['touch {marker}']"
    )
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(write(tmp_path, text))
    assert not marker.exists()


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_spec(write(tmp_path, "- a\n- b\n"))


def test_targets_file_is_relative_to_the_spec(tmp_path: Path) -> None:
    text = GOOD.replace("  name: Small company", "  name: S\n  targets_file: targets.csv")
    path = write(tmp_path, text)
    assert resolve_targets_file(path, load_spec(path)) == tmp_path / "targets.csv"
    assert resolve_targets_file(path, load_spec(write(tmp_path, GOOD, "b.yaml"))) is None


def test_alias_bomb_is_refused_after_at_most_max_nodes_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10^9 values once expanded: the walk must stop at MAX_NODES instead of expanding them.
    # How fast the refusal is, is a figure of `python -m benchmarks --micro`, not a test.
    visits = 0
    walk = loader._record_lines

    def counted(*args: Any) -> None:
        nonlocal visits
        visits += 1
        walk(*args)

    monkeypatch.setattr(loader, "_record_lines", counted)
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    with pytest.raises(SpecError, match=f"more than {loader.MAX_NODES} values once aliases"):
        load_spec(write(tmp_path, "\n".join(rows) + "\n"))
    assert loader.MAX_NODES < visits <= loader.MAX_NODES + 10
