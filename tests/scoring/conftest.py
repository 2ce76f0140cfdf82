"""Small specs and measure-values frames built by hand for the scoring tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bsc_pipeline.spec.models import Spec

SpecFactory = Callable[..., Spec]
ValuesFactory = Callable[..., pd.DataFrame]


def _measure(id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "kind": "base",
        "id": id,
        "name": id.replace("_", " "),
        "unit": "EUR",
        "source": "gl_lines",
        "agg": "sum",
        "column": "amount",
        "objective": "grow",
    }
    return base | fields


@pytest.fixture
def make_spec() -> SpecFactory:
    """Spec with two perspectives and three objectives; `measures` are overrides by id."""

    def build(
        measures: dict[str, dict[str, Any]],
        links: list[dict[str, Any]] | None = None,
        objectives: list[dict[str, Any]] | None = None,
        perspectives: list[dict[str, Any]] | None = None,
        fiscal_year_start_month: int = 1,
    ) -> Spec:
        return Spec.model_validate(
            {
                "scorecard": {
                    "name": "Test",
                    "fiscal_year_start_month": fiscal_year_start_month,
                },
                "owners": [{"id": "ann", "name": "Ann"}],
                "perspectives": perspectives
                or [{"id": "financial", "name": "Financial"}, {"id": "people", "name": "People"}],
                "objectives": objectives
                or [
                    {"id": "grow", "name": "Grow", "perspective": "financial"},
                    {"id": "learn", "name": "Learn", "perspective": "people"},
                ],
                "measures": [_measure(mid, **fields) for mid, fields in measures.items()],
                "links": links or [],
            }
        )

    return build


def _month_end(period: str) -> date:
    year, month = (int(p) for p in period.split("-"))
    return date(year + month // 12, month % 12 + 1, 1)


@pytest.fixture
def make_values() -> ValuesFactory:
    """Measure-values frame: each row a dict of overrides on a complete, on-target month row."""

    def build(*rows: dict[str, Any]) -> pd.DataFrame:
        defaults: dict[str, Any] = {
            "period_type": "month",
            "period": "2025-03",
            "as_of_month": "2025-03",
            "is_partial": False,
            "value": np.nan,
            "target": np.nan,
            "target_high": np.nan,
            "green_bound": 1.0,
            "amber_bound": 0.9,
            "threshold_basis": "relative",
            "prior_period_value": np.nan,
            "prior_year_value": np.nan,
            "data_state": "complete",
            "data_note": None,
        }
        records = []
        for row in rows:
            record = defaults | row
            if "period_end" not in record:
                record["period_end"] = _month_end(record["period"])
            records.append(record)
        frame = pd.DataFrame.from_records(records)
        frame["period_end"] = pd.to_datetime(frame["period_end"])
        return frame

    return build
