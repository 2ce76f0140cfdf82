"""The quality gate: suites as data, pandas masks for row quarantine, GX for table checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bsc_pipeline.lazy_exports import lazy_exports

if TYPE_CHECKING:
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

# `suites` is both a module and its function: imported eagerly (it is light: contracts, YAML)
# so the package attribute is the function even after the submodule is imported elsewhere.
from bsc_pipeline.quality.suites import RowRule, Suite, TableRule, suite_for, suites

# Importing the rest of the package costs nothing: each name loads its module on first use, so the
# `bsc` command line mounts this package's commands without pandas, SQLAlchemy or GX.
_EXPORTS = {
    "QUARANTINE_COLUMNS": "gate",
    "ExpectationOutcome": "gate",
    "GateContext": "gate",
    "GateOutcome": "gate",
    "GateResult": "gate",
    "failed_gate": "gate",
    "run_gate": "gate",
    "GXValidator": "gx_validator",
    "dq_result_frame": "persistence",
    "gate_result_rows": "persistence",
    "quarantine_rows": "persistence",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


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
