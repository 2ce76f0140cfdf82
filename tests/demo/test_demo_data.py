"""The demo generator: its file format, determinism, scaling, balanced ledger and the story."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from bsc_pipeline.periods import Month, PeriodError, month_range
from bsc_pipeline.sources.demo_data import (
    DATASETS,
    INCREMENTAL_DATASETS,
    PERIOD_DATASETS,
    SNAPSHOT_DATASETS,
    DemoDataError,
    DemoSummary,
    default_end,
    demo_data,
    generate_demo,
)

DEMO_END = "2026-10"
ReadDataset = Callable[[Path, str], pd.DataFrame]
MonthlyValues = Callable[[Path], pd.DataFrame]
CONTRACTS = yaml.safe_load(
    (Path(__file__).parents[2] / "sources" / "contracts.yaml").read_text(encoding="utf-8")
)["datasets"]
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
CUT = slice(12, 21)  # months of slow service (story months 12-20)
BEFORE = slice(0, 10)
RECOVERED = slice(27, 36)


def small(out: Path, **kwargs: object) -> DemoSummary:
    options: dict[str, object] = {"months": 14, "scale": 0.1, "end": "2025-06"}
    options.update(kwargs)
    return generate_demo(out, **options)  # type: ignore[arg-type]


def folder_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_same_arguments_write_identical_bytes(tmp_path: Path) -> None:
    small(tmp_path / "a")
    small(tmp_path / "b")
    assert folder_bytes(tmp_path / "a") == folder_bytes(tmp_path / "b")


def test_another_seed_writes_other_data(tmp_path: Path) -> None:
    small(tmp_path / "a", seed=7)
    small(tmp_path / "b", seed=8)
    a, b = folder_bytes(tmp_path / "a"), folder_bytes(tmp_path / "b")
    assert a.keys() == b.keys()
    assert a["gl_lines/gl_lines_2025-06.csv"] != b["gl_lines/gl_lines_2025-06.csv"]
    assert a["tickets/tickets_2025-06.csv"] != b["tickets/tickets_2025-06.csv"]


def test_rows_grow_linearly_with_scale(tmp_path: Path) -> None:
    one = small(tmp_path / "one", scale=0.5)
    four = small(tmp_path / "four", scale=2.0)
    for dataset in ("gl_lines", "tickets", "accounts", "employees", "survey_responses"):
        assert four.rows[dataset] / one.rows[dataset] == pytest.approx(4.0, rel=0.15), dataset


def test_summary_names_months_files_and_rows(tmp_path: Path) -> None:
    summary = small(tmp_path)
    assert (summary.first_month, summary.last_month) == ("2024-05", "2025-06")
    assert set(summary.rows) == set(DATASETS)
    lines = sum(len(f.read_text(encoding="utf-8").splitlines()) - 1 for f in summary.files)
    assert lines == sum(summary.rows.values())


def test_file_names_follow_the_demo_format(tmp_path: Path) -> None:
    summary = small(tmp_path, months=3, end="2025-02")
    names = {f.relative_to(tmp_path).as_posix() for f in summary.files}
    for dataset in PERIOD_DATASETS + INCREMENTAL_DATASETS:
        for month in ("2024-12", "2025-01", "2025-02"):
            assert f"{dataset}/{dataset}_{month}.csv" in names
    for dataset in SNAPSHOT_DATASETS:
        assert [n for n in names if n.startswith(f"{dataset}/")] == [
            f"{dataset}/{dataset}_2025-02.csv"
        ]


def _files(demo: DemoSummary, dataset: str) -> list[Path]:
    """The dataset's files, checked to be all the expected ones before a test loops over them."""
    found = sorted((demo.out / dataset).glob("*.csv"))
    months = month_range(Month.parse(demo.first_month), Month.parse(demo.last_month))
    if dataset in SNAPSHOT_DATASETS:
        months = months[-1:]
    assert [p.name for p in found] == [f"{dataset}_{m}.csv" for m in months]
    return found


@pytest.mark.parametrize("dataset", DATASETS)
def test_header_is_the_contract_and_values_are_iso(
    demo: DemoSummary, read: ReadDataset, dataset: str
) -> None:
    contract = CONTRACTS[dataset]["columns"]
    written = [c for c, rule in contract.items() if not rule.get("absent_ok")]
    for path in _files(demo, dataset):
        text = path.read_bytes().decode("utf-8")
        assert text.splitlines()[0] == ",".join(written)
    frame = read(demo.out, dataset)
    for column in written:
        rule = contract[column]
        values = frame[column].dropna().astype(str)
        if rule.get("required"):
            assert frame[column].notna().all(), f"{dataset}.{column} has empty required values"
        if rule["type"] == "date":
            assert values.str.match(ISO_DATE).all(), f"{dataset}.{column}"
        if rule["type"] == "datetime":
            assert values.str.match(ISO_DATETIME).all(), f"{dataset}.{column}"
        if "allowed" in rule:
            assert set(values) <= set(rule["allowed"]), f"{dataset}.{column}"
        if "min" in rule:
            assert pd.to_numeric(values).min() >= rule["min"]
        if "max" in rule:
            assert pd.to_numeric(values).max() <= rule["max"]


def test_period_files_hold_only_their_month(demo: DemoSummary) -> None:
    for dataset in PERIOD_DATASETS:
        column = CONTRACTS[dataset]["month_column"]
        for path in _files(demo, dataset):
            month = path.stem.rsplit("_", 1)[1]
            dates = pd.read_csv(path, usecols=[column])[column]
            assert dates.str.startswith(month).all(), path.name


def test_every_ledger_entry_balances_with_debits_positive(
    demo: DemoSummary, read: ReadDataset
) -> None:
    gl = read(demo.out, "gl_lines")
    cents = (gl["amount"] * 100).round().astype("int64")
    assert (cents.groupby(gl["entry_id"]).sum() == 0).all()
    assert not gl.duplicated(["entry_id", "line_no"]).any()
    revenue = gl[gl["account"] == "4000"]["amount"]
    costs = gl[gl["account"].isin(["5000", "5200", "6300"])]["amount"]
    assert (revenue < 0).all() and (costs > 0).all()
    chart = read(demo.out, "chart_of_accounts")
    assert set(gl["account"]) <= set(chart["account"])
    assert {"training", "maintenance"} <= set(chart["account_group"])


def test_a_ticket_resolved_next_month_appears_again_with_its_new_state(
    demo: DemoSummary,
) -> None:
    january = pd.read_csv(demo.out / "tickets" / "tickets_2026-01.csv")
    february = pd.read_csv(demo.out / "tickets" / "tickets_2026-02.csv")
    both = january.merge(february, on="ticket_id", suffixes=("_jan", "_feb"))
    assert len(both) > 0
    assert both["resolved_at_jan"].isna().all()
    assert set(both["status_jan"]) <= {"new", "open", "pending", "hold"}
    assert set(both["status_feb"]) <= {"solved", "closed"}
    assert both["resolved_at_feb"].str.startswith("2026-02").all()
    assert (both["updated_at_feb"] > both["updated_at_jan"]).all()
    for frame, month in ((january, "2026-01"), (february, "2026-02")):
        assert frame["updated_at"].str.startswith(month).all()


@pytest.mark.parametrize("dataset", INCREMENTAL_DATASETS)
def test_incremental_files_hold_rows_updated_in_their_month(
    demo: DemoSummary, dataset: str
) -> None:
    for path in _files(demo, dataset):
        month = path.stem.rsplit("_", 1)[1]
        updated = pd.read_csv(path, usecols=["updated_at"])["updated_at"]
        assert updated.str.startswith(month).all(), path.name


def test_opportunities_close_once_as_won_or_lost(demo: DemoSummary, read: ReadDataset) -> None:
    opps = read(demo.out, "opportunities")
    final = opps.sort_values("updated_at").drop_duplicates("opportunity_id", keep="last")
    closed = final[final["stage"] != "open"]
    assert closed["close_date"].notna().all()
    assert final[final["stage"] == "open"]["close_date"].isna().all()
    assert (closed["close_date"] >= closed["created_date"]).all()
    assert (closed["close_date"] <= "2026-10-31").all()
    assert closed["opportunity_id"].is_unique


def test_employees_include_leavers_of_both_kinds(demo: DemoSummary, read: ReadDataset) -> None:
    staff = read(demo.out, "employees")
    left = staff[staff["termination_date"].notna()]
    assert set(left["termination_type"]) == {"voluntary", "involuntary"}
    assert staff[staff["termination_date"].isna()]["termination_type"].isna().all()
    assert (left["termination_date"] > left["hire_date"]).all()


def test_cuts_slow_service_before_customers_and_revenue_suffer(values: pd.DataFrame) -> None:
    v = values.reset_index(drop=True)
    training = v["training_hours_per_employee"]
    assert training[10:19].mean() < 0.5 * training[BEFORE].mean()
    for measure in ("median_resolution_hours", "reopen_rate", "complaints_per_100_customers"):
        assert v[measure][CUT].median() > 1.5 * v[measure][BEFORE].median(), measure
    assert v["sla_compliance"][CUT].max() < v["sla_compliance"][BEFORE].min()
    loyalty = slice(15, 26)
    assert v["nps"][loyalty].mean() < v["nps"][BEFORE].mean() - 25
    assert v["customer_retention"][loyalty].mean() < v["customer_retention"][BEFORE].mean()
    assert v["win_rate"][loyalty].mean() < v["win_rate"][BEFORE].mean() - 8
    assert v["voluntary_turnover_q"][CUT].mean() > 2 * v["voluntary_turnover_q"][BEFORE].mean()
    assert v["revenue_growth_yoy"][21:28].max() < v["revenue_growth_yoy"][12:15].min()
    assert v["gross_margin_pct"][21:26].mean() < v["gross_margin_pct"][BEFORE].mean() - 4


def test_revenue_looks_fine_while_the_drivers_are_already_red(values: pd.DataFrame) -> None:
    """The balance-flag case: months 11-13 have slow service and growing, on-plan revenue."""
    v = values.reset_index(drop=True)
    early = slice(11, 14)
    assert (v["revenue_growth_yoy"][12:14] > 20).all()
    assert (v["gross_profit_vs_budget_pct"][early] > 0).all()
    assert (v["median_resolution_hours"][early] > v["median_resolution_hours"][BEFORE].max()).all()


def test_reinvestment_recovers_the_measures(values: pd.DataFrame) -> None:
    v = values.reset_index(drop=True)
    assert v["median_resolution_hours"][RECOVERED].max() < v["median_resolution_hours"][CUT].min()
    assert v["sla_compliance"][RECOVERED].min() > 90
    assert v["nps"][RECOVERED].mean() > v["nps"][BEFORE].mean()
    assert v["revenue_growth_yoy"][33:].min() > 10
    assert v["gross_margin_pct"][31:].min() > 67


def test_story_keeps_its_shape_for_other_seeds(
    tmp_path: Path, measure_values: MonthlyValues
) -> None:
    summary = generate_demo(tmp_path, seed=11, scale=0.5, end=DEMO_END)
    v = measure_values(summary.out).reset_index(drop=True)
    assert (
        v["median_resolution_hours"][CUT].median()
        > 1.5 * v["median_resolution_hours"][BEFORE].median()
    )
    assert v["nps"][15:26].mean() < v["nps"][BEFORE].mean() - 20


def test_default_end_is_the_last_complete_month() -> None:
    assert default_end(date(2026, 3, 15)) == Month(2026, 2)
    assert default_end(date(2026, 1, 1)) == Month(2025, 12)


def test_bad_arguments_are_reported(tmp_path: Path) -> None:
    with pytest.raises(DemoDataError, match="months"):
        generate_demo(tmp_path, months=1, end="2025-01")
    with pytest.raises(DemoDataError, match="scale"):
        generate_demo(tmp_path, scale=0, end="2025-01")
    with pytest.raises(PeriodError, match="YYYY-MM"):
        generate_demo(tmp_path, end="2025-13")


def test_tiny_scale_still_writes_every_dataset(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path, months=3, scale=0.01, end="2025-03")
    assert all(summary.rows[d] > 0 for d in ("gl_lines", "accounts", "employees", "budget"))


def test_command_prints_a_summary(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(demo_data)
    args = ["--months", "2", "--scale", "0.05", "--end", "2025-02", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "gl_lines" in result.output and "2025-01" in result.output
    assert (tmp_path / "gl_lines" / "gl_lines_2025-02.csv").exists()
    bad = CliRunner().invoke(app, ["--end", "March", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
