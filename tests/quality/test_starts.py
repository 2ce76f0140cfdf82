"""A source's first month: declared, or its first delivery; earlier months are not started."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.quality.starts import (
    SOURCE_STARTED,
    landing_months,
    not_started_gate,
    source_start,
)
from bsc_pipeline.settings import Settings


def test_a_declared_first_month_wins_over_deliveries() -> None:
    start = source_start("training", declared="2024-03", delivered=["2024-01", None])
    assert start is not None and (start.month, start.how) == ("2024-03", "declared")
    assert not start.started("2024-02") and start.started("2024-03")
    assert start.note == "source not started: training starts 2024-03 (declared)"


def test_the_first_delivery_is_the_earliest_month_seen() -> None:
    start = source_start("gl_lines", declared=None, delivered=["2025-02", None, "2025-01"])
    assert start is not None and (start.month, start.how) == ("2025-01", "first delivery")


def test_no_delivery_ever_is_not_a_start_so_missing_months_stay_held() -> None:
    assert source_start("gl_lines", declared=None, delivered=[None]) is None


def test_landing_months_of_the_tiny_company(tiny_settings: Settings) -> None:
    months = landing_months(tiny_settings.landing_dir, "gl_lines", tiny_settings.sources_config)
    assert months == ["2025-01", "2025-02"]


def test_a_month_before_the_start_passes_with_nothing_checked() -> None:
    start = source_start("training", declared="2024-03", delivered=[])
    assert start is not None
    outcome = not_started_gate("2024-01", start, None)
    assert outcome.result.passed and outcome.result.severity == "ok"
    assert [e.name for e in outcome.result.expectations] == [SOURCE_STARTED]
    assert outcome.result.reason == start.note
    assert outcome.staged.empty and outcome.quarantine.empty


def test_months_before_a_declared_start_stay_out_of_the_volume_baseline(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    contracts = yaml.safe_load(tiny_settings.contracts_path.read_text(encoding="utf-8"))
    contracts["datasets"]["training"]["starts"] = "2025-02"
    path = tmp_path / "contracts.yaml"
    path.write_text(yaml.safe_dump(contracts), encoding="utf-8")
    declared = Pipeline(replace(tiny_settings, contracts_path=path))
    inferred = Pipeline(tiny_settings)

    # January's file is an early delivery before the declared start: never a baseline month.
    assert declared._recent_volumes("training", "2025-03", declared.rebuild())[:2] == [1, None]
    assert inferred._recent_volumes("training", "2025-03", inferred.rebuild())[:2] == [1, 2]
    assert declared.source_start("training").month == "2025-02"  # type: ignore[union-attr]
    assert inferred.source_start("training").how == "first delivery"  # type: ignore[union-attr]
    # A snapshot's first file serves the months before it: it starts only where declared.
    assert inferred.source_start("employees") is None
