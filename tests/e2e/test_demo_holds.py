"""The demo company under the incidents of issue 12: partial exports and a lost lake.

One module-scoped run publishes the 36 demo months through the pipeline's steps. Each test
copies its warehouse, lake and landing zone, cuts or deletes in the copy, re-runs the last month
and compares the published views with the clean run.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from bsc_pipeline.measures.dependencies import measure_sources
from bsc_pipeline.periods import Month, month_range
from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.quality import GXValidator
from bsc_pipeline.settings import PROJECT_ROOT, Settings
from bsc_pipeline.sources.demo_data import generate_demo

pytestmark = pytest.mark.slow

DEMO_END = "2026-10"
VIEWS = ("v_scorecard_monthly", "v_scorecard_period")


def _run_month(settings: Settings, month: str, validator: GXValidator) -> Pipeline:
    pipeline = Pipeline(settings)
    for dataset in pipeline.datasets:
        pipeline.extract(dataset, month)
        pipeline.stage(dataset, month, validator=validator)
    pipeline.compute_measures(month)
    pipeline.score(month)
    pipeline.publish(month, run_id=f"demo-{month}")
    return pipeline


def _view(settings: Settings, name: str) -> pd.DataFrame:
    """A whole view; `name` is one of this module's constants, never user text."""
    with sa.create_engine(settings.warehouse_url).connect() as conn:
        return pd.read_sql(sa.text(f"SELECT * FROM {name}"), conn)


@pytest.fixture(scope="module")
def validator() -> GXValidator:
    return GXValidator()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, validator: GXValidator) -> Settings:
    """The 36 demo months published clean (read only: tests work on copies)."""
    work = tmp_path_factory.mktemp("demo")
    summary = generate_demo(work / "landing", end=DEMO_END)
    settings = Settings(
        warehouse_url=f"sqlite:///{work / 'warehouse.db'}",
        landing_dir=work / "landing",
        lake_dir=work / "lake",
        spec_path=PROJECT_ROOT / "specs" / "demo.yaml",
        contracts_path=PROJECT_ROOT / "sources" / "contracts.yaml",
        sources_config=PROJECT_ROOT / "sources" / "sources.yaml",
        timezone="UTC",
        partitions_start=summary.first_month,
    )
    for month in month_range(Month.parse(summary.first_month), Month.parse(DEMO_END)):
        _run_month(settings, str(month), validator)
    return settings


@pytest.fixture
def copy(demo: Settings, tmp_path: Path) -> Settings:
    """A private copy of the published demo: warehouse (with its log), lake, landing zone."""
    source = Path(demo.warehouse_url.removeprefix("sqlite:///"))
    for part in source.parent.glob(f"{source.name}*"):
        shutil.copy(part, tmp_path / part.name.replace(source.name, "warehouse.db"))
    shutil.copytree(demo.lake_dir, tmp_path / "lake")
    shutil.copytree(demo.landing_dir, tmp_path / "landing")
    return replace(
        demo,
        warehouse_url=f"sqlite:///{tmp_path / 'warehouse.db'}",
        lake_dir=tmp_path / "lake",
        landing_dir=tmp_path / "landing",
    )


def _cut(settings: Settings, dataset: str, keep: float | int) -> int:
    """Keep the first rows of the last month's file: a share of them, or a number. Rows kept."""
    path = settings.landing_dir / dataset / f"{dataset}_{DEMO_END}.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    kept = rows[: keep if isinstance(keep, int) else round(len(rows) * keep)]
    path.write_text("\n".join([header, *kept]) + "\n", encoding="utf-8")
    return len(kept)


def _last_month(settings: Settings) -> pd.DataFrame:
    view = _view(settings, "v_scorecard_period")
    rows = view[view["as_of_month"] == DEMO_END].set_index(["measure_id", "period_type"])
    return rows.sort_index()


def _reading(pipeline: Pipeline, dataset: str) -> set[str]:
    return {m.id for m in pipeline.spec.measures if dataset in measure_sources(pipeline.spec, m.id)}


def test_no_demo_month_is_held(demo: Settings) -> None:
    monthly = _view(demo, "v_scorecard_monthly")
    assert len(monthly) > 0
    assert not (monthly["data_state"] == "held").any()
    assert not (monthly["status"] == "held").any()


@pytest.mark.parametrize("share", [0.01, 0.10, 0.30])
def test_a_cut_gl_month_holds_every_measure_reading_it(
    copy: Settings, validator: GXValidator, share: float
) -> None:
    before = _last_month(copy)
    _cut(copy, "gl_lines", share)
    pipeline = _run_month(copy, DEMO_END, validator)

    after = _last_month(copy)
    reading = _reading(pipeline, "gl_lines")
    assert {"revenue", "gross_margin_pct", "revenue_growth_yoy"} <= reading
    held = after.index.get_level_values("measure_id").isin(sorted(reading))
    assert (after.loc[held, "status"] == "held").all()
    assert after.loc[held, "data_note"].str.contains("completeness: ").all()
    pd.testing.assert_series_equal(after.loc[held, "actual"], before.loc[held, "actual"])
    pd.testing.assert_series_equal(after.loc[~held, "status"], before.loc[~held, "status"])


def test_a_lowered_threshold_publishes_a_30_percent_month(
    copy: Settings, validator: GXValidator, tmp_path: Path
) -> None:
    contracts = yaml.safe_load(copy.contracts_path.read_text(encoding="utf-8"))
    contracts["datasets"]["gl_lines"]["completeness"] = {"min_ratio": 0.25}
    seasonal = tmp_path / "contracts.yaml"
    seasonal.write_text(yaml.safe_dump(contracts), encoding="utf-8")
    settings = replace(copy, contracts_path=seasonal)
    before = _last_month(settings)
    _cut(settings, "gl_lines", 0.30)
    _run_month(settings, DEMO_END, validator)

    revenue = _last_month(settings).loc[("revenue", "month")]
    assert revenue["status"] != "held"
    assert revenue["actual"] < 0.5 * before.loc[("revenue", "month"), "actual"]


def test_a_ticket_export_cut_to_three_rows_holds_instead_of_publishing_zero(
    copy: Settings, validator: GXValidator
) -> None:
    """The issue's incident: complaints per 100 customers published 0.0, green."""
    before = _last_month(copy)
    _cut(copy, "tickets", 3)
    pipeline = _run_month(copy, DEMO_END, validator)

    after = _last_month(copy)
    for measure in sorted(_reading(pipeline, "tickets") & set(after.index.get_level_values(0))):
        row = after.loc[(measure, "month")]
        assert (row["status"], row["data_state"]) == ("held", "held"), measure
        assert row["actual"] == pytest.approx(
            before.loc[(measure, "month"), "actual"], nan_ok=True
        ), measure
    complaints = after.loc[("complaints_per_100_customers", "month")]
    assert complaints["actual"] > 0


def test_an_empty_lake_republishes_the_identical_view(
    copy: Settings, validator: GXValidator
) -> None:
    before = {name: _view(copy, name) for name in VIEWS}
    shutil.rmtree(copy.lake_dir)
    _run_month(copy, DEMO_END, validator)
    for name in VIEWS:
        pd.testing.assert_frame_equal(_view(copy, name), before[name], check_like=True)
