"""Link health in the warehouse: stored per month, idempotent, shown by the strategy map view."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from rich.console import Console

from bsc_pipeline.report import render_strategy_map
from bsc_pipeline.scoring import link_health
from bsc_pipeline.spec.models import Link
from bsc_pipeline.warehouse.errors import PublishInputError
from bsc_pipeline.warehouse.publish import TableChange, publish_month, read_monthly_history

# churn_rate drives revenue with a lag of one month (the warehouse test spec).
# Pairs (churn of m − 1, revenue of m): (1, 1), (2, 3), (3, 2). Deviations from the means (2, 2):
# x −1, 0, 1 and y −1, 1, 0; r = (1 + 0 + 0) / √(2 × 2) = 0.5.
# churn_rate is `lower`, revenue `higher`: the expected sign is −1, so the link does not hold.
MONTHS = {
    "2024-12": {"churn_rate": 1.0, "revenue": 50.0},
    "2025-01": {"churn_rate": 2.0, "revenue": 1.0},
    "2025-02": {"churn_rate": 3.0, "revenue": 3.0},
    "2025-03": {"churn_rate": 9.0, "revenue": 2.0},
}


def _view(engine, name: str = "v_strategy_map_health") -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(
            sa.text(f"SELECT * FROM {name} ORDER BY driver, as_of_month"), connection
        )


def _publish_history(engine, publish_args, spec) -> pd.DataFrame:
    """Publish every month with link health computed from what was published before it."""
    health = pd.DataFrame()
    for month, values in MONTHS.items():
        args = publish_args(month, values)
        history = read_monthly_history(engine, month)
        this = args["measures"][args["measures"]["period_type"] == "month"]
        history = pd.concat([history, this[["measure_id", "period", "value"]]])
        health = link_health(spec, history, min_points=3)
        publish_month(engine, month, link_health=health, **args)
    return health


def test_hand_computed_correlation_is_persisted_and_shown(engine, publish_args, spec):
    _publish_history(engine, publish_args, spec)

    history = read_monthly_history(engine, "2025-03")
    assert len(history) == 8  # two measures x four months, each as published at its own close

    latest = _view(engine)
    assert len(latest) == 1
    row = latest.iloc[0]
    assert (row.driver, row.driver_name, row.outcome, row.outcome_name) == (
        "churn_rate",
        "Churn rate",
        "revenue",
        "Revenue",
    )
    assert (row.as_of_month, row.lag_months, row.chain_position, row.n) == ("2025-03", 1, 1, 3)
    assert row.correlation == pytest.approx(0.5)
    assert row.expected_sign == -1
    assert not bool(row.holds)
    assert row.note == "correlation has the opposite sign to the expected one"

    every = _view(engine, "v_strategy_map_health_as_of")
    assert list(every["as_of_month"]) == list(MONTHS)
    assert list(every["n"]) == [0, 1, 2, 3]
    assert every["correlation"].iloc[:3].isna().all()
    assert every["note"].iloc[0] == "too little history: 0 paired months, need 3"

    console = Console(record=True, width=200)
    render_strategy_map(engine, "2025-03", console)
    text = console.export_text()
    assert "Churn rate → Revenue" in text and "+0.50" in text and "✗" in text
    assert "The chain breaks at Churn rate → Revenue" in text


def test_same_link_health_twice_changes_nothing(engine, publish_args, spec, wh):
    health = link_health(spec, pd.DataFrame(columns=["measure_id", "period", "value"]))
    args = publish_args("2025-02", {"revenue": 110.0, "churn_rate": 4.0})
    first = publish_month(engine, "2025-02", link_health=health, **args)
    before = wh.table_rows(engine, "fact_link_health")

    again = publish_month(engine, "2025-02", link_health=health, **args)
    assert first.link_health == TableChange(inserted=1)
    assert again.link_health == TableChange(unchanged=1)
    assert not again.changed
    assert wh.table_rows(engine, "fact_link_health") == before

    # Without a frame the stored rows stay; a changed frame replaces only the month's row.
    publish_month(engine, "2025-02", **args)
    assert wh.table_rows(engine, "fact_link_health") == before
    publish_month(
        engine, "2025-01", link_health=health, **publish_args("2025-01", {"revenue": 1.0})
    )
    changed = health.assign(n=5, note="too little history: 5 paired months, need 12")
    outcome = publish_month(engine, "2025-02", link_health=changed, **args)
    assert outcome.link_health == TableChange(inserted=1, deleted=1)
    stored = _view(engine, "v_strategy_map_health_as_of").set_index("as_of_month")
    assert stored.loc["2025-02", "n"] == 5
    assert stored.loc["2025-01", "n"] == 0


def test_link_health_of_another_month_is_refused(engine, publish_args, spec, wh):
    health = link_health(spec, pd.DataFrame(columns=["measure_id", "period", "value"]))
    with pytest.raises(PublishInputError, match="as_of_month == 2025-02"):
        publish_month(
            engine,
            "2025-02",
            link_health=health.assign(as_of_month="2025-01"),
            **publish_args("2025-02", {"revenue": 1.0}),
        )
    assert wh.count(engine, "fact_link_health") == 0


def test_chain_position_follows_the_map_and_a_loop_still_ends(engine, publish_args, spec):
    chain = spec.model_copy(
        update={
            "links": [
                Link(driver="churned_customers", outcome="churn_rate"),
                Link(driver="churn_rate", outcome="revenue", lag_months=1),
                Link(driver="revenue", outcome="churned_customers", lag_months=2),
            ]
        }
    )
    health = link_health(chain, pd.DataFrame(columns=["measure_id", "period", "value"]))
    publish_month(
        engine,
        "2025-02",
        link_health=health,
        **publish_args("2025-02", {"revenue": 1.0}, spec=chain),
    )
    positions = _view(engine).set_index("driver")["chain_position"]
    # A loop has no start: each link's depth is capped at the number of links (3).
    assert positions.to_dict() == {"churned_customers": 3, "churn_rate": 3, "revenue": 3}

    open_chain = chain.model_copy(update={"links": chain.links[:2]})
    publish_month(
        engine,
        "2025-02",
        link_health=link_health(
            open_chain, pd.DataFrame(columns=["measure_id", "period", "value"])
        ),
        **publish_args("2025-02", {"revenue": 1.0}, spec=open_chain),
    )
    positions = _view(engine).set_index("driver")["chain_position"]
    assert positions.to_dict() == {"churned_customers": 1, "churn_rate": 2}
