"""`bsc show` and `bsc status` read a published warehouse: names, decimals, order, pipes, JSON."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bsc_pipeline.cli import app
from bsc_pipeline.report import JSON_MEASURE_KEYS, PLAIN_COLUMNS
from bsc_pipeline.warehouse.publish import publish_month

runner = CliRunner()
FLAG = "revenue green while driver churn_rate is red"


@pytest.fixture
def published(engine, url, publish_args, spec):
    """February: revenue 1,234.4 EUR shown without decimals, churn 4 % with two, a balance flag."""
    measures = [
        m.model_copy(update={"decimals": {"revenue": 0, "churn_rate": 2}.get(m.id, m.decimals)})
        for m in spec.measures
    ]
    args = publish_args(
        "2025-02",
        {"revenue": 1234.4, "churn_rate": 4.0},
        spec=spec.model_copy(update={"measures": measures}),
    )
    rows = args["measures"]
    rows.loc[
        (rows["measure_id"] == "revenue") & (rows["period_type"] == "month"), "balance_flag"
    ] = FLAG
    publish_month(engine, "2025-02", **args)
    return url


def test_show_in_a_pipe_prints_one_line_per_measure_in_spec_order(published):
    result = runner.invoke(app, ["show", "--period", "2025-02", "--warehouse-url", published])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == list(PLAIN_COLUMNS)
    revenue, churn = (line.split("\t") for line in lines[1:3])
    # Financial (order 1) before Customer (order 2), although "customer" sorts first by id
    assert revenue[:4] == ["2025-02", "Financial", "Grow revenue", "Revenue"]
    assert revenue[4] == "€1,234"
    assert revenue[5] == "€100"
    assert churn[1] == "Customer" and churn[4] == "4.00 %" and churn[5] == "5.00 %"
    assert revenue[9] == "Revenue green while driver Churn rate is red", "names, not ids"
    assert "┃" not in result.stdout and "│" not in result.stdout, "no table in a pipe"


def test_show_json_has_stable_keys_and_measure_names(published):
    result = runner.invoke(
        app, ["show", "--period", "2025-02", "--warehouse-url", published, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["period"] == "2025-02"
    assert [m["measure_id"] for m in payload["measures"]] == ["revenue", "churn_rate"]
    revenue = payload["measures"][0]
    assert set(revenue) == set(JSON_MEASURE_KEYS)
    assert (revenue["actual"], revenue["decimals"], revenue["unit"]) == (1234.4, 0, "EUR")
    assert revenue["note"] == "Revenue green while driver Churn rate is red"
    assert isinstance(payload["links"], list)


def test_show_of_an_unpublished_month_exits_1(published):
    result = runner.invoke(app, ["show", "--period", "2024-01", "--warehouse-url", published])
    assert result.exit_code == 1 and "No published scorecard for 2024-01" in result.output


def test_status_in_a_pipe_and_as_json(published):
    plain = runner.invoke(app, ["status", "--warehouse-url", published])
    assert plain.exit_code == 0, plain.output
    assert "# Last runs" in plain.stdout.splitlines()
    assert "Pending alerts: 0" in plain.stdout
    result = runner.invoke(app, ["status", "--warehouse-url", published, "--format", "json"])
    payload = json.loads(result.stdout)
    assert set(payload) == {
        "runs",
        "failed_gates",
        "held_measures",
        "decisions",
        "missing_commentary",
        "pending_alerts",
    }
    assert payload["pending_alerts"] == 0 and payload["failed_gates"] == []
