"""Suites follow the contracts and add the explicit finance rules once."""

from __future__ import annotations

from collections import Counter

from bsc_pipeline.quality import suites


def _names(dataset):
    suite = suites()[dataset]
    return [r.name for r in suite.row_rules], [r.name for r in suite.table_rules]


def test_every_contract_has_a_suite():
    assert set(suites()) == {
        "chart_of_accounts",
        "gl_lines",
        "budget",
        "accounts",
        "opportunities",
        "survey_responses",
        "tickets",
        "employees",
        "training",
        "engagement",
        "updates",
    }


def test_rules_are_named_once():
    for dataset, suite in suites().items():
        names = [r.name for r in suite.row_rules] + [r.name for r in suite.table_rules]
        assert [n for n, c in Counter(names).items() if c > 1] == [], dataset


def test_survey_score_range_from_the_contract():
    rule = next(r for r in suites()["survey_responses"].row_rules if r.name == "range:score")
    assert (rule.min_value, rule.max_value, rule.severity) == (0, 10, "critical")


def test_allowed_values_and_optional_columns():
    rows, tables = _names("tickets")
    assert {
        "allowed:priority",
        "allowed:satisfaction",
        "range:reopens",
        "not_before:resolved_at",
    } <= set(rows)
    assert "not_null:resolved_at" not in rows and "not_null:ticket_id" in rows
    assert {"column_present:resolved_at", "column_type:resolved_at"} <= set(tables)


def test_month_rule_only_for_period_datasets():
    for dataset, suite in suites().items():
        has_month_rule = any(r.kind == "in_month" for r in suite.row_rules)
        assert has_month_rule == (suite.mode == "period"), dataset


def test_references():
    expected = {
        "gl_lines": "chart_of_accounts",
        "budget": "chart_of_accounts",
        "opportunities": "accounts",
        "survey_responses": "accounts",
        "tickets": "accounts",
        "engagement": "departments",
    }
    found = {
        d: r.reference for d, s in suites().items() for r in s.row_rules if r.kind == "in_reference"
    }
    assert found == expected


def test_optional_columns_present_is_only_a_warning():
    suite = suites()["gl_lines"]
    severity = {r.name: r.severity for r in suite.table_rules}
    assert severity["column_present:amount"] == "critical"
    assert severity["column_present:memo"] == "warning"
    assert severity["volume"] == "warning"
