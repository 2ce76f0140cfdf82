"""Publishing a month: replace exactly its rows, history only for changes, idempotent re-runs."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from bsc_pipeline.spec.models import Spec
from bsc_pipeline.warehouse.errors import PublishInputError
from bsc_pipeline.warehouse.publish import publish_month, read_published

FACT_TABLES = (
    "fact_measure_period",
    "fact_objective_period",
    "fact_perspective_period",
    "fact_scorecard_period",
)
VALUES = {"revenue": 110.0, "churn_rate": 4.0}


def _history(engine, wh, where: str | None = None):
    return wh.table_rows(engine, "measure_value_history", where=where)


def test_first_publication_writes_facts_rollups_and_history(engine, publish_args, wh):
    outcome = publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))

    # 2 measures x (month, quarter, ytd)
    assert wh.count(engine, "fact_measure_period") == 6
    assert outcome.measures.inserted == 6
    assert outcome.first_publications == 6 and outcome.restatements == 0
    assert wh.count(engine, "fact_objective_period") == 2
    assert wh.count(engine, "fact_perspective_period") == 2
    assert wh.count(engine, "fact_scorecard_period") == 1
    reasons = {row.reason for row in _rows(engine, "measure_value_history")}
    assert reasons == {"first_publication"}

    published = read_published(engine, "2025-02")
    quarter = published[
        (published["measure_id"] == "revenue") & (published["period_type"] == "quarter")
    ].iloc[0]
    assert quarter["period"] == "FY2025-Q1"
    assert quarter["value"] == 220.0  # two months of 110 as of February
    assert bool(quarter["is_partial"]) is True
    assert quarter["period_start"] == pd.Timestamp("2025-01-01")
    assert quarter["period_end"] == pd.Timestamp("2025-04-01")
    assert str(quarter["published_at"].tz) == "UTC"


def test_same_month_twice_changes_nothing_and_writes_no_history(engine, publish_args, wh):
    first = publish_args("2025-02", VALUES)
    publish_month(engine, "2025-02", **first)
    before = {name: wh.table_rows(engine, name) for name in (*FACT_TABLES, "measure_value_history")}

    again = publish_args("2025-02", VALUES)  # a new run id, as a real re-run has
    outcome = publish_month(engine, "2025-02", **again)

    after = {name: wh.table_rows(engine, name) for name in before}
    assert after == before
    assert outcome.measures.inserted == 0 and outcome.measures.deleted == 0
    assert outcome.measures.unchanged == 6
    assert outcome.first_publications == 0 and outcome.restatements == 0
    assert not outcome.changed
    assert wh.count(engine, "pipeline_run") == 2  # both runs are on record


def test_republish_replaces_only_its_month_and_records_restatements(engine, publish_args, wh):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    publish_month(engine, "2025-03", **publish_args("2025-03", VALUES))
    february = {n: wh.table_rows(engine, n, where="as_of_month = '2025-02'") for n in FACT_TABLES}
    february_history = _history(engine, wh, "as_of_month = '2025-02'")

    changed = publish_args(
        "2025-03", {"revenue": 90.0, "churn_rate": 4.0}, status={"revenue": "red"}
    )
    outcome = publish_month(engine, "2025-03", **changed)

    for name, rows in february.items():
        assert wh.table_rows(engine, name, where="as_of_month = '2025-02'") == rows
    assert _history(engine, wh, "as_of_month = '2025-02'") == february_history
    # revenue's month, quarter and ytd rows changed; churn_rate's did not
    assert outcome.measures.inserted == 3 and outcome.measures.deleted == 3
    assert outcome.measures.unchanged == 3
    assert outcome.restatements == 3 and outcome.first_publications == 0
    restated = _rows(engine, "measure_value_history", "reason = 'restatement'")
    assert {(r.measure_id, r.period_type, r.value, r.status) for r in restated} == {
        ("revenue", "month", 90.0, "red"),
        ("revenue", "quarter", 270.0, "red"),  # Jan..Mar at 90
        ("revenue", "ytd", 270.0, "red"),
    }


def test_a_measure_dropped_from_the_run_is_removed_from_that_month(engine, publish_args, wh):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    outcome = publish_month(engine, "2025-02", **publish_args("2025-02", {"revenue": 110.0}))
    assert outcome.measures.deleted == 3
    ids = {r.measure_id for r in _rows(engine, "fact_measure_period")}
    assert ids == {"revenue"}


def test_missing_values_are_stored_as_null_never_zero(engine, publish_args):
    publish_month(engine, "2025-02", **publish_args("2025-02", {"revenue": None}))
    published = read_published(engine, "2025-02")
    assert published["value"].isna().all()
    assert set(published["status"]) == {"no_data"}
    row = _rows(engine, "fact_measure_period", "period_type = 'month'")[0]
    assert row.value is None and row.score is None


def test_a_value_change_after_no_data_is_a_restatement(engine, publish_args):
    publish_month(engine, "2025-02", **publish_args("2025-02", {"revenue": None}))
    outcome = publish_month(engine, "2025-02", **publish_args("2025-02", {"revenue": 100.0}))
    assert outcome.restatements == 3


def test_operations_tables_record_files_gate_results_and_quarantine(engine, publish_args, wh):
    gate = pd.DataFrame(
        [
            {
                "dataset": "gl_lines",
                "month": "2025-02",
                "expectation": "expect_column_values_to_not_be_null",
                "column": "amount",
                "severity": "critical",
                "passed": False,
                "element_count": 10,
                "unexpected_count": 2,
                "sample": '[{"line": 3}]',
            }
        ]
    )
    quarantine = pd.DataFrame(
        [
            {
                "dataset": "gl_lines",
                "month": "2025-02",
                "file": "finance/gl.csv",
                "line": 3,
                "rule": "amount_not_null",
                "reason": "amount is empty",
                "raw": '{"amount": ""}',
            }
        ]
    )
    args = publish_args("2025-02", VALUES, gate_results=gate, quarantine=quarantine)
    publish_month(engine, "2025-02", **args)
    publish_month(engine, "2025-02", **args)  # same run id again: replaced, not doubled

    (run,) = _rows(engine, "pipeline_run")
    assert (run.run_id, run.month, run.outcome) == (args["run_id"], "2025-02", "published")
    (file,) = _rows(engine, "pipeline_run_file")
    assert (file.dataset, file.size, file.sha256) == ("gl_lines", 123, "ab" * 32)
    (result,) = _rows(engine, "dq_result")
    assert (result.column, result.unexpected_count, bool(result.passed)) == ("amount", 2, False)
    with engine.connect() as connection:
        sample = connection.execute(
            sa.select(sa.column("sample")).select_from(sa.table("dq_result"))
        )
        stored = sample.scalar_one()
    assert "line" in str(stored)
    (row,) = _rows(engine, "quarantine_row")
    assert (row.line, row.rule) == (3, "amount_not_null")


def test_dimensions_follow_the_spec_and_keep_removed_ids(engine, publish_args, spec, wh):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    before = wh.table_rows(engine, "dim_measure")
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    assert wh.table_rows(engine, "dim_measure") == before  # unchanged spec: untouched rows

    data = spec.model_dump()
    data["measures"] = [m for m in data["measures"] if m["id"] != "churned_customers"]
    data["measures"][0]["name"] = "Net revenue"
    smaller = Spec.model_validate(data)
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES, spec=smaller))
    measures = {r.measure_id: r for r in _rows(engine, "dim_measure")}
    assert measures["revenue"].name == "Net revenue"
    assert not measures["churned_customers"].in_spec
    assert measures["churn_rate"].in_spec
    (link,) = _rows(engine, "strategy_link")
    assert (link.driver_measure_id, link.outcome_measure_id, link.lag_months) == (
        "churn_rate",
        "revenue",
        1,
    )
    (initiative,) = _rows(engine, "dim_initiative")
    assert initiative.objective_id == "keep_customers"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="status"), "missing column"),
        (lambda f: f.assign(as_of_month="2025-01"), "as_of_month == 2025-02"),
        (lambda f: pd.concat([f, f.head(1)]), "duplicate rows"),
        (lambda f: f.replace({"measure_id": {"churn_rate": "unknown"}}), "not in the spec"),
        (
            lambda f: f.replace({"status": {"green": "GREEN"}}),
            r"'status' has value\(s\) \['GREEN'\]",
        ),
        (lambda f: f.assign(period_start="not a date"), "'period_start' does not convert"),
    ],
)
def test_frames_that_do_not_fit_are_refused_before_anything_is_written(
    engine, publish_args, wh, change, message
):
    args = publish_args("2025-02", VALUES)
    args["measures"] = change(args["measures"])
    with pytest.raises(PublishInputError, match=message):
        publish_month(engine, "2025-02", **args)
    assert wh.count(engine, "fact_measure_period") == 0
    assert wh.count(engine, "pipeline_run") == 0


def test_naive_timestamps_are_rejected(engine, publish_args):
    from datetime import datetime

    args = publish_args("2025-02", VALUES, started_at=datetime(2025, 3, 1, 2, 0))
    with pytest.raises(Exception, match="no time zone"):
        publish_month(engine, "2025-02", **args)


def test_floats_round_trip_exactly(engine, publish_args):
    value = 0.1 + 0.2
    publish_month(engine, "2025-02", **publish_args("2025-02", {"revenue": value}))
    published = read_published(engine, "2025-02")
    month_row = published[published["period_type"] == "month"].iloc[0]
    assert month_row["value"] == value and month_row["value"] != 0.3


def _rows(engine, name: str, where: str | None = None):
    query = sa.select(sa.text("*")).select_from(sa.table(name))
    if where:
        query = query.where(sa.text(where))
    with engine.connect() as connection:
        return list(connection.execute(query))


def test_a_held_measure_keeps_the_published_figures(engine, publish_args):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    held = publish_args(
        "2025-02", {"revenue": 999.0, "churn_rate": 4.0}, status={"revenue": "held"}
    )
    frame = held["measures"]
    is_revenue = frame["measure_id"] == "revenue"
    frame.loc[is_revenue, "data_state"] = "held"
    frame.loc[is_revenue, "data_note"] = "gate failed: gl_lines 2025-02"
    frame.loc[is_revenue, "score"] = float("nan")
    outcome = publish_month(engine, "2025-02", **held)

    published = read_published(engine, "2025-02")
    month = published[published["period_type"] == "month"].set_index("measure_id")
    assert month.loc["revenue", "value"] == 110.0  # not the 999 computed from a failed extract
    assert month.loc["revenue", "variance"] == 10.0
    assert (month.loc["revenue", "status"], month.loc["revenue", "data_state"]) == ("held", "held")
    assert month.loc["revenue", "data_note"] == "gate failed: gl_lines 2025-02"
    assert pd.isna(month.loc["revenue", "score"])
    assert outcome.restatements == 3  # the status changed to held, recorded in history


def test_a_held_measure_never_published_has_no_figure(engine, publish_args):
    # What a held month computes (0.0 for a count of a missing extract) is not a figure: a sum
    # over `value` must not count it. The target stays: it does not come from the held input.
    args = publish_args("2025-02", {"revenue": 50.0}, status={"revenue": "held"})
    args["measures"]["data_state"] = "held"
    publish_month(engine, "2025-02", **args)
    published = read_published(engine, "2025-02")
    assert set(published["status"]) == {"held"}
    assert published["value"].isna().all() and published["variance"].isna().all()
    assert published["target"].notna().all()


def test_an_empty_frame_is_refused_rather_than_erasing_the_month(engine, publish_args, wh):
    publish_month(engine, "2025-02", **publish_args("2025-02", VALUES))
    args = publish_args("2025-02", VALUES)
    args["measures"] = args["measures"].head(0)
    with pytest.raises(PublishInputError, match="would erase the month"):
        publish_month(engine, "2025-02", **args)
    assert wh.count(engine, "fact_measure_period") == 6


def test_an_empty_required_column_names_the_row(engine, publish_args):
    args = publish_args("2025-02", VALUES)
    frame = args["measures"]
    frame["is_official"] = frame["is_official"].astype(object)
    frame.loc[0, "is_official"] = None
    with pytest.raises(PublishInputError, match=r"'is_official' is empty for .*revenue"):
        publish_month(engine, "2025-02", **args)
