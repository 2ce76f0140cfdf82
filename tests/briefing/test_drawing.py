"""Numbers, the strategy map's marks and the sparklines, on hand-made cases."""

from __future__ import annotations

import re

import pytest

from bsc_pipeline.briefing.formatting import format_number, format_percent
from bsc_pipeline.briefing.model import (
    Figure,
    LinkView,
    MeasureRow,
    ObjectiveBlock,
    PerspectiveBlock,
    SparkPoint,
)
from bsc_pipeline.briefing.svg import sparkline, strategy_map


@pytest.mark.parametrize(
    ("value", "unit", "decimals", "signed", "expected"),
    [
        (1500.0, "EUR", 1, False, "€1,500.0"),
        (1234567.891, "EUR", 0, False, "€1,234,568"),
        (500.0, "EUR", 1, True, "+\u2060€500.0"),  # a word joiner: the sign never wraps alone
        (-2500.5, "USD", 2, True, "−\u2060$2,500.50"),
        (48.0, "%", 1, False, "48.0 %"),
        (-100 / 3, "score", 1, False, "−33.3 score"),
        (12.345, "per_100_customers", 2, False, "12.35 per 100 customers"),
        (-0.04, "hours", 1, True, "0.0 hours"),  # rounds to zero: no sign to misread
        (7.0, "", 0, False, "7"),
        (None, "EUR", 1, False, "–"),
        (float("nan"), "%", 1, False, "–"),
    ],
)
def test_numbers_carry_unit_decimals_and_separators(value, unit, decimals, signed, expected):
    assert format_number(value, unit, decimals, signed=signed) == expected


def test_variance_percent_is_signed():
    assert format_percent(50.0, signed=True) == "+50.0 %"
    assert format_percent(-266.667, signed=True) == "−266.7 %"
    assert format_percent(None) == "–"


def _measure(measure_id: str, name: str, perspective: str, status: str) -> MeasureRow:
    figure = Figure(1.0, "1.0")
    return MeasureRow(
        measure_id=measure_id,
        name=name,
        objective_id=f"{perspective}_objective",
        perspective_id=perspective,
        owner_id=None,
        owner="",
        lead_lag="",
        actual=figure,
        target=figure,
        variance=figure,
        variance_pct=figure,
        status=status,
        previous_status=None,
        trend=None,
        quarter=None,
        ytd=None,
        note="",
        balance_flag="",
        history=(),
    )


def _perspective(pid: str, *measures: MeasureRow) -> PerspectiveBlock:
    objective = ObjectiveBlock(f"{pid}_objective", pid, "green", 7.0, tuple(measures))
    return PerspectiveBlock(pid, pid.title(), "green", 7.0, 1.0, (objective,))


def _link(driver: str, outcome: str, holds: bool | None, flag: bool = False) -> LinkView:
    return LinkView(driver, outcome, driver, outcome, 1, holds, None, "", flag)


def _link_groups(svg: str) -> dict[tuple[str, str], str]:
    found = re.findall(r'<g class="link" data-driver="(\w+)" data-outcome="(\w+)".*?</g>', svg)
    groups = re.findall(r'<g class="link".*?</g>', svg)
    return {pair: group for pair, group in zip(found, groups, strict=True)}


def test_links_the_data_contradicts_are_dashed_and_labelled():
    perspectives = (
        _perspective("financial", _measure("revenue", "Revenue", "financial", "green")),
        _perspective(
            "customer",
            _measure("nps", "NPS", "customer", "red"),
            _measure("churn", "Churn", "customer", "amber"),
        ),
        _perspective("learning", _measure("training", "Training", "learning", "red")),
    )
    links = (
        _link("nps", "revenue", holds=True),
        _link("churn", "revenue", holds=False),
        _link("training", "nps", holds=None, flag=True),
        _link("training", "churn", holds=None),
    )
    svg = str(strategy_map(perspectives, links))
    groups = _link_groups(svg)
    assert "stroke-dasharray" not in groups[("nps", "revenue")]
    assert "does not hold" in groups[("churn", "revenue")]
    assert 'stroke-dasharray="7 5"' in groups[("churn", "revenue")]
    assert "balance flag" in groups[("training", "nps")]
    assert 'stroke-dasharray="7 5"' in groups[("training", "nps")]
    assert "stroke-dasharray" not in groups[("training", "churn")]
    assert "not judged" in groups[("training", "churn")]
    # Arrows run from the driver's edge to the outcome's: upwards, into the outcome's bottom.
    path = re.search(r'd="M([\d.]+),([\d.]+) C.* ([\d.]+),([\d.]+)"', groups[("nps", "revenue")])
    assert path is not None and float(path.group(2)) > float(path.group(4))


def test_status_reads_as_a_word_and_a_shape_on_every_node():
    perspectives = (
        _perspective(
            "financial",
            *(_measure(s, s, "financial", s) for s in ("green", "amber", "red", "no_data", "held")),
        ),
    )
    svg = str(strategy_map(perspectives, ()))
    nodes = re.findall(r'<g class="node".*?</g>', svg)
    words = ["On track", "At risk", "Off track", "No data", "Held"]
    shapes = ["<circle", "<polygon", "<rect x", "<circle", "<rect x"]
    for node, word, shape in zip(nodes, words, shapes, strict=True):
        assert f">{word}</text>" in node and ">1.0</text>" in node
        assert node.count(shape) >= (2 if shape == "<rect x" else 1)


def test_names_in_the_map_are_escaped():
    name = '<img src=x onerror="alert(1)"> & co'
    svg = str(strategy_map((_perspective("p", _measure("m", name, "p", "red")),), ()))
    assert "<img" not in svg
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; co" in svg


def test_sparkline_leaves_a_gap_for_a_month_without_data_and_draws_the_target():
    points = (
        SparkPoint("2025-01", 10.0, 12.0, "amber"),
        SparkPoint("2025-02", 11.0, 12.0, "amber"),
        SparkPoint("2025-03", None, 12.0, "no_data"),
        SparkPoint("2025-04", 13.0, 12.0, "green"),
        SparkPoint("2025-05", 14.0, 12.0, "green"),
    )
    svg = str(sparkline(points, "Sales & <more>"))
    assert len(re.findall(r'<polyline class="spark-actual"', svg)) == 2
    assert len(re.findall(r'<polyline class="spark-target"', svg)) == 1
    assert "Sales &amp; &lt;more&gt;" in svg
    assert svg.removesuffix("</svg>").endswith('fill="#1a7f37"/>')  # last point: green circle


def test_sparkline_without_any_value_says_no_data():
    points = tuple(SparkPoint(f"2025-0{i}", None, 5.0, "no_data") for i in range(1, 4))
    assert ">no data</text>" in str(sparkline(points, "x"))
