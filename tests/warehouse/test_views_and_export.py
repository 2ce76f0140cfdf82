"""Reporting views, finance exports, the alert outbox and the command line."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from bsc_pipeline.warehouse import schema
from bsc_pipeline.warehouse.cli import export_command, period_app
from bsc_pipeline.warehouse.errors import WarehouseError
from bsc_pipeline.warehouse.export import export_scorecard
from bsc_pipeline.warehouse.period_close import period_state
from bsc_pipeline.warehouse.publish import publish_month
from bsc_pipeline.warehouse.readings import read_rollups, read_scorecard

FEBRUARY = {"revenue": 110.0, "churn_rate": 4.0, "churned_customers": 3.0}
MARCH = {"revenue": 120.0, "churn_rate": 6.0, "churned_customers": 5.0}


@pytest.fixture
def two_months(engine, publish_args):
    publish_month(engine, "2025-02", **publish_args("2025-02", FEBRUARY))
    publish_month(engine, "2025-03", **publish_args("2025-03", MARCH, status={"churn_rate": "red"}))
    return engine


def test_monthly_view_has_one_row_per_scored_measure_and_month(two_months):
    february = read_scorecard(two_months, "2025-02").set_index("measure_id")
    # churned_customers has no objective: a component, not on the scorecard
    assert sorted(february.index) == ["churn_rate", "revenue"]
    revenue = february.loc["revenue"]
    assert (revenue["period"], revenue["perspective"], revenue["objective"]) == (
        "2025-02",
        "Financial",
        "Grow revenue",
    )
    assert (revenue["owner"], revenue["unit"], revenue["direction"]) == (
        "Chief Financial Officer",
        "EUR",
        "higher",
    )
    assert revenue["actual"] == 110.0 and revenue["target"] == 100.0
    assert revenue["variance"] == 10.0 and math.isclose(revenue["variance_pct"], 0.1)
    assert revenue["prior_month_value"] == 109.0
    assert revenue["same_month_last_year"] == 100.0
    assert revenue["ytd_actual"] == 220.0  # January + February at 110
    assert revenue["data_state"] == "complete" and revenue["status"] == "green"
    assert revenue["published_at"].tzinfo is not None
    churn = february.loc["churn_rate"]
    assert (churn["owner"], churn["direction"], churn["perspective"]) == (
        "Sales Lead",
        "lower",
        "Customer",
    )
    march = read_scorecard(two_months, "2025-03").set_index("measure_id")
    assert march.loc["churn_rate", "status"] == "red"
    assert march.loc["revenue", "ytd_actual"] == 360.0


def test_period_view_reads_each_period_at_its_latest_month(two_months):
    latest = read_scorecard(two_months, "FY2025-Q1", "quarter").set_index("measure_id")
    assert latest.loc["revenue", "as_of_month"] == "2025-03"
    assert latest.loc["revenue", "actual"] == 360.0  # three months at 120 as of March
    assert not latest.loc["revenue", "is_partial"]

    as_of_february = read_scorecard(two_months, "2025-02", "quarter").set_index("measure_id")
    assert as_of_february.loc["revenue", "actual"] == 220.0
    assert as_of_february.loc["revenue", "is_partial"]
    assert as_of_february.loc["revenue", "period_end"] == pd.Timestamp("2025-04-01")


def test_rollup_view_names_each_node_and_its_confidence(engine, publish_args):
    february = publish_args("2025-02", FEBRUARY)
    rollups = february["rollups"]
    customer = rollups["node_id"] == "customer"
    rollups.loc[customer, ["score", "status", "data_confidence", "children_with_data"]] = [
        None,
        "no_data",
        0.0,
        0,
    ]
    publish_month(engine, "2025-02", **february)
    rows = read_rollups(engine, "2025-02").set_index("node_id")
    assert len(rows) == 5
    objective = rows.loc["grow_revenue"]
    assert (objective["level"], objective["node_name"], objective["parent_id"]) == (
        "objective",
        "Grow revenue",
        "financial",
    )
    assert objective["score"] == 6.6 and objective["data_confidence"] == 1.0
    assert rows.loc["customer", "status"] == "no_data"
    assert pd.isna(rows.loc["customer", "score"]) and rows.loc["customer", "data_confidence"] == 0
    assert rows.loc["test_co", "level"] == "scorecard"


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_exports_open_with_pandas_and_reconcile_with_the_view(two_months, tmp_path, fmt):
    view = read_scorecard(two_months, "2025-03")
    path, rows = export_scorecard(two_months, "2025-03", fmt, out=tmp_path / f"march.{fmt}")
    assert rows == len(view) == 2
    reader = {
        "csv": pd.read_csv,
        "parquet": pd.read_parquet,
        "xlsx": lambda path: pd.read_excel(path, sheet_name="Data"),
    }[fmt]
    exported = reader(path)
    assert list(exported.columns) == [*view.columns, "commentary"]
    assert list(exported["measure_id"]) == list(view["measure_id"])
    for column in ("actual", "target", "variance", "score", "ytd_actual"):
        assert exported[column].astype(float).tolist() == view[column].astype(float).tolist()
    assert list(exported["status"]) == list(view["status"])
    assert not list(tmp_path.glob(".*partial"))


def test_export_of_a_longer_period_and_of_nothing(two_months, tmp_path):
    path, rows = export_scorecard(two_months, "2025-03", "csv", "ytd", tmp_path / "ytd.csv")
    exported = pd.read_csv(path).set_index("measure_id")
    assert rows == 2 and exported.loc["revenue", "actual"] == 360.0
    with pytest.raises(WarehouseError, match="nothing published for 2024-01"):
        export_scorecard(two_months, "2024-01", "csv", out=tmp_path / "none.csv")


def test_alert_events_are_deduplicated_by_key(engine, publish_args, wh):
    red = {"dedup_key": "revenue|2025-02|red", "kind": "red", "measure_id": "revenue"}
    held = {"dedup_key": "gl_lines|2025-02|held", "kind": "held", "payload": {"why": "gate"}}
    outcome = publish_month(
        engine, "2025-02", **publish_args("2025-02", FEBRUARY, alert_events=[red, red])
    )
    assert (outcome.alert_events_inserted, outcome.alert_events_skipped) == (1, 1)

    again = publish_args("2025-02", FEBRUARY, alert_events=[red, held])
    outcome = publish_month(engine, "2025-02", **again)
    assert (outcome.alert_events_inserted, outcome.alert_events_skipped) == (1, 1)
    rows = wh.table_rows(engine, "alert_event")
    assert sorted(r[1] for r in rows) == ["gl_lines|2025-02|held", "revenue|2025-02|red"]
    assert wh.count(engine, "alert_event") == 2


def test_alert_payloads_are_stored_as_plain_json(engine, publish_args):
    import numpy as np

    payload = {
        "actual": float("nan"),
        "target": np.float64(100.0),
        "rows": np.int64(3),
        "as_of": pd.Timestamp("2025-02-28T10:00:00Z"),
        "drivers": [{"measure_id": "churn_rate", "value": float("inf")}],
    }
    event = {"dedup_key": "revenue|2025-02|no_data", "kind": "no_data", "payload": payload}
    publish_month(engine, "2025-02", **publish_args("2025-02", FEBRUARY, alert_events=[event]))
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(schema.alert_event.c.payload, schema.alert_event.c.state)
        ).one()
    assert stored.state == "pending"
    assert stored.payload == {
        "actual": None,
        "target": 100.0,
        "rows": 3,
        "as_of": "2025-02-28T10:00:00+00:00",
        "drivers": [{"measure_id": "churn_rate", "value": None}],
    }


def test_an_alert_event_without_a_key_is_refused(engine, publish_args):
    args = publish_args("2025-02", FEBRUARY, alert_events=[{"kind": "red"}])
    with pytest.raises(WarehouseError, match="dedup_key"):
        publish_month(engine, "2025-02", **args)


def test_period_commands_close_and_reopen(url):
    runner = CliRunner()
    closed = runner.invoke(period_app, ["close", "--period", "2025-04", "--warehouse-url", url])
    assert closed.exit_code == 0, closed.output
    status = runner.invoke(period_app, ["status", "-p", "2025-04", "--warehouse-url", url])
    assert status.stdout.strip() == "closed"
    refused = runner.invoke(
        period_app, ["reopen", "--period", "2025-04", "--reason", " ", "--warehouse-url", url]
    )
    assert refused.exit_code == 1 and "needs a reason" in refused.output
    # the positional month of older scripts still works
    reopened = runner.invoke(
        period_app, ["reopen", "2025-04", "--reason", "late data", "--warehouse-url", url]
    )
    assert reopened.exit_code == 0, reopened.output
    status = runner.invoke(period_app, ["status", "2025-04", "--warehouse-url", url])
    assert status.stdout.strip() == "open"


def test_period_commands_need_one_month(url):
    runner = CliRunner()
    missing = runner.invoke(period_app, ["close", "--warehouse-url", url])
    assert missing.exit_code == 2 and "--period" in missing.output
    two = runner.invoke(period_app, ["close", "2025-04", "--period", "2025-05"])
    assert two.exit_code == 2 and "two months given" in two.output


def test_export_command(url, publish_args, tmp_path: Path):
    from bsc_pipeline.warehouse.engine import make_engine

    engine = make_engine(url)
    publish_month(engine, "2025-02", **publish_args("2025-02", FEBRUARY))
    assert period_state(engine, "2025-02") == "open"
    engine.dispose()
    app = typer.Typer()
    app.command("export")(export_command)
    app.command("noop")(lambda: None)  # two commands, so `export` is addressed by name
    out = tmp_path / "feb.xlsx"
    args = ["export", "--period", "2025-02", "--format", "xlsx", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--warehouse-url", url])
    assert result.exit_code == 0, result.output
    assert len(pd.read_excel(out, sheet_name="Data")) == 2
    bad = CliRunner().invoke(app, [*args[:-4], "--format", "pdf", "--warehouse-url", url])
    assert bad.exit_code != 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_text_that_starts_a_formula_is_exported_as_text_and_numbers_stay_numbers(
    engine, publish_args, spec, tmp_path, fmt
):
    import openpyxl

    hostile = '=HYPERLINK("http://evil.example","click")'
    owners = [
        owner.model_copy(update={"name": "@SUM(1+1)"}) if owner.name == "Sales Lead" else owner
        for owner in spec.owners
    ]
    measures = [
        m.model_copy(update={"name": hostile}) if m.id == "revenue" else m for m in spec.measures
    ]
    changed = spec.model_copy(update={"owners": owners, "measures": measures})
    publish_month(engine, "2025-02", **publish_args("2025-02", FEBRUARY, spec=changed))
    negative = {**FEBRUARY, "revenue": -110.0}
    publish_month(engine, "2025-02", **publish_args("2025-02", negative, spec=changed))

    path, _ = export_scorecard(engine, "2025-02", fmt, out=tmp_path / f"feb.{fmt}")

    if fmt == "csv":
        exported = pd.read_csv(path).set_index("measure_id")
        cells = exported.loc["revenue"].to_dict()
        churn_owner = exported.loc["churn_rate", "owner"]
    else:
        sheet = openpyxl.load_workbook(path)["Data"]
        header = [c.value for c in sheet[1]]
        rows = {
            r[header.index("measure_id")]: r for r in sheet.iter_rows(min_row=2, values_only=True)
        }
        cells = dict(zip(header, rows["revenue"], strict=True))
        churn_owner = rows["churn_rate"][header.index("owner")]
        kinds = {c.data_type for row in sheet.iter_rows(min_row=2) for c in row if c.value}
        assert "f" not in kinds, "no formula cell in the workbook"
    assert cells["measure_name"] == "'" + hostile
    assert churn_owner == "'@SUM(1+1)"
    assert float(cells["actual"]) == -110.0, "a negative number is still a number"
