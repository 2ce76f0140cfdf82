"""Shared set-up: one generated demo company and its measures computed independently with pandas.

The monthly values here are a small re-implementation of the demo spec's measures, written from
the measure definitions and not from the engine, so the story can be checked while the engine is
built in parallel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bsc_pipeline.sources.demo_data import DemoSummary, generate_demo

ReadDataset = Callable[[Path, str], pd.DataFrame]
MonthlyValues = Callable[[Path], pd.DataFrame]

DEMO_END = "2026-10"
REVENUE = ["4000", "4100", "4900"]
COGS = ["5000", "5100", "5150", "5200"]


def read_dataset(root: Path, dataset: str) -> pd.DataFrame:
    """Every file of a dataset, with the key columns kept as text."""
    files = sorted((root / dataset).glob(f"{dataset}_*.csv"))
    text = {"account": "string", "entry_id": "string", "account_id": "string"}
    return pd.concat([pd.read_csv(f, dtype=text) for f in files], ignore_index=True)


def latest_versions(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The incremental rule: the newest version of each key by `updated_at`."""
    return frame.sort_values([key, "updated_at"]).drop_duplicates(key, keep="last")


def month_of(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m")


def active_at(start: pd.Series, stop: pd.Series, day: pd.Timestamp) -> int:
    """Rows active on `day`: started on or before it, not yet stopped."""
    start, stop = pd.to_datetime(start), pd.to_datetime(stop)
    return int(((start <= day) & (stop.isna() | (stop > day))).sum())


def monthly_values(root: Path) -> pd.DataFrame:
    """The demo spec's scored measures per month, computed straight from the extracts.

    Rates per customer or employee are annualised (× 12) as in the spec.
    """
    gl = read_dataset(root, "gl_lines")
    gl["month"] = month_of(gl["posting_date"])
    by_account = gl.pivot_table(index="month", columns="account", values="amount", aggfunc="sum")
    months = by_account.index
    out = pd.DataFrame(index=months)
    out["revenue"] = -by_account[REVENUE].sum(axis=1)
    cogs = by_account[COGS].sum(axis=1)
    out["gross_margin_pct"] = 100 * (out["revenue"] - cogs) / out["revenue"]
    out["revenue_growth_yoy"] = 100 * (out["revenue"] / out["revenue"].shift(12) - 1)
    budget = read_dataset(root, "budget")
    budget["month"] = month_of(budget["month"])
    planned = budget.pivot_table(index="month", columns="account", values="amount", aggfunc="sum")
    planned = planned.reindex(months)
    out["budget_variance_pct"] = 100 * (out["revenue"] / -planned[REVENUE].sum(axis=1) - 1)
    out["maintenance_vs_budget_pct"] = 100 * by_account["5200"] / planned["5200"]
    planned_profit = -planned[REVENUE].sum(axis=1) - planned[COGS].sum(axis=1)
    out["gross_profit_vs_budget_pct"] = (
        100 * (out["revenue"] - cogs - planned_profit) / (planned_profit)
    )

    survey = read_dataset(root, "survey_responses")
    survey["month"] = month_of(survey["response_date"])
    nps = survey.groupby("month")["score"].agg(
        promoters=lambda s: (s >= 9).sum(), detractors=lambda s: (s <= 6).sum(), n="size"
    )
    out["nps"] = 100 * (nps["promoters"] - nps["detractors"]) / nps["n"]

    accounts = read_dataset(root, "accounts")
    ends = [
        pd.Timestamp(f"{m}-01") + pd.offsets.MonthBegin(1) - pd.Timedelta(days=1) for m in months
    ]
    active = pd.Series(
        [active_at(accounts["created_date"], accounts["churned_date"], d) for d in ends],
        index=months,
    )
    churned = (
        month_of(accounts["churned_date"].dropna()).value_counts().reindex(months, fill_value=0)
    )
    out["active_customers"] = active
    out["customer_retention"] = 100 - 1200 * churned / active

    opps = latest_versions(read_dataset(root, "opportunities"), "opportunity_id")
    closed = opps[opps["stage"].isin(["won", "lost"])].copy()
    closed["month"] = month_of(closed["close_date"])
    won = closed.groupby("month")["stage"].agg(lambda s: (s == "won").mean())
    out["win_rate"] = 100 * won.reindex(months)

    tickets = latest_versions(read_dataset(root, "tickets"), "ticket_id")
    created = pd.to_datetime(tickets["created_at"])
    resolved_at = pd.to_datetime(tickets["resolved_at"])
    tickets["hours"] = (resolved_at - created).dt.total_seconds() / 3600
    tickets["sla_met"] = resolved_at <= pd.to_datetime(tickets["sla_due_at"])
    done = tickets[resolved_at.notna()].copy()
    done["month"] = month_of(done["resolved_at"])
    grouped = done.groupby("month")
    out["median_resolution_hours"] = grouped["hours"].median()
    out["sla_compliance"] = 100 * grouped["sla_met"].mean()
    out["reopen_rate"] = 100 * grouped["reopens"].agg(lambda s: (s > 0).mean())
    rated = done[done["satisfaction"].notna()]
    good = rated.groupby("month")["satisfaction"].agg(lambda s: (s == "good").mean())
    out["ticket_satisfaction"] = 100 * good
    tickets["month"] = month_of(tickets["created_at"])
    complaints = tickets[tickets["category"] == "complaint"].groupby("month").size()
    out["complaints_per_100_customers"] = 1200 * complaints.reindex(months, fill_value=0) / active

    staff = read_dataset(root, "employees")
    headcount = pd.Series(
        [active_at(staff["hire_date"], staff["termination_date"], d) for d in ends], index=months
    )
    out["headcount"] = headcount
    leavers = staff[staff["termination_type"] == "voluntary"]
    quits = month_of(leavers["termination_date"]).value_counts().reindex(months, fill_value=0)
    out["voluntary_turnover_q"] = 1200 * quits.rolling(3).sum() / headcount.rolling(3).sum()
    training = read_dataset(root, "training")
    training["month"] = month_of(training["completed_date"])
    out["training_hours_per_employee"] = 12 * training.groupby("month")["hours"].sum() / headcount
    pulse = read_dataset(root, "engagement")
    pulse["month"] = month_of(pulse["response_date"])
    out["engagement_score"] = pulse.groupby("month")["score"].mean()
    return out.astype("float64").replace([np.inf, -np.inf], np.nan)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    """The demo company at scale 1 for 36 months ending October 2026."""
    return generate_demo(tmp_path_factory.mktemp("demo"), end=DEMO_END)


@pytest.fixture(scope="session")
def values(demo: DemoSummary) -> pd.DataFrame:
    return monthly_values(demo.out)


@pytest.fixture(scope="session")
def read() -> ReadDataset:
    """`read(root, dataset)`: every file of a demo dataset as one frame."""
    return read_dataset


@pytest.fixture(scope="session")
def measure_values() -> MonthlyValues:
    """`measure_values(root)`: the demo measures per month computed from the extracts."""
    return monthly_values
