"""Real exports: the docs' invoice-line, full-history and event-log walkthroughs, expressions,
flags, and a multi-month file parsed once per run."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bsc_pipeline.measures.filters import filter_mask
from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources import dataset as dataset_module
from bsc_pipeline.sources import load_contracts, parsed, read_dataset
from bsc_pipeline.sources.cli import app
from bsc_pipeline.sources.contracts import ContractError
from bsc_pipeline.sources.expressions import ExpressionError, parse_expression
from bsc_pipeline.sources.mappings import MappingError, load_mapping
from bsc_pipeline.sources.row_evaluation import evaluate_rows
from bsc_pipeline.spec.loader import load_spec
from bsc_pipeline.spec.models import Filter

DOCS = PROJECT_ROOT / "docs" / "sources.md"
FIXTURES = PROJECT_ROOT / "sources" / "fixtures"
CONTRACTS = PROJECT_ROOT / "sources" / "contracts.yaml"


def _doc_block(first_line: str) -> str:
    """The fenced YAML block of docs/sources.md that starts with `first_line`."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    (block,) = [b for b in blocks if b.startswith(first_line + "\n")]
    return block


def _setup(tmp_path: Path, mapping: str, sources: str) -> tuple[Path, Path]:
    """A landing zone and the docs' mapping and sources file, as a user would lay them out."""
    landing = tmp_path / "landing"
    landing.mkdir()
    folder = tmp_path / "sources"
    (folder / "mappings").mkdir(parents=True)
    name = mapping.removeprefix("# sources/mappings/")
    (folder / "mappings" / name).write_text(_doc_block(mapping), encoding="utf-8")
    config = folder / "sources.yaml"
    config.write_text(_doc_block(sources), encoding="utf-8")
    return landing, config


def _land(landing: Path, dataset: str, fixture: str, name: str) -> Path:
    (landing / dataset).mkdir(exist_ok=True)
    return Path(shutil.copy(FIXTURES / fixture, landing / dataset / name))


def _check(landing: Path, config: Path, dataset: str) -> str:
    env = {
        "BSC_LANDING_DIR": str(landing),
        "BSC_SOURCES_CONFIG": str(config),
        "BSC_CONTRACTS": str(CONTRACTS),
        "COLUMNS": "220",
    }
    result = CliRunner().invoke(app, ["check", "--dataset", dataset], env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def contracts():
    return load_contracts(CONTRACTS)


def _sum(frame: pd.DataFrame, filters: list[dict]) -> float:
    mask = filter_mask(frame, [Filter.model_validate(f) for f in filters], owner="test")
    return -float(frame.loc[mask, "amount"].sum())


# --- Walkthrough 1: an invoice-line export ---------------------------------------------------


def test_invoice_line_walkthrough_from_the_docs(tmp_path, contracts):
    landing, config = _setup(
        tmp_path, "# sources/mappings/invoice_lines.yaml", "# sources/sources.yaml (invoice lines)"
    )
    _land(landing, "gl_lines", "invoice_lines.csv", "gl_lines_2011-01.csv")
    output = _check(landing, config, "gl_lines")
    assert "warning" not in output and "error" not in output
    read = read_dataset(
        "gl_lines", "2011-01", landing_dir=landing, contracts=contracts, sources_config=config
    )
    assert read.usable and len(read.rejected) == 0
    frame = read.frame
    assert frame["entry_id"].tolist()[:2] == ["536365", "536365"]
    assert frame["line_no"].tolist() == [1, 2, 1, 1, 1, 1]
    assert frame["account"].tolist() == ["4000", "4000", "4000", "4100", "4100", "4000"]
    # 6 × 2.55, 6 × 3.39, 12 × 1.85, -1 × 27.50, -2 × 4.65, 32 × 1.69, as ledger credits.
    assert frame["amount"].tolist() == pytest.approx([-15.30, -20.34, -22.20, 27.50, 9.30, -54.08])
    assert frame["posting_date"].iloc[3] == pd.Timestamp("2011-01-09")
    # Step 4: the docs' filters give gross sales, returns and net revenue.
    assert _sum(frame, [{"column": "account", "op": "eq", "value": "4000"}]) == pytest.approx(
        111.92
    )
    returns = [{"column": "entry_id", "op": "starts_with", "value": "C"}]
    assert _sum(frame, returns) == pytest.approx(-36.80)
    net = [{"column": "account", "op": "in", "values": ["4000", "4100"]}]
    assert _sum(frame, net) == pytest.approx(75.12)


# --- Walkthrough 2: one file with the whole history -----------------------------------------


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Every file the sources package parses, in order (the real reader does the work)."""
    seen: list[str] = []
    real = dataset_module.read_raw

    def counting(path, rel, data, mapping):
        seen.append(rel)
        return real(path, rel, data, mapping)

    monkeypatch.setattr(dataset_module, "read_raw", counting)
    parsed.clear()
    return seen


def test_full_history_walkthrough_split_by_month_and_parsed_once(tmp_path, contracts, parses):
    landing, config = _setup(
        tmp_path, "# sources/mappings/invoice_lines.yaml", "# sources/sources.yaml (full history)"
    )
    _land(landing, "gl_lines", "invoice_lines_history.csv", "gl_lines_history.csv")
    output = _check(landing, config, "gl_lines")
    assert "split by posting_date: 3 month(s)" in output
    assert "2010-12..2011-02" in output
    assert parses == ["gl_lines/gl_lines_history.csv"]
    net = [{"column": "account", "op": "in", "values": ["4000", "4100"]}]
    expected = {"2010-12": -12.20, "2011-01": 66.98, "2011-02": 20.00, "2011-03": 0.0}
    reads = {
        month: read_dataset(
            "gl_lines", month, landing_dir=landing, contracts=contracts, sources_config=config
        )
        for month in expected
    }
    for month, value in expected.items():
        assert reads[month].usable
        assert _sum(reads[month].frame, net) == pytest.approx(value), month
    assert len(reads["2011-01"].frame) == 3
    assert reads["2011-01"].files[0].path == "gl_lines/gl_lines_history.csv"
    # The check and four months of reads parsed the one file once.
    assert parses == ["gl_lines/gl_lines_history.csv"]
    # A monthly file wins for its own month; other months still come from the history.
    monthly = _land(landing, "gl_lines", "invoice_lines.csv", "gl_lines_2011-01.csv")
    january = read_dataset(
        "gl_lines", "2011-01", landing_dir=landing, contracts=contracts, sources_config=config
    )
    assert [f.path for f in january.files] == ["gl_lines/gl_lines_2011-01.csv"]
    assert len(january.frame) == 6
    monthly.unlink()
    # A rewritten history file is parsed again.
    history = landing / "gl_lines" / "gl_lines_history.csv"
    history.write_text(history.read_text(encoding="utf-8").replace(",10,", ",11,"), "utf-8")
    february = read_dataset(
        "gl_lines", "2011-02", landing_dir=landing, contracts=contracts, sources_config=config
    )
    assert _sum(february.frame, net) == pytest.approx(22.00)
    assert parses.count("gl_lines/gl_lines_history.csv") == 2


def test_other_processes_reuse_the_parsed_file_from_disk(tmp_path, contracts, parses):
    landing, config = _setup(
        tmp_path, "# sources/mappings/invoice_lines.yaml", "# sources/sources.yaml (full history)"
    )
    history = _land(landing, "gl_lines", "invoice_lines_history.csv", "gl_lines_history.csv")
    kept = tmp_path / "lake" / "_parsed"

    def read(month: str, folder: Path | None = kept):
        return read_dataset(
            "gl_lines",
            month,
            landing_dir=landing,
            contracts=contracts,
            sources_config=config,
            parsed_dir=folder,
        )

    first = read("2011-01")
    parsed.clear()  # as a second process of a parallel backfill starts with nothing
    second = read("2011-01")
    assert parses == ["gl_lines/gl_lines_history.csv"]
    pd.testing.assert_frame_equal(first.frame, second.frame)
    pd.testing.assert_frame_equal(first.rejected, second.rejected)
    assert first.files == second.files and first.problems == second.problems
    parsed.clear()
    fresh = read("2011-01", folder=None)  # parsed again, without the disk entry
    pd.testing.assert_frame_equal(fresh.frame, second.frame)
    # A rewritten file gets a new entry; the entry of its older version is removed.
    history.write_text(
        history.read_text(encoding="utf-8") + "540002,1,X,1,04/02/2011 10:00,1.00,1,France\n",
        "utf-8",
    )
    parsed.clear()
    assert len(read("2011-02").frame) == 2
    (entries,) = [list(p.iterdir()) for p in kept.iterdir()]
    assert len(entries) == 1


def test_the_pipeline_extract_keeps_the_parsed_file_in_the_lake(tmp_path, tiny_settings, parses):
    from dataclasses import replace

    from bsc_pipeline.pipeline import Pipeline

    landing, config = _setup(
        tmp_path, "# sources/mappings/invoice_lines.yaml", "# sources/sources.yaml (full history)"
    )
    _land(landing, "gl_lines", "invoice_lines_history.csv", "gl_lines_history.csv")
    settings = replace(tiny_settings, landing_dir=landing, sources_config=config)
    rows = {}
    for month in ("2010-12", "2011-01", "2011-02"):
        parsed.clear()  # each month of a parallel backfill is a process of its own
        rows[month] = Pipeline(settings).extract("gl_lines", month).row_count
    assert rows == {"2010-12": 2, "2011-01": 3, "2011-02": 1}
    assert parses == ["gl_lines/gl_lines_history.csv"]
    (kept,) = (settings.lake_dir / "_parsed").iterdir()
    assert len(list(kept.iterdir())) == 1


def test_a_multi_month_file_without_split_is_reported_as_never_read(tmp_path, contracts):
    landing, config = _setup(
        tmp_path, "# sources/mappings/invoice_lines.yaml", "# sources/sources.yaml (full history)"
    )
    config.write_text(
        config.read_text(encoding="utf-8").replace("split_by_month: true", ""), "utf-8"
    )
    _land(landing, "gl_lines", "invoice_lines_history.csv", "gl_lines_history.csv")
    output = _check(landing, config, "gl_lines")
    assert "never read: names no month" in output
    assert "set `split_by_month: true`" in output
    read = read_dataset(
        "gl_lines", "2011-01", landing_dir=landing, contracts=contracts, sources_config=config
    )
    assert read.files == [] and len(read.frame) == 0


def test_rows_of_a_split_file_without_a_month_are_reported(tmp_path, contracts, parses):
    landing, config = _setup(
        tmp_path, "# sources/mappings/invoice_lines.yaml", "# sources/sources.yaml (full history)"
    )
    history = _land(landing, "gl_lines", "invoice_lines_history.csv", "gl_lines_history.csv")
    with history.open("a", encoding="utf-8") as handle:
        handle.write("540003,1,X,1,,1.00,1,France\n")
    read = read_dataset(
        "gl_lines", "2011-01", landing_dir=landing, contracts=contracts, sources_config=config
    )
    assert len(read.frame) == 3
    (problem,) = [p for p in read.problems if p.column == "posting_date"]
    assert problem.seen == "1 row(s) without one"
    assert problem.message == "rows without a month belong to no month's read"


def test_a_split_file_reports_a_rejected_row_with_its_own_month(tmp_path, contracts, parses):
    landing, config = _setup(
        tmp_path, "# sources/mappings/invoice_lines.yaml", "# sources/sources.yaml (full history)"
    )
    history = _land(landing, "gl_lines", "invoice_lines_history.csv", "gl_lines_history.csv")
    with history.open("a", encoding="utf-8") as handle:
        handle.write("540004,1,X,two,05/02/2011 10:00,1.00,1,France\n")  # line 8: February
        handle.write("540005,1,X,1,someday,1.00,1,France\n")  # line 9: no month known
        handle.write("540006,1,X\n")  # line 10: too few fields, no month known

    def rejected_lines(month: str) -> list[int]:
        read = read_dataset(
            "gl_lines", month, landing_dir=landing, contracts=contracts, sources_config=config
        )
        return read.rejected["line"].tolist()

    assert rejected_lines("2011-02") == [8, 9, 10]
    assert rejected_lines("2011-01") == [9, 10]
    parsed.clear()
    kept = tmp_path / "lake"
    for _ in range(2):  # parsed, then read back from disk: the months survive the round trip
        parsed.clear()
        read = read_dataset(
            "gl_lines",
            "2011-01",
            landing_dir=landing,
            contracts=contracts,
            sources_config=config,
            parsed_dir=kept,
        )
        assert read.rejected["line"].tolist() == [9, 10]


def test_a_typo_in_the_sources_file_is_named_with_its_line(tmp_path, contracts):
    config = tmp_path / "sources.yaml"
    config.write_text(
        "datasets:\n  gl_lines:\n    mapping: m.yaml\n    split_by_moth: true\n", "utf-8"
    )
    with pytest.raises(MappingError) as caught:
        read_dataset(
            "gl_lines", "2025-01", landing_dir=tmp_path, contracts=contracts, sources_config=config
        )
    assert str(caught.value).startswith(
        f"{config}, line 4: dataset 'gl_lines' has an unknown key 'split_by_moth'. "
        "Did you mean 'split_by_month'?"
    )


def test_split_by_month_needs_a_month_column(tmp_path, contracts):
    landing = tmp_path / "landing"
    (landing / "employees").mkdir(parents=True)
    config = tmp_path / "sources.yaml"
    config.write_text(
        "datasets:\n  employees: {mapping: "
        f"'{PROJECT_ROOT / 'sources/mappings/demo.yaml'}', split_by_month: true}}\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match="split_by_month but its contract names no month"):
        read_dataset(
            "employees", "2025-01", landing_dir=landing, contracts=contracts, sources_config=config
        )


# --- Walkthrough 3: a service-desk event log with an SLA flag --------------------------------


def test_event_log_walkthrough_sla_from_the_flag(tmp_path, contracts):
    landing, config = _setup(
        tmp_path,
        "# sources/mappings/servicedesk_eventlog.yaml",
        "# sources/sources.yaml (service desk)",
    )
    _land(landing, "tickets", "servicedesk_eventlog.csv", "tickets_eventlog.csv")
    output = _check(landing, config, "tickets")
    assert "warning" not in output and "error" not in output
    assert "all months (2 covered)" in output
    read = read_dataset(
        "tickets", "2016-03", landing_dir=landing, contracts=contracts, sources_config=config
    )
    assert read.usable
    frame = read.frame.set_index("ticket_id")
    assert sorted(frame.index) == ["INC0000045", "INC0000046", "INC0000047", "INC0000048"]
    assert frame.loc["INC0000045", "status"] == "solved"  # the newest event wins
    assert frame.loc["INC0000046", "priority"] == "high"
    assert frame["made_sla"].tolist() == [True, False, True, True]
    assert frame["sla_met"].tolist() == [True, False, True, True]
    # The demo spec's SLA measures, unchanged, over March's resolved tickets.
    spec = load_spec(PROJECT_ROOT / "specs" / "demo.yaml")
    by_id = {m.id: m for m in spec.measures}
    resolved = read.frame[read.frame["resolved_at"].dt.strftime("%Y-%m") == "2016-03"]
    counts = {
        name: int(filter_mask(resolved, by_id[name].filters, owner=name).sum())
        for name in ("tickets_resolved", "tickets_within_sla")
    }
    assert counts == {"tickets_resolved": 3, "tickets_within_sla": 2}


def test_sla_met_falls_back_to_the_due_time_without_a_flag(contracts):
    from bsc_pipeline.sources.computed import add_computed

    t = pd.Timestamp
    frame = pd.DataFrame(
        {
            "created_at": [t("2025-03-01 08:00")] * 4,
            "resolved_at": [t("2025-03-01 20:00"), t("2025-03-03 08:00"), pd.NaT, t("2025-03-04")],
            "sla_due_at": [t("2025-03-02 08:00")] * 3 + [pd.NaT],
            "made_sla": pd.array([None, None, None, True], dtype="boolean"),
            "reopens": pd.array([0, 0, 0, 0], dtype="Int64"),
        }
    )
    out = add_computed(frame, contracts["tickets"])
    assert out["sla_met"].tolist() == [True, False, pd.NA, True]


def test_value_maps_to_flags_and_boolean_type(landing, contracts):
    landing.use(
        "tickets",
        "datetime_format: '%Y-%m-%d %H:%M'\ncolumns:\n  ticket_id: Id\n  created_at: Opened\n"
        "  updated_at: Opened\n  priority: {constant: normal}\n  category: {constant: incident}\n"
        "  status: {constant: open}\n"
        "  made_sla: {from: SLA, values: {Met: true, Breached: false, 'N': false}}\n",
    )
    landing.put(
        "tickets",
        "tickets_2025-03.csv",
        "Id,Opened,SLA\nT1,2025-03-01 08:00,Met\nT2,2025-03-02 08:00,breached\n"
        "T3,2025-03-03 08:00,N\nT4,2025-03-04 08:00,\nT5,2025-03-05 08:00,late\n",
    )
    read = landing.read("tickets", "2025-03")
    assert read.frame["made_sla"].tolist() == [True, False, False, pd.NA]
    assert read.rejected["line"].tolist() == [6]
    assert "expected true/false" in read.rejected["reason"].iloc[0]
    assert "'late'" in read.rejected["reason"].iloc[0]
    assert contracts["tickets"].columns["made_sla"].type == "bool"


def test_an_unquoted_yaml_flag_as_a_map_key_is_explained(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("columns:\n  made_sla: {from: SLA, values: {yes: true}}\n", "utf-8")
    with pytest.raises(MappingError, match=r"quote the vendor's word, e.g. 'yes': true"):
        load_mapping(path)


# --- Mapping expressions ---------------------------------------------------------------------


def test_unknown_mapping_key_names_key_file_line_and_allowed_keys(tmp_path):
    path = tmp_path / "invoices.yaml"
    path.write_text(
        "dataset: gl_lines\ncolumns:\n  entry_id: InvoiceNo\n  amount:\n    from: Quantity\n"
        "    multiply_by: UnitPrice\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 6: column 'amount' has an unknown key 'multiply_by'")
    assert "The keys allowed there are: from, constant, concat" in message
    assert "expr" in message
    assert "function-after" not in message and "canonical" not in message


def test_a_wrong_value_inside_columns_does_not_blame_the_word_canonical(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("columns:\n  amount: {from: Amount, negate: maybe}\n", "utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert "columns.amount.negate" in str(caught.value)
    assert "'canonical'" not in str(caught.value)
    assert "function-after" not in str(caught.value)


def test_mapping_expression_with_nulls_bad_numbers_and_division_by_zero(landing):
    landing.use(
        "gl_lines",
        "decimal: ','\nthousands: '.'\ncolumns:\n  entry_id: Doc\n  line_no: {sequence_within: "
        "entry_id}\n  posting_date: Date\n  account: {constant: '4000'}\n"
        "  amount: {expr: 'Total / Qty'}\n  memo: {expr: 'if_(Qty > 1, \"bulk\", \"single\")'}\n",
    )
    # "1.000,50" holds the decimal comma, so that field is quoted.
    path = landing.put("gl_lines", "gl_lines_2025-03.csv", "")
    path.write_text(
        'Doc,Date,Qty,Total\nA,2025-03-01,4,"1.000,50"\nB,2025-03-02,0,5\nC,2025-03-03,,7\n'
        "D,2025-03-04,2,x\nE,2025-03-05,1,3\n",
        encoding="utf-8",
    )
    read = landing.read("gl_lines", "2025-03")
    # A: 1000.50 / 4; B: divisor 0 (amount required: rejected); C: Qty missing, so amount is
    # missing (kept: the quality gate's not-null check sees it); D: 'x' is not a number
    # (rejected); E: 3 / 1.
    assert read.frame["entry_id"].tolist() == ["A", "C", "E"]
    amounts = read.frame["amount"].tolist()
    assert amounts[0] == 250.125 and pd.isna(amounts[1]) and amounts[2] == 3.0
    assert read.frame["memo"].tolist() == ["bulk", pd.NA, "single"]
    reasons = dict(zip(read.rejected["line"], read.rejected["reason"], strict=True))
    assert "divisor other than 0" in reasons[3]
    assert "column 'Total': expected a number" in reasons[5] and "'x'" in reasons[5]


def test_expression_results_into_text_and_date_columns(landing):
    landing.use(
        "gl_lines",
        "columns:\n  entry_id: {expr: 'Year * 100 + Month'}\n  line_no: {constant: 1}\n"
        "  posting_date: {expr: 'coalesce(Booked, Entered)'}\n  account: {constant: '4000'}\n"
        "  amount: {expr: 'Net + Tax'}\n",
    )
    landing.put(
        "gl_lines",
        "gl_lines_2025-03.csv",
        "Year,Month,Booked,Entered,Net,Tax\n2025,3,2025-03-02,2025-03-01,10,2.5\n"
        "2025,3,,2025-03-05,1,0\n",
    )
    read = landing.read("gl_lines", "2025-03")
    assert read.frame["entry_id"].tolist() == ["202503", "202503"]
    assert read.frame["posting_date"].tolist() == [
        pd.Timestamp("2025-03-02"),
        pd.Timestamp("2025-03-05"),
    ]
    assert read.frame["amount"].tolist() == [12.5, 1.0]


def test_an_optional_column_divided_by_zero_is_left_empty_with_a_warning(landing):
    landing.use(
        "tickets",
        "columns:\n  ticket_id: Id\n  created_at: {from: Opened, format: '%Y-%m-%d'}\n"
        "  updated_at: {from: Opened, format: '%Y-%m-%d'}\n  priority: {constant: normal}\n"
        "  category: {constant: incident}\n  status: {constant: open}\n"
        "  reopens: {expr: 'Touches / Agents'}\n",
    )
    landing.put(
        "tickets",
        "tickets_2025-03.csv",
        "Id,Opened,Touches,Agents\nT1,2025-03-01,4,2\nT2,2025-03-02,3,0\n",
    )
    read = landing.read("tickets", "2025-03")
    assert read.frame["reopens"].tolist() == [2, pd.NA]
    assert len(read.rejected) == 0
    assert any("division(s) by zero" in p.seen for p in read.problems)


def test_contract_computed_expression_is_checked_at_load(tmp_path):
    path = tmp_path / "contracts.yaml"
    path.write_text(
        "datasets:\n  d:\n    source: s\n    mode: period\n    keys: [a]\n    columns:\n"
        "      a: {type: int}\n    computed:\n      b: {expr: 'a ** 2'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError, match=r"'\*\*' \(power\) not allowed"):
        load_contracts(path)
    path.write_text(path.read_text("utf-8").replace("a ** 2", "a * c"), "utf-8")
    with pytest.raises(ContractError, match=r"undeclared columns \['c'\]"):
        load_contracts(path)


# --- The expression evaluator, vectorised, on hand-computed values ---------------------------


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "qty": pd.array([2, 3, None, 4, -1], dtype="Int64"),
            "price": [1.5, 0.0, 2.0, None, 27.5],
            "invoice": pd.array(["536365", "536366", None, "C1", "C2"], dtype="string"),
            "flag": pd.array([True, None, False, None, True], dtype="boolean"),
            "due": pd.to_datetime(["2025-01-02", "2025-01-02", None, "2025-01-01", "2025-01-09"]),
            "done": pd.to_datetime(["2025-01-01", None, "2025-01-01", "2025-01-03", "2025-01-09"]),
            "text_qty": pd.array(["4", "12", None, "x", "1"], dtype="string"),
        }
    )


def _values(text: str) -> tuple[list, list]:
    frame = _frame()
    result = evaluate_rows(parse_expression(text), lambda name: frame[name], frame.index)
    return result.values.tolist(), result.divided_by_zero.tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("qty * price", [3.0, 0.0, pd.NA, pd.NA, -27.5]),
        ("qty * price - 1", [2.0, -1.0, pd.NA, pd.NA, -28.5]),
        ("-(qty + 1) / 2", [-1.5, -2.0, pd.NA, -2.5, 0.0]),
        ("coalesce(price, qty, 0)", [1.5, 0.0, 2.0, 4.0, 27.5]),
        ('if_(startswith(invoice, "C"), -qty, qty)', [2.0, 3.0, pd.NA, -4.0, 1.0]),
        ('startswith(invoice, "C")', [False, False, pd.NA, True, True]),
        ("qty >= 3", [False, True, pd.NA, True, False]),
        ('invoice == "C1"', [False, False, pd.NA, True, False]),
        ("done <= due", [True, pd.NA, pd.NA, False, True]),
        ("coalesce(flag, done <= due)", [True, pd.NA, False, False, True]),
        ("flag and qty > 0", [True, pd.NA, False, pd.NA, False]),
        ("not flag or qty > 3", [False, pd.NA, True, True, False]),
        ("max(qty, price)", [2.0, 3.0, pd.NA, pd.NA, 27.5]),
        ("abs(qty)", [2.0, 3.0, pd.NA, 4.0, 1.0]),
        # A source's text compared with a number is read as a number ("4" < 10, not "4" > "10").
        ("text_qty > 10", [False, True, pd.NA, pd.NA, False]),
        ("text_qty * 2", [8.0, 24.0, pd.NA, pd.NA, 2.0]),
        ('text_qty == "12"', [False, True, pd.NA, False, False]),
        ('done >= "2025-01-03"', [False, pd.NA, False, True, True]),
        ('if_(flag, "met", "missed")', ["met", pd.NA, "missed", pd.NA, "met"]),
    ],
)
def test_expressions_give_hand_computed_values(text, expected):
    values, zero = _values(text)
    assert [pd.NA if pd.isna(v) else v for v in values] == expected
    assert not any(zero)


def test_division_by_zero_is_missing_and_reported_per_row():
    values, zero = _values("qty / price")
    assert [pd.NA if pd.isna(v) else v for v in values] == [
        pytest.approx(4 / 3),
        pd.NA,
        pd.NA,
        pd.NA,
        pytest.approx(-1 / 27.5),
    ]
    assert zero == [False, True, False, False, False]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("qty ** 2", "'**' (power) not allowed at column 5"),
        ("__import__('os').system('x')", "calling anything but the functions not allowed"),
        ("eval('1')", "calling 'eval' not allowed"),
        ("qty.real", "attribute access"),
        ("[qty][0]", "subscripts"),
        ("1 < qty < 3", "only one comparison"),
        ("qty if flag else 0", "'if ... else' not allowed"),
        ("startswith(invoice, prefix)", "startswith() takes a prefix in quotes"),
        ("if_(flag, 1)", "if_() takes 3 argument(s), got 2"),
        ("col(name)", "col() takes a column name in quotes"),
        ("lambda: 1", "lambda not allowed"),
        ('qty * "2"', "text in arithmetic (+ - * / take numbers) at column 7"),
    ],
)
def test_expressions_outside_the_grammar_are_refused(text, reason):
    with pytest.raises(ExpressionError, match=re.escape(reason)):
        parse_expression(text)


def test_dates_in_arithmetic_are_refused_when_evaluated():
    with pytest.raises(ExpressionError, match="dates cannot take part in arithmetic"):
        _values("done * 2")


def test_expression_names_are_the_columns_it_reads():
    expression = parse_expression('coalesce(made_sla, col("Resolved At") <= due) and true')
    assert expression.names == frozenset({"made_sla", "Resolved At", "due"})
