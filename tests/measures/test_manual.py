"""Manual measures: values from the owners' update files, aggregated over longer periods."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from bsc_pipeline.measures import compute_measure_values

UPDATES = {"mode": "incremental", "month_column": "period", "keys": ["measure_id", "period"]}


def _measure(aggregation: str) -> dict[str, Any]:
    return {
        "id": "audit",
        "name": "Audit score",
        "unit": "score",
        "kind": "manual",
        "aggregation": aggregation,
        "owner": "cfo",
        "objective": "grow",
        "target": {"kind": "constant", "value": 80},
    }


def _reported(loader_class: Any, contracts: dict[str, Any], values: dict[str, str]) -> Any:
    loader = loader_class(contracts)
    for month, value in values.items():
        rows = pd.DataFrame({"measure_id": ["audit"], "period": [f"{month}-01"], "value": [value]})
        loader.stage("updates", month, rows.astype({"period": "datetime64[ns]"}))
    return loader


@pytest.mark.parametrize(
    ("aggregation", "quarter"),
    [("last", 70.0), ("sum", 150.0), ("mean", 75.0)],
)
def test_a_quarter_takes_the_declared_aggregation(
    aggregation: str, quarter: float, row, spec_of, loader_class, contracts
) -> None:
    spec = spec_of([_measure(aggregation)])
    contracts = {**contracts, "updates": UPDATES}
    loader = _reported(loader_class, contracts, {"2025-01": "80", "2025-03": "70"})
    values = compute_measure_values(spec, "2025-03", loader, contracts=contracts)
    assert row(values, "audit", "month")["value"] == 70.0
    q = row(values, "audit", "quarter")
    assert q["value"] == quarter
    if aggregation == "last":
        assert q["data_state"] == "complete"
    else:  # February was never reported: the quarter's sum or mean is partial, not complete
        assert q["data_state"] == "partial" and "not reported: 2025-02" in q["data_note"]


def test_a_month_not_reported_is_no_data_and_a_failed_file_holds(
    row, spec_of, loader_class, contracts
) -> None:
    spec = spec_of([_measure("last")])
    contracts = {**contracts, "updates": UPDATES}
    loader = _reported(loader_class, contracts, {"2025-01": "80"})
    values = compute_measure_values(spec, "2025-02", loader, contracts=contracts)
    february = row(values, "audit", "month")
    assert math.isnan(february["value"]) and february["data_state"] == "no_data"
    assert february["data_note"] == "no value reported for 2025-02"
    loader.fail("updates", "2025-02", "file cannot be read")
    held = compute_measure_values(spec, "2025-02", loader, contracts=contracts)
    assert row(held, "audit", "month")["data_state"] == "held"
