"""Cross-reference checks: each problem kind, at its line, all listed at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bsc_pipeline.spec.loader import load_spec
from bsc_pipeline.spec.problems import SpecProblem
from bsc_pipeline.spec.validate import check_spec, validate_spec

CONTRACTS = textwrap.dedent(
    """\
    datasets:
      gl_lines:
        month_column: posting_date
        columns:
          posting_date: {type: date}
          account: {type: string}
          amount: {type: decimal}
      employees:
        month_column: null
        columns:
          employee_id: {type: string}
          hire_date: {type: date}
          termination_date: {type: date}
      tickets:
        month_column: created_at
        columns:
          created_at: {type: datetime}
          resolved_at: {type: datetime}
        computed:
          resolution_hours: {op: hours_between, args: [created_at, resolved_at]}
    """
)

HEAD = textwrap.dedent(
    """\
    scorecard:
      name: Small company
    owners:
      - id: cfo
        name: CFO
      - id: hr
        name: HR lead
    perspectives:
      - id: financial
        name: Financial
      - id: people
        name: People
    objectives:
      - id: grow_revenue
        name: Grow revenue
        perspective: financial
      - id: keep_people
        name: Keep people
        perspective: people
    """
)

MEASURES = textwrap.dedent(
    """\
    measures:
      - id: revenue
        kind: base
        name: Revenue
        source: gl_lines
        agg: sum
        column: amount
        scale: -1
        unit: EUR
        objective: grow_revenue
        owner: cfo
        target: {kind: constant, value: 1000}
      - id: costs
        kind: base
        name: Costs
        source: gl_lines
        agg: sum
        column: amount
        filters: [{column: account, op: in, values: ["6000", "6100"]}]
        unit: EUR
      - id: headcount
        kind: snapshot
        name: Headcount
        source: employees
        active_from: hire_date
        active_to: termination_date
        unit: count
        objective: keep_people
        owner: hr
        target: {kind: constant, value: 50}
      - id: profit
        kind: derived
        name: Profit
        formula: revenue - costs
        unit: EUR
      - id: revenue_per_head
        kind: ratio
        name: Revenue per head
        numerator: revenue
        denominator: headcount
        unit: EUR_per_head
      - id: revenue_growth
        kind: change
        name: Revenue growth
        of: revenue
        unit: "%"
      - id: hours_to_resolve
        kind: base
        name: Hours to resolve
        source: tickets
        agg: median
        column: resolution_hours
        unit: hours
    """
)

LINKS = "links:\n  - {driver: headcount, outcome: revenue, lag_months: 3}\n"

GOOD = HEAD + MEASURES + LINKS


def measure(**fields: str) -> str:
    """One more measure block, indented as in MEASURES."""
    lines = [f"{key}: {value}" for key, value in fields.items()]
    return "  - " + "\n    ".join(lines) + "\n"


def line_with(text: str, fragment: str) -> int:
    """1-based line of the only line containing `fragment` (a trailing $ means: ending with it)."""
    lines = enumerate(text.splitlines(), start=1)
    if fragment.endswith("$"):
        hits = [n for n, line in lines if line.endswith(fragment[:-1])]
    else:
        hits = [n for n, line in lines if fragment in line]
    assert len(hits) == 1, (fragment, hits)
    return hits[0]


def check(tmp_path: Path, text: str, targets: str | None = None) -> list[SpecProblem]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    contracts = tmp_path / "contracts.yaml"
    contracts.write_text(CONTRACTS, encoding="utf-8")
    if targets is not None:
        (tmp_path / "targets.csv").write_text(targets, encoding="utf-8")
    return check_spec(spec, contracts)


def only(problems: list[SpecProblem], fragment: str) -> SpecProblem:
    hits = [p for p in problems if fragment in p.message]
    assert len(hits) == 1, (fragment, [str(p) for p in problems])
    return hits[0]


def test_good_spec_has_no_problem(tmp_path: Path) -> None:
    assert check(tmp_path, GOOD) == []


def test_duplicated_ids(tmp_path: Path) -> None:
    text = GOOD.replace("  - id: hr\n    name: HR lead", "  - id: cfo\n    name: HR lead")
    text = text.replace("owner: hr", "owner: cfo")
    problems = check(tmp_path, text)
    problem = only(problems, "owner id 'cfo' is used twice")
    assert problem.severity == "error"
    assert problem.line == line_with(text, "name: HR lead") - 1
    assert problem.path == "owners[1].id"


@pytest.mark.parametrize(
    ("old", "new", "message", "fix"),
    [
        ("perspective: people", "perspective: peple", "unknown perspective 'peple'", "people"),
        ("objective: keep_people", "objective: keep_ppl", "unknown objective 'keep_ppl'", "keep"),
        ("owner: hr", "owner: hrr", "unknown owner 'hrr'", "did you mean 'hr'"),
        ("numerator: revenue", "numerator: revenu", "unknown measure 'revenu'", "revenue"),
        ("denominator: headcount", "denominator: heads", "unknown measure 'heads'", ""),
        ("of: revenue", "of: revenue_total", "unknown measure 'revenue_total'", ""),
        ("outcome: revenue,", "outcome: sales,", "unknown measure or objective 'sales'", ""),
        ("formula: revenue - costs", "formula: revenue - cost", "formula 'cost'", "costs"),
    ],
)
def test_unknown_references_name_the_line_and_a_fix(
    tmp_path: Path, old: str, new: str, message: str, fix: str
) -> None:
    text = GOOD.replace(old, new)
    problem = only(check(tmp_path, text), message)
    assert problem.severity == "error"
    assert problem.line == line_with(text, new)
    assert fix in problem.fix


def test_unknown_references_in_initiatives_datasets_and_alerts(tmp_path: Path) -> None:
    text = GOOD + textwrap.dedent(
        """\
        initiatives:
          - id: new_crm
            name: New CRM
            owner: ceo
            objective: grow_sales
            start: 2025-06-01
            end: 2025-01-01
        datasets:
          gl_lines: {owner: controller}
          payroll: {owner: hr}
        alerts:
          fallback_owner: boss
        """
    )
    problems = check(tmp_path, text)
    assert only(problems, "unknown owner 'ceo'").line == line_with(text, "owner: ceo")
    assert only(problems, "unknown objective 'grow_sales'").line == line_with(text, "grow_sales")
    assert only(problems, "ends (2025-01-01)").line == line_with(text, "end: 2025-01-01")
    assert only(problems, "unknown owner 'controller'").line == line_with(text, "controller")
    assert only(problems, "unknown dataset 'payroll'").line == line_with(text, "payroll")
    assert only(problems, "unknown owner 'boss'").line == line_with(text, "boss")


def test_formula_syntax_error_is_reported_with_its_column(tmp_path: Path) -> None:
    text = GOOD.replace("formula: revenue - costs", "formula: revenue ** costs")
    problem = only(check(tmp_path, text), "formula 'revenue ** costs'")
    assert problem.line == line_with(text, "formula:")
    assert "'**' (power) not allowed at column 9" in problem.message


def test_formula_cycles_are_errors_direct_and_indirect(tmp_path: Path) -> None:
    text = (
        HEAD
        + MEASURES.replace("formula: revenue - costs", "formula: revenue - margin")
        + measure(
            id="margin",
            kind="ratio",
            name="Margin",
            numerator="profit",
            denominator="revenue",
            unit="ratio",
        )
        + measure(id="self_growth", kind="change", name="Self", of="self_growth", unit='"%"')
        + LINKS
    )
    problems = check(tmp_path, text)
    loop = only(problems, "measure 'profit' depends on itself")
    assert "profit → margin → profit" in loop.message
    assert loop.line == line_with(text, "id: profit")
    assert loop.severity == "error"
    itself = only(problems, "measure 'self_growth' depends on itself")
    assert itself.line == line_with(text, "id: self_growth")


def test_link_cycles_are_warnings(tmp_path: Path) -> None:
    text = GOOD + "  - {driver: revenue, outcome: keep_people}\n"
    text += "  - {driver: keep_people, outcome: headcount}\n"
    problems = check(tmp_path, text)
    problem = only(problems, "links form a loop")
    assert problem.severity == "warning"
    assert "headcount → revenue → keep_people → headcount" in problem.message
    assert problem.line == line_with(text, "driver: headcount")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("source: employees", "source: employee", "unknown dataset 'employee'"),
        (
            "column: resolution_hours",
            "column: resolution_hrs",
            "column of tickets 'resolution_hrs'",
        ),
        ("column: account, op: in", "column: acount, op: in", "column of gl_lines 'acount'"),
        ("active_from: hire_date", "active_from: hired", "column of employees 'hired'"),
        ("active_to: termination_date", "active_to: left_on", "column of employees 'left_on'"),
    ],
)
def test_unknown_sources_and_columns(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = GOOD.replace(old, new)
    problem = only(check(tmp_path, text), message)
    assert problem.line == line_with(text, new.split(",")[0])
    assert problem.severity == "error"


def test_date_column_must_exist_and_be_given_for_undated_datasets(tmp_path: Path) -> None:
    measures = MEASURES.replace("    scale: -1", "    date_column: booked_on\n    scale: -1")
    hires = measure(id="hires", kind="base", name="Hires", source="employees", agg="count")
    text = HEAD + measures + hires + "    unit: count\n" + LINKS
    problems = check(tmp_path, text)
    assert only(problems, "column of gl_lines 'booked_on'").line == line_with(text, "booked_on")
    assert only(problems, "no month column").line == line_with(text, "id: hires") + 3


def test_scored_measure_needs_owner_target_and_thresholds(tmp_path: Path) -> None:
    text = GOOD.replace("    owner: cfo\n    target: {kind: constant, value: 1000}\n", "")
    text = text.replace("    target: {kind: constant, value: 50}\n", "    thresholds: []\n")
    problems = check(tmp_path, text)
    assert only(problems, "'revenue' has no owner").line == line_with(text, "- id: revenue$")
    assert only(problems, "'revenue' has no target").line == line_with(text, "- id: revenue$")
    assert only(problems, "has no thresholds").line == line_with(text, "thresholds: []")
    assert only(problems, "'headcount' has no target").severity == "error"
    assert not [p for p in problems if "'costs'" in p.message]


def test_ratio_of_different_units_in_percent(tmp_path: Path) -> None:
    text = GOOD.replace("unit: EUR_per_head", 'unit: "%"')
    problem = only(check(tmp_path, text), "different units")
    assert "'revenue' is EUR, 'headcount' is count" in problem.message
    assert problem.line == line_with(text, "denominator: headcount") + 1
    assert check(tmp_path, GOOD) == []


def test_too_many_objectives_and_objectives_without_measure_warn(tmp_path: Path) -> None:
    extra = "".join(
        f"  - id: objective_{n}\n    name: O{n}\n    perspective: people\n" for n in range(15)
    )
    text = HEAD + extra + MEASURES
    problems = check(tmp_path, text)
    assert all(p.severity == "warning" for p in problems)
    assert only(problems, "17 objectives").line == line_with(text, "objectives:")
    empty = [p for p in problems if "has no measure" in p.message]
    assert len(empty) == 15
    assert empty[0].line == line_with(text, "id: objective_0")


def test_targets_file_rows_are_checked(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  name: Small company", "  name: Small company\n  targets_file: targets.csv"
    )
    text = text.replace("    target: {kind: constant, value: 50}\n", "")
    targets = (
        "\ufeffmeasure_id, period,target,green\n"
        "headcount,2025-01,50,\n"
        "headcout,2025-02,50,\n"
        "headcount,2025-13,50,\n"
        "headcount,FY2025-Q1,fifty,0.95\n"
        "headcount,2025-01,51,\n"
    )
    problems = check(tmp_path, text, targets)
    csv_problems = [p for p in problems if p.file and p.file.endswith("targets.csv")]
    assert {(p.line, p.path) for p in csv_problems} == {
        (3, "measure_id"),
        (4, "period"),
        (5, "target"),
        (6, ""),
    }
    assert "first at line 2" in only(problems, "second target for headcount 2025-01").message
    assert "did you mean 'headcount'" in only(problems, "unknown measure 'headcout'").fix
    assert not [p for p in problems if "'headcount' has no target" in p.message]


def test_targets_file_missing_or_with_a_wrong_header(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  name: Small company", "  name: Small company\n  targets_file: targets.csv"
    )
    missing = check(tmp_path, text)
    assert only(missing, "not found").line == line_with(text, "targets_file")
    wrong = check(tmp_path, text, "measure,period,target\nrevenue,2025-01,1\n")
    assert only(wrong, "header missing ['measure_id']").line == 1


def test_broken_spec_lists_every_problem_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("perspective: people", "perspective: peple")
        .replace("owner: hr", "owner: hrr")
        .replace("formula: revenue - costs", "formula: __import__('os').system('id')")
        .replace("source: employees", "source: employee")
        .replace("unit: EUR_per_head", 'unit: "%"')
        .replace("  - id: hr\n    name: HR lead", "  - id: cfo\n    name: HR lead")
        + "  - {driver: revenue, outcome: headcount}\n"
    )
    problems = check(tmp_path, text)
    messages = " | ".join(p.message for p in problems)
    for fragment in (
        "unknown perspective 'peple'",
        "unknown owner 'hrr'",
        "attribute access",
        "unknown dataset 'employee'",
        "different units",
        "used twice",
        "links form a loop",
        "has no objective",
    ):
        assert fragment in messages
    severities = [p.severity for p in problems]
    assert severities == sorted(severities, key=lambda s: s != "error")
    assert all(p.line is not None for p in problems)


def test_shape_errors_come_back_as_problems(tmp_path: Path) -> None:
    problems = check(tmp_path, GOOD.replace("agg: median", "agg: mediam"))
    assert only(problems, "'mediam'").line == line_with(GOOD, "agg: median")


def test_validate_in_memory_spec_without_lines(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(GOOD.replace("owner: hr", "owner: hrr"), encoding="utf-8")
    problems = validate_spec(load_spec(path))
    problem = only(problems, "unknown owner 'hrr'")
    assert problem.line is None
    assert problem.path == "measures[2].owner"


def test_thresholds_that_can_never_be_amber_warn(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    target: {kind: constant, value: 50}\n",
        "    target: {kind: constant, value: 50}\n    direction: lower\n",
    )
    problem = only(check(tmp_path, text), "no value can be amber")
    assert problem.severity == "warning"


def test_in_memory_check_trusts_an_unread_targets_file(tmp_path: Path) -> None:
    text = GOOD.replace("  name: Small company", "  name: Small company\n  targets_file: t.csv")
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace("    target: {kind: constant, value: 50}\n", ""), "utf-8")
    spec = load_spec(path)
    assert validate_spec(spec) == []
    problems = validate_spec(spec, targets_path=tmp_path / "t.csv")
    assert {p.message for p in problems} >= {
        "scored measure 'headcount' has no target and is not in the targets file"
    }


@pytest.mark.parametrize(
    ("flt", "fragment"),
    [
        ('{column: account, op: matches, value: "(4"}', "is not valid"),
        ("{column: account, op: matches, value: " + "a" * 201 + "}", "longer than 200"),
        ("{column: account, op: starts_with}", "needs a text prefix"),
    ],
)
def test_text_filters_need_a_usable_prefix_or_pattern(
    tmp_path: Path, flt: str, fragment: str
) -> None:
    text = GOOD.replace('{column: account, op: in, values: ["6000", "6100"]}', flt)
    problem = only(check(tmp_path, text), fragment)
    assert problem.line == line_with(text, "op: ")
    assert problem.severity == "error"


def test_text_filters_with_a_prefix_or_pattern_pass(tmp_path: Path) -> None:
    for flt in [
        '{column: account, op: not_starts_with, value: "C"}',
        '{column: account, op: starts_with, values: ["60", "61"]}',
        '{column: account, op: matches, value: "6[01]00"}',
    ]:
        text = GOOD.replace('{column: account, op: in, values: ["6000", "6100"]}', flt)
        assert check(tmp_path, text) == []


def test_retention_key_and_date_columns_must_exist(tmp_path: Path) -> None:
    retention = measure(
        id="customer_retention",
        kind="retention",
        name="Customer retention",
        source="gl_lines",
        key="customer_id",
        unit='"%"',
    )
    text = HEAD + MEASURES + retention + LINKS
    problem = only(check(tmp_path, text), "column of gl_lines 'customer_id'")
    assert problem.line == line_with(text, "key: customer_id")
    assert problem.severity == "error"
    assert check(tmp_path, text.replace("key: customer_id", "key: account")) == []
    undated = text.replace("key: customer_id", "key: employee_id").replace(
        "source: gl_lines\n    key", "source: employees\n    key"
    )
    assert only(check(tmp_path, undated), "no month column").severity == "error"
