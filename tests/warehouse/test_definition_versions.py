"""Definition versions and change reasons as publishing stores them; migration 0005 carries an
existing warehouse over with its history rows' versions unknown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command

from bsc_pipeline.spec.models import Spec
from bsc_pipeline.trust.definitions import measure_definitions
from bsc_pipeline.warehouse.engine import alembic_config, make_engine, upgrade_warehouse
from bsc_pipeline.warehouse.publish import publish_month

VALUES = {"revenue": 110.0, "churn_rate": 4.0}
MONTH_ROW = "measure_id = 'revenue' AND period_type = 'month'"


def _rows(engine: sa.Engine, sql: str) -> list[sa.Row]:  # type: ignore[type-arg]
    with engine.connect() as connection:
        return list(connection.execute(sa.text(sql)))


def test_every_value_carries_its_version_and_a_rerun_writes_nothing(engine, publish_args, spec):
    versions = {k: d.version for k, d in measure_definitions(spec).items()}
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    facts = _rows(engine, "SELECT DISTINCT measure_id, definition_version FROM fact_measure_period")
    assert dict(facts) == {m: versions[m] for m in VALUES}
    history = _rows(engine, "SELECT measure_id, definition_version FROM measure_value_history")
    assert {(m, v) for m, v in history} == {(m, versions[m]) for m in VALUES}
    recorded = _rows(engine, "SELECT measure_id, first_as_of_month FROM measure_definition")
    assert sorted(recorded) == sorted((m, "2025-02") for m in versions)

    again = publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    assert not again.changed and again.first_publications == again.restatements == 0
    assert len(_rows(engine, "SELECT * FROM measure_definition")) == len(versions)


def test_a_changed_definition_is_the_reason(engine, publish_args, spec):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    data = spec.model_dump(mode="json")
    data["measures"][0]["filters"] = [{"column": "account", "op": "eq", "value": "4000"}]
    changed = Spec.model_validate(data)
    outcome = publish_month(
        engine, "2025-02", **publish_args("2025-02", {**VALUES, "revenue": 90.0}, spec=changed)
    )
    assert outcome.restatements == 3
    reasons = _rows(
        engine,
        f"SELECT reason, restatement_reason FROM measure_value_history WHERE {MONTH_ROW} "
        "ORDER BY history_id",
    )
    old, new = (measure_definitions(s)["revenue"].version for s in (spec, changed))
    assert reasons == [
        ("first_publication", None),
        ("definition_changed", f"definition changed ({old} → {new})"),
    ]
    assert (
        _rows(engine, "SELECT COUNT(*) FROM measure_definition WHERE measure_id = 'revenue'")[0][0]
        == 2
    )


def test_a_released_hold_is_the_reason(engine, publish_args):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    held = publish_args("2025-02", {**VALUES, "revenue": 50.0}, status={"revenue": "held"})
    held["measures"].loc[held["measures"]["measure_id"] == "revenue", "data_state"] = "held"
    publish_month(engine, "2025-02", **held)
    kept = _rows(engine, f"SELECT value, status FROM fact_measure_period WHERE {MONTH_ROW}")
    assert kept == [(110.0, "held")]  # the published figure stays while held
    publish_month(
        engine,
        "2025-02",
        **publish_args("2025-02", {**VALUES, "revenue": 50.0}, status={"revenue": "red"}),
        released_holds={"gl_lines"},
    )
    reasons = _rows(
        engine,
        f"SELECT reason, value FROM measure_value_history WHERE {MONTH_ROW} ORDER BY history_id",
    )
    assert reasons == [
        ("first_publication", 110.0),
        ("restatement", 110.0),
        ("hold_released", 50.0),
    ]


def test_a_retired_measure_keeps_its_facts_and_history(engine, publish_args, spec):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    data = spec.model_dump(mode="json")
    data["measures"] = [m for m in data["measures"] if m["id"] != "churn_rate"]
    data["links"] = []
    retired = Spec.model_validate(data)
    publish_month(engine, "2025-02", **publish_args("2025-02", {"revenue": 120.0}, spec=retired))
    facts = _rows(engine, "SELECT value FROM fact_measure_period WHERE measure_id = 'churn_rate'")
    assert len(facts) == 3 and {v for (v,) in facts} == {4.0, 8.0}
    history = _rows(
        engine, "SELECT reason FROM measure_value_history WHERE measure_id = 'churn_rate'"
    )
    assert [r for (r,) in history] == ["first_publication"] * 3
    in_spec = _rows(engine, "SELECT in_spec FROM dim_measure WHERE measure_id = 'churn_rate'")
    assert not in_spec[0][0]


def test_migration_carries_an_existing_warehouse_over(tmp_path: Path, publish_args):
    """A warehouse at 0003 with history: after the upgrade its rows have no version (unknown),
    an unchanged value writes nothing, and a later change is not called a definition change."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    now = datetime(2025, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO dim_measure (measure_id, name, kind, unit, direction, lead_lag, "
                "review, weight, decimals, in_spec, updated_at) VALUES ('revenue', 'Revenue', "
                "'base', 'EUR', 'higher', 'lagging', 'monthly', 1, 1, 1, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO measure_value_history (measure_id, period_type, period, as_of_month,"
                " value, target, status, score, data_state, reason, run_id, published_at) VALUES "
                "('revenue', 'month', '2025-02', '2025-02', 110, 100, 'green', 6.6, 'complete', "
                "'first_publication', 'old-run', :now)"
            ),
            {"now": now},
        )
    upgrade_warehouse(engine)
    carried = _rows(engine, "SELECT definition_version, reason_detail FROM measure_value_history")
    assert carried == [(None, None)]

    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    month_rows = _rows(
        engine, f"SELECT reason, definition_version FROM measure_value_history WHERE {MONTH_ROW}"
    )
    assert [r for r, _ in month_rows] == ["first_publication"]  # 110 again: nothing written
    publish_month(engine, "2025-02", **publish_args("2025-02", {**VALUES, "revenue": 80.0}))
    last = _rows(
        engine,
        f"SELECT reason FROM measure_value_history WHERE {MONTH_ROW} ORDER BY history_id",
    )
    assert [r for (r,) in last] == ["first_publication", "restatement"]
    view = pd.DataFrame(_rows(engine, "SELECT * FROM v_measure_definition_history"))
    assert set(view["measure_id"]) == {"revenue", "churned_customers", "churn_rate"}
    engine.dispose()


@pytest.mark.parametrize("month", ["2025-02"])
def test_files_of_the_measures_datasets_only_are_compared(engine, publish_args, month):
    publish_month(engine, month, **publish_args(month, VALUES))
    crm = {
        "dataset": "crm_accounts",
        "file": "crm/accounts.csv",
        "size": 1,
        "sha256": "cd" * 32,
        "mtime": 1_740_000_000.0,
    }
    args = publish_args(month, {"revenue": 110.0, "churn_rate": 5.0})
    args["files"] = [*args["files"], crm]
    publish_month(engine, month, **args)
    rows = _rows(
        engine,
        "SELECT measure_id, reason, restatement_reason FROM measure_value_history "
        "WHERE reason <> 'first_publication' AND period_type = 'month'",
    )
    assert rows == [
        (
            "churn_rate",
            "input_files_changed",
            f"input files changed: crm/accounts.csv added (sha256 {'cd' * 6})",
        )
    ]


def test_explain_reads_the_same_on_every_backend(engine, publish_args, spec):
    from bsc_pipeline.trust.explain import ExplainError, explain_value, render_json

    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    publish_month(engine, "2025-02", **publish_args("2025-02", {**VALUES, "revenue": 80.0}))
    explained = explain_value(engine, "revenue", "2025-02")
    assert explained["value"]["value"] == 80.0
    assert explained["definition"]["definition_version"] == (
        measure_definitions(spec)["revenue"].version
    )
    assert explained["datasets"] == ["gl_lines"]
    assert [(f["file"], f["size"]) for f in explained["files"]] == [("finance/gl_2025-02.csv", 123)]
    assert [p["reason"] for p in explained["publications"]] == ["first_publication", "restatement"]
    assert explained["publications"][1]["reason_detail"]["causes"] == ["restatement"]
    assert '"measure_id": "revenue"' in render_json(explained)
    with pytest.raises(ExplainError, match="no published quarter value of revenue"):
        explain_value(engine, "revenue", "FY2024-Q1", "quarter")
