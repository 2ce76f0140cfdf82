"""Each ready mapping against its vendor-format fixture; expected values worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_quickbooks_general_ledger(landing):
    landing.use("gl_lines", "quickbooks_gl.yaml")
    landing.put_fixture("gl_lines", "quickbooks_gl.csv", "gl_lines_2025-03.csv")
    read = landing.read("gl_lines", "2025-03")
    assert read.usable and read.rejected.empty
    f = read.frame
    # Beginning Balance, section labels, three "Total for", TOTAL and the footer are not lines.
    assert f["account"].tolist() == ["1000", "1000", "4000", "6100"]
    assert f["amount"].tolist() == [1250.0, -85.40, -1250.0, 85.40]
    assert f["amount"].sum() == pytest.approx(0.0)
    assert f["posting_date"].tolist() == [
        _ts("2025-03-03"),
        _ts("2025-03-15"),
        _ts("2025-03-03"),
        _ts("2025-03-15"),
    ]
    assert f["line_no"].tolist() == [1, 1, 2, 2]
    assert f["entry_id"].iloc[0] == f["entry_id"].iloc[2] == "Invoice|1001|03/03/2025|Globex"
    assert f["_source_line"].tolist() == [8, 9, 12, 15]
    assert f["department"].isna().all()
    summary = read.summaries[0]
    assert summary.rows_read == 4
    assert summary.rows_dropped == 8  # balance + 3 sections + 3 totals + TOTAL


def test_sap_line_items_latin1_semicolon_and_debit_credit_indicator(landing):
    landing.use("gl_lines", "sap_fbl3n.yaml")
    landing.put_fixture("gl_lines", "sap_fbl3n.csv", "gl_lines_2025-03.csv")
    f = landing.read("gl_lines", "2025-03").frame
    assert f["entry_id"].tolist() == ["1000-2025-0100000001"] * 2 + ["1000-2025-0100000002"] * 2
    assert f["line_no"].tolist() == [1, 2, 1, 2]
    assert f["amount"].tolist() == [1234.56, -1234.56, 89.90, -89.90]
    assert f["account"].iloc[0] == "0000113100"  # leading zeros kept: accounts are text
    assert f["memo"].tolist()[0] == "Kundenzahlung März"
    assert f["memo"].tolist()[2] == "Büromaterial"
    assert f["posting_date"].iloc[2] == _ts("2025-03-17")
    assert f["department"].tolist()[2] == "4100"


def test_salesforce_opportunities(landing):
    landing.use("opportunities", "salesforce_opportunities.yaml")
    landing.put_fixture(
        "opportunities", "salesforce_opportunities.csv", "opportunities_2025-03.csv"
    )
    march = landing.read("opportunities", "2025-03")
    assert march.usable and not march.errors
    f = march.frame
    # incremental: only opportunities whose close date falls in March
    assert f["opportunity_id"].tolist() == ["0065g00000AbCdEAAV", "0065g00000AbCdFAAV"]
    assert f["stage"].tolist() == ["won", "lost"]
    assert f["amount"].tolist() == [12500.0, 4800.0]
    assert f["created_date"].tolist() == [_ts("2025-01-10"), _ts("2025-02-03")]
    assert f["updated_at"].iloc[0] == _ts("2025-03-14 16:02:11")
    april = landing.read("opportunities", "2025-04").frame
    assert april["stage"].tolist() == ["open"]
    assert april["amount"].isna().all()  # empty Amount is missing, not 0
    assert april["created_date"].iloc[0] == _ts("2025-03-01")


def test_zendesk_tickets_local_time_to_utc(landing):
    landing.use("tickets", "zendesk_tickets.yaml")
    landing.put_fixture("tickets", "zendesk_tickets.csv", "tickets_2025-03.csv")
    f = landing.read("tickets", "2025-03").frame.set_index("ticket_id")
    # New York is UTC-5 before 9 March 2025 and UTC-4 after.
    assert f.loc["1021", "created_at"] == _ts("2025-03-03 14:00:00")
    assert f.loc["1021", "resolved_at"] == _ts("2025-03-04 16:30:00")
    assert f.loc["1023", "created_at"] == _ts("2025-03-29 02:15:00")
    assert f.loc["1021", "resolution_hours"] == pytest.approx(26.5)
    assert bool(f.loc["1021", "sla_met"]) is False  # resolved 2.5 h after the due time
    assert pd.isna(f.loc["1022", "sla_met"])  # no due date: unknown, not false
    assert f["category"].tolist() == ["incident", "question", "incident"]
    assert f.loc["1021", "satisfaction"] == "good"
    assert pd.isna(f.loc["1022", "satisfaction"])  # "offered" is no rating
    assert f["reopens"].tolist()[:2] == [0, 1]
    assert pd.isna(f.loc["1023", "account_id"])


def test_jira_issues_locale_dates_value_maps_repeated_headers(landing):
    landing.use("tickets", "jira_issues.yaml")
    landing.put_fixture("tickets", "jira_issues.csv", "tickets_2018-07.csv")
    read = landing.read("tickets", "2018-07")
    assert read.usable and read.rejected.empty
    f = read.frame.set_index("ticket_id")
    assert f.loc["SUP-101", "created_at"] == _ts("2018-07-30 23:33:00")
    assert f.loc["SUP-101", "resolved_at"] == _ts("2018-08-01 09:05:00")
    assert f.loc["SUP-103", "created_at"] == _ts("2018-07-31 09:30:00")  # second date format
    assert f["priority"].tolist() == ["urgent", "normal", "low"]
    assert f["status"].tolist() == ["solved", "open", "open"]
    assert f["category"].tolist() == ["incident", "request", "request"]
    assert f.loc["SUP-101", "resolution_hours"] == pytest.approx(33 + 32 / 60)
    assert not any("extra column" in p.message for p in read.problems)


def test_bamboohr_employees_zero_dates_are_missing(landing):
    landing.use("employees", "bamboohr_employees.yaml")
    landing.put_fixture("employees", "bamboohr_employees.csv", "employees_2025-03.csv")
    f = landing.read("employees", "2025-03").frame.set_index("employee_id")
    assert pd.isna(f.loc["1001", "original_hire_date"])
    assert pd.isna(f.loc["1001", "termination_date"])
    assert f.loc["1002", "original_hire_date"] == _ts("2016-02-01")
    assert f.loc["1003", "termination_date"] == _ts("2025-03-14")
    assert f["termination_type"].tolist()[2:] == ["voluntary", "involuntary"]
    assert f.loc["1004", "manager_id"] == "1003"
    assert pd.isna(f.loc["1001", "manager_id"])
