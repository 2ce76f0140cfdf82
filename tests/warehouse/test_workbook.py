"""The XLSX export read back with openpyxl: the sheets, formats and styling finance sees."""

from __future__ import annotations

import openpyxl
import pytest

from bsc_pipeline.warehouse.export import export_scorecard
from bsc_pipeline.warehouse.publish import publish_month
from bsc_pipeline.warehouse.readings import read_scorecard
from bsc_pipeline.warehouse.workbook import number_format, unit_words

FEBRUARY = {"revenue": 1234.5, "churn_rate": 4.0}
MARCH = {"revenue": 120.0, "churn_rate": None}


@pytest.fixture
def book(engine, publish_args, spec, tmp_path):
    """February and March published; March exported. Revenue shows no decimals, churn two."""
    measures = [
        m.model_copy(update={"decimals": {"revenue": 0, "churn_rate": 2}.get(m.id, m.decimals)})
        for m in spec.measures
    ]
    changed = spec.model_copy(update={"measures": measures})
    publish_month(engine, "2025-02", **publish_args("2025-02", FEBRUARY, spec=changed))
    march = publish_args("2025-03", MARCH, spec=changed)
    publish_month(engine, "2025-03", **march)
    path, rows = export_scorecard(engine, "2025-03", "xlsx", out=tmp_path / "march.xlsx")
    assert rows == 2
    return openpyxl.load_workbook(path), march["run_id"], engine


def test_the_workbook_has_summary_data_and_notes(book):
    workbook, _, _ = book
    assert workbook.sheetnames == ["Summary", "Data", "Notes"]


def test_summary_groups_measures_in_the_spec_order_with_their_formats(book):
    workbook, _, _ = book
    sheet = workbook["Summary"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Perspective / objective / measure", "Actual", "Target", "Unit", "Status"]
    # the spec orders Financial (1) before Customer (2); the view sorts by id (customer first)
    assert [r[0].value for r in sheet.iter_rows(min_row=2)] == [
        "Financial",
        "Grow revenue",
        "Revenue",
        "Customer",
        "Keep customers",
        "Churn rate",
    ]
    revenue, churn = sheet[4], sheet[7]
    assert revenue[1].value == 120.0 and revenue[1].number_format == '"€"#,##0'
    assert revenue[2].value == 100.0 and revenue[4].value == "On track"
    assert churn[1].value is None, "no data is an empty cell, never 0"
    assert churn[2].value == pytest.approx(0.05), "5 % is stored as an Excel percentage"
    assert churn[2].number_format == "0.00%"
    assert churn[3].value == "%" and churn[4].value == "No data"
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].fill.start_color.rgb == "FF1F3864" and sheet["A1"].font.bold
    assert sheet["A2"].fill.start_color.rgb == "FFD9E1F2"


def test_status_colours_are_conditional_on_the_status_word(book):
    workbook, _, _ = book
    rules = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb
        for cf in workbook["Summary"].conditional_formatting
        for rule in cf.rules
        if str(cf.sqref) == "E2:E7"
    }
    assert rules['$E2="On track"'] == "FFC6EFCE"
    assert rules['$E2="Off track"'] == "FFFFC7CE"
    assert rules['$E2="At risk"'] == "FFFFEB9C"
    assert rules['$E2="No data"'] == "FFEDEDED"


def test_data_sheet_holds_the_view_with_header_widths_filter_and_frozen_pane(book):
    workbook, _, engine = book
    sheet = workbook["Data"]
    view = read_scorecard(engine, "2025-03")
    header = [c.value for c in sheet[1]]
    assert header == [*view.columns, "commentary"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}3"
    assert all(c.fill.start_color.rgb == "FF1F3864" for c in sheet[1])
    assert sheet.column_dimensions["A"].width >= len("period")
    rows = {r[header.index("measure_id")].value: r for r in sheet.iter_rows(min_row=2)}
    actual = rows["revenue"][header.index("actual")]
    assert actual.value == 120.0 and actual.number_format == '"€"#,##0'
    published = rows["revenue"][header.index("published_at")]
    assert published.value.tzinfo is None and published.number_format == "yyyy-mm-dd hh:mm:ss"


def test_notes_name_the_period_run_confidence_and_held_measures(book):
    workbook, run_id, _ = book
    values = {r[0]: r[1] for r in workbook["Notes"].iter_rows(values_only=True) if r and r[0]}
    assert values["Period"] == "2025-03" and values["Period type"] == "month"
    assert values["As of month"] == "2025-03"
    assert values["Run"] == run_id
    assert values["Data confidence"] == 1.0
    assert values["Churn rate"] == "No data"
    reasons = {r[0]: r[2] for r in workbook["Notes"].iter_rows(values_only=True) if r and r[0]}
    assert reasons["Churn rate"] == "no rows"
    assert "Revenue" not in values


@pytest.mark.parametrize(
    ("unit", "decimals", "expected"),
    [
        ("EUR", 1, '"€"#,##0.0'),
        ("%", 0, "0%"),
        ("%", 1, "0.0%"),
        ("people", 0, "#,##0"),
        ("ratio", 4, "#,##0.0000"),
    ],
)
def test_number_formats_follow_unit_and_decimals(unit, decimals, expected):
    assert number_format(unit, decimals) == expected


def test_unit_ids_read_as_words():
    assert unit_words("per_100_customers") == "per 100 customers"


def test_a_quarter_as_of_a_month_is_named_by_its_label(book, tmp_path):
    _, _, engine = book
    path, _ = export_scorecard(engine, "2025-03", "xlsx", "quarter", tmp_path / "q1.xlsx")
    notes = openpyxl.load_workbook(path)["Notes"]
    values = {r[0]: r[1] for r in notes.iter_rows(values_only=True) if r and r[0]}
    assert (values["Period"], values["Period type"], values["As of month"]) == (
        "FY2025-Q1",
        "quarter",
        "2025-03",
    )
