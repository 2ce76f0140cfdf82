"""The demo and minimal specs: valid, complete, wired to real columns, and telling the story."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bsc_pipeline.spec.models import (
    BaseMeasure,
    BudgetTarget,
    ConstantTarget,
    RangeTarget,
    SnapshotMeasure,
    Spec,
)
from bsc_pipeline.spec.validate import check_spec

ROOT = Path(__file__).parents[2]
CONTRACTS = ROOT / "sources" / "contracts.yaml"
DATASETS = yaml.safe_load(CONTRACTS.read_text(encoding="utf-8"))["datasets"]
SPECS = [ROOT / "specs" / "demo.yaml", ROOT / "specs" / "minimal.yaml"]

# Spec measure -> column of the independently computed monthly values (conftest.monthly_values).
STORY_MEASURES = {
    "revenue_growth_yoy": "revenue_growth_yoy",
    "gross_margin_pct": "gross_margin_pct",
    "gross_profit_vs_budget_pct": "gross_profit_vs_budget_pct",
    "nps": "nps",
    "customer_retention": "customer_retention",
    "win_rate": "win_rate",
    "complaints_per_100_customers": "complaints_per_100_customers",
    "median_resolution_hours": "median_resolution_hours",
    "sla_compliance": "sla_compliance",
    "reopen_rate": "reopen_rate",
    "maintenance_spend": "maintenance_vs_budget_pct",
    "headcount": "headcount",
    "voluntary_turnover": "voluntary_turnover_q",
    "training_hours_per_employee": "training_hours_per_employee",
    "engagement_score": "engagement_score",
}


def load(path: Path) -> Spec:
    return Spec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load(SPECS[0])


def inputs(spec: Spec, measure_id: str) -> set[str]:
    """Every measure a measure is built from, itself included."""
    ids = {m.id for m in spec.measures}
    seen, todo = set(), [measure_id]
    while todo:
        current = spec.measure(todo.pop())
        if current.id in seen:
            continue
        seen.add(current.id)
        for name in ("numerator", "denominator", "of"):
            if hasattr(current, name):
                todo.append(getattr(current, name))
        if hasattr(current, "formula"):
            todo += [n for n in re.findall(r"[a-z_][a-z0-9_]*", current.formula) if n in ids]
    return seen


def status(value: float, measure_id: str, spec: Spec) -> str:
    """The spec's thresholds applied by hand (absolute, or relative to a budget of 100 %)."""
    measure = spec.measure(measure_id)
    bounds = measure.thresholds[0]
    if np.isnan(value):
        return "no_data"
    if isinstance(measure.target, RangeTarget):
        low, high = measure.target.low, measure.target.high
        if low <= value <= high:
            return "green"
        return "amber" if low - bounds.amber <= value <= high + bounds.amber else "red"
    if isinstance(measure.target, BudgetTarget):  # the values column is % of budget
        value = value / 100
    green, amber = bounds.green, bounds.amber
    if measure.direction == "lower":
        return "green" if value <= green else "amber" if value <= amber else "red"
    return "green" if value >= green else "amber" if value >= amber else "red"


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_spec_has_no_problems(path: Path) -> None:
    load(path)
    assert check_spec(path, CONTRACTS) == []


def test_demo_spec_has_the_required_shape(spec: Spec) -> None:
    assert len(spec.perspectives) == 4
    assert 10 <= len(spec.objectives) <= 15
    scored = spec.scored_measures()
    assert len(scored) >= 16
    for measure in scored:
        assert measure.owner and measure.unit and measure.target is not None, measure.id
        assert measure.thresholds, measure.id
    assert {m.lead_lag for m in scored} == {"leading", "lagging"}
    assert {m.review for m in scored} == {"monthly", "quarterly"}
    objectives = {m.objective for m in scored}
    assert objectives == {o.id for o in spec.objectives}
    assert len(spec.initiatives) >= 2


def test_owners_datasets_and_alerts_are_set(spec: Spec) -> None:
    owners = {o.id for o in spec.owners}
    assert all(o.email and o.email.endswith("@demo.example") for o in spec.owners)
    assert set(spec.datasets) == set(DATASETS)
    assert {d.owner for d in spec.datasets.values()} <= owners
    assert spec.alerts.engineers in owners and spec.alerts.fallback_owner in owners


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_source_column_exists_in_the_contracts(path: Path) -> None:
    for measure in load(path).measures:
        if not isinstance(measure, BaseMeasure | SnapshotMeasure):
            continue
        contract = DATASETS[measure.source]
        columns = set(contract["columns"]) | set(contract.get("computed") or {})
        used = {f.column for f in measure.filters} | {measure.column} - {None}
        if isinstance(measure, BaseMeasure):
            used |= {measure.date_column} - {None}
            assert measure.date_column or contract["month_column"], measure.id
        else:
            used |= {measure.active_from, measure.active_to} - {None}
        assert used <= columns, (measure.id, used - columns)


def test_scored_measures_draw_on_all_four_sources(spec: Spec) -> None:
    sources = set()
    for measure in spec.scored_measures():
        for name in inputs(spec, measure.id):
            part = spec.measure(name)
            if isinstance(part, BaseMeasure | SnapshotMeasure):
                sources.add(DATASETS[part.source]["source"])
    assert sources == {"finance", "crm", "ticketing", "hr"}


def test_links_chain_training_to_service_loyalty_revenue_and_margin(spec: Spec) -> None:
    ids = {m.id for m in spec.measures}
    graph: dict[str, set[str]] = {}
    for link in spec.links:
        assert {link.driver, link.outcome} <= ids
        graph.setdefault(link.driver, set()).add(link.outcome)
    reached, queue = {"training_hours_per_employee"}, deque(["training_hours_per_employee"])
    while queue:
        for outcome in graph.get(queue.popleft(), ()):
            if outcome not in reached:
                reached.add(outcome)
                queue.append(outcome)
    assert {"median_resolution_hours", "nps", "customer_retention"} <= reached
    assert {"revenue_growth_yoy", "gross_margin_pct"} <= reached


@pytest.fixture(scope="module")
def statuses(values: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    frame = values.reset_index(drop=True)
    return pd.DataFrame(
        {m: [status(v, m, spec) for v in frame[column]] for m, column in STORY_MEASURES.items()}
    )


def test_measures_turn_red_in_the_story_and_recover(statuses: pd.DataFrame) -> None:
    recovered = []
    for measure, column in statuses.items():
        red = np.flatnonzero(column == "red")
        if red.size and red[0] >= 10 and (column[red[-1] + 1 :] == "green").any():
            recovered.append(measure)
    assert len(recovered) >= 10, statuses.to_string()


def test_before_the_cuts_the_scorecard_is_mostly_green(statuses: pd.DataFrame) -> None:
    before = statuses.iloc[:10]
    assert (before == "red").to_numpy().sum() <= 3, before.to_string()
    assert (before == "green").to_numpy().mean() > 0.8


def test_lagging_revenue_green_while_leading_service_red(statuses: pd.DataFrame) -> None:
    """The balance-flag month: the future is being sold for the present."""
    flagged = (
        (statuses["revenue_growth_yoy"] == "green")
        & (statuses["gross_profit_vs_budget_pct"] == "green")
        & (statuses["sla_compliance"] == "red")
        & (statuses["training_hours_per_employee"] == "red")
    )
    assert flagged.any()


def test_demo_targets_are_constants_budgets_or_ranges(spec: Spec) -> None:
    kinds = {type(m.target) for m in spec.scored_measures()}
    assert kinds <= {ConstantTarget, BudgetTarget, RangeTarget}
    assert BudgetTarget in kinds
