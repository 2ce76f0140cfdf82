"""Gate results and quarantined rows as rows of the warehouse tables `dq_result`, `quarantine_row`.

Each expectation is one `dq_result` row; one more row, expectation `gate`, keeps the month's
verdict (severity `ok`, `warning` or `critical`, rows and quarantined rows, the reason as sample).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from bsc_pipeline.quality.gate import QUARANTINE_COLUMNS, GateResult
from bsc_pipeline.quality.json_safe import json_safe

GATE_ROW = "gate"
DQ_RESULT_COLUMNS = [
    "run_id",
    "dataset",
    "month",
    "expectation",
    "column",
    "severity",
    "passed",
    "element_count",
    "unexpected_count",
    "sample",
]


def gate_result_rows(result: GateResult, run_id: str) -> list[dict[str, Any]]:
    """`dq_result` rows: the verdict first, then every expectation run."""
    verdict = {
        "run_id": run_id,
        "dataset": result.dataset,
        "month": result.month,
        "expectation": GATE_ROW,
        "column": None,
        "severity": result.severity,
        "passed": result.passed,
        "element_count": result.row_count,
        "unexpected_count": result.quarantined_count,
        "sample": [result.reason] if result.reason else [],
    }
    rows = [verdict]
    for e in result.expectations:
        rows.append(
            {
                "run_id": run_id,
                "dataset": result.dataset,
                "month": result.month,
                "expectation": e.name,
                "column": e.column,
                "severity": e.severity,
                "passed": e.passed,
                "element_count": e.element_count,
                "unexpected_count": e.unexpected_count,
                "sample": json_safe(e.sample),
            }
        )
    return rows


def quarantine_rows(quarantine: pd.DataFrame, run_id: str) -> list[dict[str, Any]]:
    """`quarantine_row` rows from a quarantine frame (the gate's or the reader's `parse` rows)."""
    if quarantine.empty:
        return []
    frame = quarantine[QUARANTINE_COLUMNS].astype(object)
    frame = frame.where(frame.notna(), None)
    records = frame.to_dict(orient="records")
    return [
        {
            "run_id": run_id,
            **{str(k): json_safe(v) for k, v in r.items()},
        }
        for r in records
    ]


def dq_result_frame(results: Iterable[GateResult | Mapping[str, Any]], run_id: str) -> pd.DataFrame:
    """`dq_result` rows of several gates as one frame; accepts results or their `to_dict()`."""
    rows = [
        row
        for r in results
        for row in gate_result_rows(
            r if isinstance(r, GateResult) else GateResult.from_dict(r), run_id
        )
    ]
    return pd.DataFrame(rows, columns=DQ_RESULT_COLUMNS)
