"""The quality gate: suites as data, pandas masks for row quarantine, GX for table checks."""

from bsc_pipeline.quality.gate import (
    QUARANTINE_COLUMNS,
    ExpectationOutcome,
    GateContext,
    GateOutcome,
    GateResult,
    failed_gate,
    run_gate,
)
from bsc_pipeline.quality.gx_validator import GXValidator
from bsc_pipeline.quality.persistence import dq_result_frame, gate_result_rows, quarantine_rows
from bsc_pipeline.quality.suites import RowRule, Suite, TableRule, suite_for, suites

__all__ = [
    "QUARANTINE_COLUMNS",
    "ExpectationOutcome",
    "GXValidator",
    "GateContext",
    "GateOutcome",
    "GateResult",
    "RowRule",
    "Suite",
    "TableRule",
    "dq_result_frame",
    "failed_gate",
    "gate_result_rows",
    "quarantine_rows",
    "run_gate",
    "suite_for",
    "suites",
]
