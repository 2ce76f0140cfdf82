"""Contracts and mappings load with actionable errors; computed columns follow their rules."""

from __future__ import annotations

import pandas as pd
import pytest

from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources import ContractError, MappingError, load_contracts, load_mapping
from bsc_pipeline.sources.computed import add_computed

MAPPINGS = PROJECT_ROOT / "sources" / "mappings"


def test_contracts_cover_every_canonical_dataset(contracts):
    assert set(contracts) == {
        "gl_lines",
        "chart_of_accounts",
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
    tickets = contracts["tickets"]
    assert tickets.mode == "incremental" and tickets.keys == ["ticket_id"]
    assert tickets.event_columns == ["created_at", "resolved_at"]
    assert contracts["gl_lines"].required_columns == [
        "entry_id",
        "line_no",
        "posting_date",
        "account",
        "amount",
    ]


def test_contract_naming_an_undeclared_key_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "datasets:\n  x:\n    source: s\n    mode: period\n    keys: [idd]\n"
        "    columns:\n      id: {type: string}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError, match=r"dataset 'x'.*\['idd'\]"):
        load_contracts(path)


def test_contract_with_unknown_type_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "datasets:\n  x:\n    source: s\n    mode: period\n    keys: [id]\n"
        "    columns:\n      id: {type: text}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError, match=r"columns.id.type"):
        load_contracts(path)


@pytest.mark.parametrize("name", sorted(p.name for p in MAPPINGS.glob("*.yaml")))
def test_every_ready_mapping_loads(name, contracts):
    mapping = load_mapping(MAPPINGS / name)
    if mapping.dataset:
        assert set(mapping.column_map or {}) <= set(contracts[mapping.dataset].columns)


def test_mapping_typo_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("delimeter: ';'\ncolumns: canonical\n", encoding="utf-8")
    with pytest.raises(
        MappingError,
        match=r"m.yaml, line 1: the mapping has an unknown key .delimeter.. Did you mean",
    ):
        load_mapping(path)


def test_column_with_two_origins_is_refused(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("columns:\n  amount: {from: A, constant: 1}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="exactly one origin"):
        load_mapping(path)


def test_mapping_for_another_dataset_is_refused():
    with pytest.raises(MappingError, match="for dataset 'opportunities'"):
        load_mapping(MAPPINGS / "salesforce_opportunities.yaml", "tickets")


def test_unknown_canonical_column_in_mapping_is_refused(landing):
    landing.use("gl_lines", "columns:\n  entry: e\n")
    landing.put("gl_lines", "gl_lines_2025-03.csv", "e\n1\n")
    with pytest.raises(MappingError, match=r"\['entry'\] are not in the 'gl_lines' contract"):
        landing.read("gl_lines", "2025-03")


def test_quickbooks_journal_fill_down_and_debit_credit(landing):
    landing.use(
        "gl_lines",
        'thousands: ","\ndate_format: "%m/%d/%Y"\nfill_down: [Date, Num]\n'
        "columns:\n  entry_id: Num\n  line_no: {sequence_within: entry_id}\n"
        "  posting_date: Date\n  account: {from: Account, pattern: '^(?P<value>\\d+)'}\n"
        "  amount: {debit: Debit, credit: Credit}\n  memo: Memo/Description\n"
        "ignore: [Transaction Type, Name]\n",
    )
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        "Date,Transaction Type,Num,Name,Memo/Description,Account,Debit,Credit\n"
        '03/02/2025,Journal Entry,J-7,,Accrual,6100 Office Supplies,"1,000.00",\n'
        ',,,,Accrual,2000 Accrued Liabilities,,"1,000.00"\n'
        "03/09/2025,Deposit,J-8,Globex,,1000 Checking,250.00,\n"
        ",,,Globex,,4000 Service Revenue,,250.00\n",
    )
    f = landing.read("gl_lines", "2025-03").frame
    assert f["entry_id"].tolist() == ["J-7", "J-7", "J-8", "J-8"]
    assert f["line_no"].tolist() == [1, 2, 1, 2]
    assert (
        f["posting_date"].tolist()
        == [pd.Timestamp("2025-03-02")] * 2 + [pd.Timestamp("2025-03-09")] * 2
    )
    assert f["account"].tolist() == ["6100", "2000", "1000", "4000"]
    assert f["amount"].tolist() == [1000.0, -1000.0, 250.0, -250.0]


def test_computed_columns_by_hand(contracts):
    frame = pd.DataFrame(
        {
            "score": pd.array([10, 9, 7, 6, 0, None], dtype="Int64"),
        }
    )
    out = add_computed(frame, contracts["survey_responses"])
    assert out["is_promoter"].tolist() == [True, True, False, False, False, pd.NA]
    assert out["is_detractor"].tolist() == [False, False, False, True, True, pd.NA]


def test_ticket_computed_columns_missing_side_is_missing_not_false(contracts):
    t = pd.Timestamp
    frame = pd.DataFrame(
        {
            "created_at": [t("2025-03-01 08:00"), t("2025-03-01 08:00"), t("2025-03-01 08:00")],
            "resolved_at": [t("2025-03-01 20:30"), pd.NaT, t("2025-03-03 08:00")],
            "sla_due_at": [t("2025-03-02 08:00"), t("2025-03-02 08:00"), pd.NaT],
            "reopens": pd.array([0, 2, None], dtype="Int64"),
        }
    )
    out = add_computed(frame, contracts["tickets"])
    assert out["resolution_hours"].tolist()[0] == 12.5
    assert pd.isna(out["resolution_hours"].iloc[1])
    assert out["resolution_hours"].iloc[2] == 48.0
    assert out["sla_met"].tolist() == [True, pd.NA, pd.NA]
    assert out["was_reopened"].tolist() == [False, True, pd.NA]


def test_constant_and_negated_amount(landing):
    landing.use(
        "gl_lines",
        "columns:\n  entry_id: Document Number\n  line_no: Line\n  posting_date: Date\n"
        "  account: Account\n  amount: {from: Amount, negate: true}\n"
        "  department: {constant: Finance}\n",
    )
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        "Document Number,Line,Date,Account,Amount\nJ1,1,2025-03-01,6100,12.5\n"
        "J1,2,2025-03-01,2000,-12.5\n",
    )
    f = landing.read("gl_lines", "2025-03").frame
    assert f["amount"].tolist() == [-12.5, 12.5]
    assert f["department"].tolist() == ["Finance", "Finance"]
