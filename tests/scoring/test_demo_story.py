"""The demo company's story, read back by scoring: the real extracts, gates and measure engine.

The story (bsc_pipeline/sources/demo_data.py): training and maintenance are cut, service slows,
complaints rise and customers leave, while the lagging financial results stay green for months.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bsc_pipeline.measures import compute_measure_values
from bsc_pipeline.periods import Month, month_range
from bsc_pipeline.pipeline import LakeFrameLoader, Pipeline
from bsc_pipeline.scoring import balance_flags, link_health, score_measures
from bsc_pipeline.settings import PROJECT_ROOT, Settings
from bsc_pipeline.sources.demo_data import generate_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pipeline, pd.DataFrame]:
    work: Path = tmp_path_factory.mktemp("demo_story")
    demo = generate_demo(work / "landing", end="2026-10")
    pipeline = Pipeline(
        Settings(
            warehouse_url=f"sqlite:///{work / 'warehouse.db'}",
            landing_dir=work / "landing",
            lake_dir=work / "lake",
            spec_path=PROJECT_ROOT / "specs" / "demo.yaml",
            contracts_path=PROJECT_ROOT / "sources" / "contracts.yaml",
            sources_config=PROJECT_ROOT / "sources" / "sources.yaml",
            timezone="UTC",
            partitions_start=demo.first_month,
        )
    )
    months = [
        str(m) for m in month_range(Month.parse(demo.first_month), Month.parse(demo.last_month))
    ]
    for month in months:
        for dataset in pipeline.datasets:
            pipeline.extract(dataset, month)
            pipeline.stage(dataset, month)
    loader = LakeFrameLoader(pipeline.lake, pipeline.contracts)
    values = pd.concat(
        [
            compute_measure_values(pipeline.spec, m, loader, contracts=pipeline.contracts)
            for m in months
        ],
        ignore_index=True,
    )
    return pipeline, balance_flags(pipeline.spec, score_measures(pipeline.spec, values))


def test_lagging_results_green_while_leading_drivers_red_are_flagged(demo_scored):
    pipeline, scored = demo_scored
    months = scored[scored["period_type"] == "month"]
    flagged = months[months["balance_flag"].notna()]
    lead_lag = {m.id: m.lead_lag for m in pipeline.spec.measures}
    outcomes = flagged[flagged["measure_id"].map(lead_lag) == "lagging"]
    drivers = flagged[flagged["measure_id"].map(lead_lag) == "leading"]
    assert (outcomes["status"] == "green").all() and len(outcomes) > 0
    assert (drivers["status"] == "red").all() and len(drivers) > 0
    # Every flagged outcome has its red driver flagged in the same month, and the other way round.
    assert set(outcomes["period"]) == set(drivers["period"])


def test_the_demo_strategy_map_holds(demo_scored):
    pipeline, scored = demo_scored
    months = scored[scored["period_type"] == "month"]
    health = link_health(pipeline.spec, months[["measure_id", "period", "value"]])
    assert len(health) == len(pipeline.spec.links)
    assert (health["n"] >= 12).all()
    assert health["holds"].fillna(False).all(), health[~health["holds"].fillna(False)]
