"""What real exports do to a reader, one quirk per test."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources.values import NumberStyle, parse_number, parse_temporal

MAPPINGS = PROJECT_ROOT / "sources" / "mappings"

GL_HEADER = "entry_id,line_no,posting_date,account,amount,department,memo\n"
GL_ROWS = "E1,1,2025-03-01,4000,-10.5,Sales,first\nE1,2,2025-03-01,1100,10.5,,second\n"


def test_utf8_bom_is_not_part_of_the_first_column(landing):
    landing.put(
        "gl_lines", "gl_lines_2025-03.csv", b"\xef\xbb\xbf" + (GL_HEADER + GL_ROWS).encode()
    )
    read = landing.read("gl_lines", "2025-03")
    assert read.usable
    assert read.frame["entry_id"].tolist() == ["E1", "E1"]


def test_latin1_file_read_with_declared_encoding(landing):
    landing.use("gl_lines", "encoding: latin-1\ncolumns: canonical\n")
    text = GL_HEADER + "E1,1,2025-03-01,4000,5,Vertrieb,Gebühr\n"
    landing.put("gl_lines", "gl_lines_2025-03.csv", text.encode("latin-1"))
    assert landing.read("gl_lines", "2025-03").frame["memo"].tolist() == ["Gebühr"]


def test_latin1_file_under_utf8_mapping_fails_with_the_line(landing):
    text = GL_HEADER + "E1,1,2025-03-01,4000,5,Vertrieb,Gebühr\n"
    landing.put("gl_lines", "gl_lines_2025-03.csv", text.encode("latin-1"))
    read = landing.read("gl_lines", "2025-03")
    assert not read.usable
    assert "gl_lines/gl_lines_2025-03.csv" in read.reason
    assert "UTF8" in read.reason.upper().replace("-", "")


@pytest.mark.parametrize(
    ("text", "style", "expected"),
    [
        ("1.234,56", NumberStyle(decimal=",", thousands="."), 1234.56),
        ("1.234,56-", NumberStyle(decimal=",", thousands=".", trailing_minus=True), -1234.56),
        ("(1,234.50)", NumberStyle(thousands=",", parentheses=True), -1234.5),
        ("$(85.40)", NumberStyle(strip=("$",), parentheses=True), -85.40),
        ("  42 ", NumberStyle(), 42.0),
    ],
)
def test_number_conventions(text, style, expected):
    values, bad = parse_number(pa.array([text]), style)
    assert values.to_pylist() == [pytest.approx(expected)]
    assert not bad.any()


def test_semicolon_file_with_comma_decimals_and_trailing_minus(landing):
    landing.use(
        "gl_lines",
        'delimiter: ";"\ndecimal: ","\nthousands: "."\ntrailing_minus: true\n'
        'date_format: "%d.%m.%Y"\ncolumns: canonical\n',
    )
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        "entry_id;line_no;posting_date;account;amount\n"
        "E1;1;01.03.2025;4000;1.234,56-\nE1;2;01.03.2025;1100;1.234,56\n",
    )
    read = landing.read("gl_lines", "2025-03")
    assert read.frame["amount"].tolist() == [-1234.56, 1234.56]
    assert read.frame["posting_date"].iloc[0] == pd.Timestamp("2025-03-01")


def test_unknown_debit_credit_indicator_rejects_the_row(landing):
    landing.use(
        "gl_lines",
        "columns:\n  entry_id: e\n  line_no: n\n  posting_date: d\n  account: a\n"
        "  amount: {from: amt, sign_from: {column: side, negative: [H], positive: [S]}}\n",
    )
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        "e,n,d,a,amt,side\nE1,1,2025-03-01,1,5,S\nE1,2,2025-03-01,2,5,X\n",
    )
    read = landing.read("gl_lines", "2025-03")
    assert read.frame["amount"].tolist() == [5.0]
    assert read.rejected["line"].tolist() == [3]
    assert "one of S/H" in read.rejected["reason"].iloc[0]


def test_repeated_headers_collapse_into_one_column(landing):
    landing.use(
        "gl_lines",
        "collapse_repeated: {Memo: ' / '}\ncolumns:\n  entry_id: e\n  line_no: n\n"
        "  posting_date: d\n  account: a\n  amount: x\n  memo: Memo\n",
    )
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        "e,n,d,a,x,Memo,Memo,Memo\nE1,1,2025-03-01,1,5,a,,c\nE1,2,2025-03-01,2,5,,,\n",
    )
    read = landing.read("gl_lines", "2025-03")
    assert read.frame["memo"].tolist()[0] == "a / c"
    assert pd.isna(read.frame["memo"].iloc[1])
    assert not read.problems


def test_mixed_date_formats_try_each_in_turn():
    values, bad = parse_temporal(
        pa.array(["2025-03-04", "04/03/2025", "4 March", None]), ["%Y-%m-%d", "%d/%m/%Y"]
    )
    assert values.to_pylist()[:2] == [pd.Timestamp("2025-03-04")] * 2
    assert bad.tolist() == [False, False, True, False]


def test_missing_tokens(landing):
    landing.use("gl_lines", "missing: ['', '?', 'N/A']\ncolumns: canonical\n")
    landing.put("gl_lines", "gl_lines_2025-03.csv", GL_HEADER + "E1,1,2025-03-01,4000,5,?,N/A\n")
    f = landing.read("gl_lines", "2025-03").frame
    assert pd.isna(f["department"].iloc[0]) and pd.isna(f["memo"].iloc[0])


def test_empty_file_fails_the_dataset_with_the_reason(landing):
    landing.put("gl_lines", "gl_lines_2025-03.csv", b"")
    read = landing.read("gl_lines", "2025-03")
    assert not read.usable
    assert "gl_lines/gl_lines_2025-03.csv" in read.reason and "empty" in read.reason
    assert read.frame.empty


def test_header_only_file_is_usable_and_empty(landing):
    landing.put("gl_lines", "gl_lines_2025-03.csv", GL_HEADER)
    read = landing.read("gl_lines", "2025-03")
    assert read.usable and read.frame.empty
    assert any("no data rows" in p.message for p in read.problems)
    assert read.frame["amount"].dtype == np.float64


def test_truncated_last_line_is_rejected_with_its_raw_text(landing):
    landing.put("gl_lines", "gl_lines_2025-03.csv", GL_HEADER + GL_ROWS + "E2,1,2025-03-0")
    read = landing.read("gl_lines", "2025-03")
    assert read.usable
    assert len(read.frame) == 2
    rejected = read.rejected.iloc[0]
    assert (rejected["file"], rejected["line"], rejected["raw"]) == (
        "gl_lines/gl_lines_2025-03.csv",
        4,
        "E2,1,2025-03-0",
    )
    assert "expected 7 fields, found 3" in rejected["reason"]


def test_bad_value_names_file_line_column_expected_and_seen(landing):
    landing.put(
        "gl_lines", "gl_lines_2025-03.csv", GL_HEADER + GL_ROWS + "E3,1,2025-03-01,4000,12O.00,,\n"
    )
    read = landing.read("gl_lines", "2025-03")
    (problem,) = read.errors
    assert (problem.file, problem.line, problem.column) == (
        "gl_lines/gl_lines_2025-03.csv",
        4,
        "amount",
    )
    assert problem.seen == "'12O.00'" and "number" in problem.expected
    assert read.rejected["raw"].tolist() == ["E3,1,2025-03-01,4000,12O.00,,"]
    assert read.frame["_source_line"].tolist() == [2, 3]


def test_blank_lines_keep_line_numbers_right(landing):
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        GL_HEADER + "E1,1,2025-03-01,4000,1,,\n\nE1,2,2025-03-01,4000,2,,\n",
    )
    read = landing.read("gl_lines", "2025-03")
    assert read.frame["_source_line"].tolist() == [2, 4]


def test_extra_column_passes_with_a_warning(landing):
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        GL_HEADER.strip() + ",currency\n" + "E1,1,2025-03-01,4000,1,,,EUR\n",
    )
    read = landing.read("gl_lines", "2025-03")
    assert read.usable and len(read.frame) == 1
    (warning,) = [p for p in read.problems if "extra column" in p.message]
    assert warning.severity == "warning" and warning.seen == "currency"


def test_missing_required_column_fails_and_suggests_the_closest_name(landing):
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        "entry_id,line_no,posting_date,acount,amount\nE1,1,2025-03-01,4000,1\n",
    )
    read = landing.read("gl_lines", "2025-03")
    assert not read.usable
    assert "missing required column 'account'" in read.reason
    assert "closest present: 'acount'" in read.reason


def test_missing_optional_column_is_empty_with_a_warning(landing):
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        "entry_id,line_no,posting_date,account,amount\nE1,1,2025-03-01,4000,1\n",
    )
    read = landing.read("gl_lines", "2025-03")
    assert read.usable and read.frame["memo"].isna().all()
    assert {p.column for p in read.problems if p.severity == "warning"} >= {"department", "memo"}


def test_renamed_column_is_found_through_alternatives(landing):
    landing.use(
        "gl_lines",
        "columns:\n  entry_id: entry_id\n  line_no: line_no\n  posting_date: posting_date\n"
        "  account: [account, account_number]\n  amount: amount\n",
    )
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        "entry_id,line_no,posting_date,account_number,amount\nE1,1,2025-03-01,4000,1\n",
    )
    assert landing.read("gl_lines", "2025-03").frame["account"].tolist() == ["4000"]


def test_changed_type_in_parquet_is_reported(landing):
    table = pa.table(
        {
            "entry_id": ["E1"],
            "line_no": [1],
            "posting_date": [20250301],
            "account": ["4000"],
            "amount": [1.5],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    landing.put("gl_lines", "gl_lines_2025-03.parquet", buffer.getvalue())
    read = landing.read("gl_lines", "2025-03")
    changed = [p for p in read.problems if "type changed" in p.message]
    assert changed and changed[0].column == "posting_date" and changed[0].seen == "int64"
    assert read.rejected["line"].tolist() == [1]


def test_parquet_with_native_types(landing):
    table = pa.table(
        {
            "entry_id": ["E1", "E1"],
            "line_no": pa.array([1, 2], pa.int32()),
            "posting_date": pa.array([pd.Timestamp("2025-03-01").date()] * 2, pa.date32()),
            "account": ["4000", "1100"],
            "amount": [-2.5, 2.5],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    landing.put("gl_lines", "gl_lines_2025-03.parquet", buffer.getvalue())
    f = landing.read("gl_lines", "2025-03").frame
    assert f["amount"].tolist() == [-2.5, 2.5]
    assert f["posting_date"].tolist() == [pd.Timestamp("2025-03-01")] * 2
    assert f["_source_line"].tolist() == [1, 2]


def test_xlsx_bamboohr_report(landing):
    from datetime import datetime

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Employee report"])
    sheet.append(
        [
            "employeeNumber",
            "hireDate",
            "originalHireDate",
            "terminationDate",
            "terminationType",
            "department",
            "jobTitle",
            "supervisorEId",
        ]
    )
    sheet.append([1001, datetime(2019, 4, 1), "0000-00-00", None, None, "Engineering", "Eng", None])
    sheet.append(
        [1003, "2020-01-06", None, datetime(2025, 3, 14), "Voluntary", "Sales", "AE", 1001]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    bamboo = (MAPPINGS / "bamboohr_employees.yaml").read_text(encoding="utf-8")
    landing.use("employees", bamboo + "skip_lines: 1\n")
    landing.put("employees", "employees_2025-03.xlsx", buffer.getvalue())
    read = landing.read("employees", "2025-03")
    assert read.usable and read.rejected.empty
    f = read.frame
    assert f["employee_id"].tolist() == ["1001", "1003"]
    assert f["hire_date"].tolist() == [pd.Timestamp("2019-04-01"), pd.Timestamp("2020-01-06")]
    assert pd.isna(f["original_hire_date"].iloc[0])
    assert f["termination_date"].iloc[1] == pd.Timestamp("2025-03-14")
    assert f["manager_id"].tolist()[1] == "1001"
    assert f["_source_line"].tolist() == [3, 4]  # sheet rows


def test_row_with_extra_fields_is_rejected_and_the_rest_kept(landing):
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        GL_HEADER + "E1,1,2025-03-01,4000,1,,,surplus\n" + GL_ROWS,
    )
    read = landing.read("gl_lines", "2025-03")
    assert read.frame["_source_line"].tolist() == [3, 4]
    assert read.rejected[["line", "reason"]].values.tolist() == [[2, "expected 7 fields, found 8"]]


def test_file_that_is_not_a_workbook_fails_the_dataset(landing):
    landing.put("gl_lines", "gl_lines_2025-03.xlsx", b"not a zip")
    read = landing.read("gl_lines", "2025-03")
    assert not read.usable and "gl_lines/gl_lines_2025-03.xlsx" in read.reason
    assert "xlsx" in read.reason


@pytest.mark.slow
def test_a_million_gl_lines_read_vectorized(landing):
    n = 1_000_000
    rng = np.random.default_rng(3)
    cents = rng.integers(-100_000, 100_000, n)
    frame = pd.DataFrame(
        {
            "entry_id": np.char.add("E", (np.arange(n) // 2).astype(str)),
            "line_no": np.arange(n) % 2 + 1,
            "posting_date": "2025-03-15",
            "account": "4000",
            "amount": cents / 100,
        }
    )
    path = landing.dir / "gl_lines" / "gl_lines_2025-03.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    read = landing.read("gl_lines", "2025-03")
    assert len(read.frame) == n and read.rejected.empty
    assert read.frame["amount"].sum() == pytest.approx(cents.sum() / 100)
    assert read.frame["_source_line"].iloc[-1] == n + 1
    # How long this takes is a figure, not a test: `python -m benchmarks --micro`.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9999-12-31", "between 1677-09-22 and 2262-04-11"),
        ("0001-01-01", "between 1677-09-22 and 2262-04-11"),
    ],
)
def test_a_date_pandas_cannot_hold_is_a_rejected_row_not_a_failed_month(landing, value, expected):
    landing.put(
        "gl_lines", "gl_lines_2025-03.csv", GL_HEADER + GL_ROWS + f"E3,1,{value},4000,1.00,,\n"
    )
    read = landing.read("gl_lines", "2025-03")

    (problem,) = read.errors
    assert (problem.line, problem.column) == (4, "posting_date")
    assert expected in problem.expected and value in problem.seen
    (reason,) = read.rejected["reason"]
    assert "posting_date" in reason and expected in reason and value in reason
    assert read.frame["_source_line"].tolist() == [2, 3]


def test_numbers_that_overflow_are_rejected_rows(landing):
    landing.put(
        "gl_lines", "gl_lines_2025-03.csv", GL_HEADER + GL_ROWS + "E3,1,2025-03-01,4000,1e400,,\n"
    )
    read = landing.read("gl_lines", "2025-03")

    (reason,) = read.rejected["reason"]
    assert "amount" in reason and "finite" in reason and "1e400" in reason
    assert read.frame["amount"].tolist() == [100.0, -100.0] or len(read.frame) == 2


def test_sources_check_reports_an_impossible_date_without_a_traceback(landing):
    from typer.testing import CliRunner

    from bsc_pipeline.sources.cli import app

    landing.put(
        "gl_lines", "gl_lines_2025-03.csv", GL_HEADER + GL_ROWS + "E3,1,9999-12-31,4000,1.00,,\n"
    )
    result = CliRunner().invoke(
        app,
        ["check", "--dataset", "gl_lines"],
        env={"BSC_LANDING_DIR": str(landing.dir), "BSC_SOURCES_CONFIG": str(landing.config)},
    )

    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "9999-12-31" in result.output and "posting_date" in result.output
