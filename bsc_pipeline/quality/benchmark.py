"""The cost of the gate at benchmark scale: `python -m bsc_pipeline.quality.benchmark [rows]`.

Builds a synthetic month of `gl_lines` (a few bad rows of each kind) with its chart of accounts and
times `run_gate`, GX import and context creation excluded (paid once per process).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from bsc_pipeline.quality.gate import GateContext, run_gate
from bsc_pipeline.quality.gx_validator import GXValidator

MONTH = "2025-03"


def synthetic_gl_lines(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A month of GL lines over 500 accounts, with 0.01% unknown accounts and dates in April."""
    rng = np.random.default_rng(seed)
    accounts = np.array([f"{4000 + i}" for i in range(500)], dtype=object)
    chart = pd.DataFrame(
        {
            "account": accounts,
            "account_name": accounts,
            "account_type": "opex",
            "account_group": None,
        }
    )
    account = accounts[rng.integers(0, len(accounts), rows)]
    day = rng.integers(0, 31, rows)
    frame = pd.DataFrame(
        {
            "entry_id": pd.Series(np.arange(rows) // 2, dtype="int64").astype(str),
            "line_no": np.arange(rows) % 2 + 1,
            "posting_date": pd.Timestamp("2025-03-01") + pd.to_timedelta(day, unit="D"),
            "account": account,
            "amount": rng.normal(0, 1000, rows).round(2),
            "department": rng.choice(np.array(["Sales", "Support", None], dtype=object), rows),
            "memo": "accrual",
            "_source_file": "finance/gl_2025-03.csv",
            "_source_line": np.arange(2, rows + 2),
        }
    )
    bad = rng.choice(rows, size=max(rows // 10_000, 1), replace=False)
    frame.loc[bad[::2], "account"] = "9999"
    frame.loc[bad[1::2], "posting_date"] = pd.Timestamp("2025-04-02")
    return frame, chart


def time_gate(rows: int) -> dict[str, Any]:
    frame, chart = synthetic_gl_lines(rows)
    validator = GXValidator()
    context = GateContext(references={"chart_of_accounts": chart}, recent_volumes=[rows] * 6)
    warm = time.perf_counter()
    run_gate("gl_lines", MONTH, frame.head(100), context=context, validator=validator)
    warm_seconds = time.perf_counter() - warm
    start = time.perf_counter()
    outcome = run_gate("gl_lines", MONTH, frame, context=context, validator=validator)
    seconds = time.perf_counter() - start
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "first_call_seconds_incl_gx_import": round(warm_seconds, 2),
        "quarantined": outcome.result.quarantined_count,
        "passed": outcome.result.passed,
    }


if __name__ == "__main__":
    print(time_gate(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
