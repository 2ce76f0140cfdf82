"""Great Expectations behind a Dagster resource: imported on first use, one context per process.

Importing GX costs seconds and hundreds of MB, so neither this module nor the gate imports it at
import time; the ephemeral context (in-memory stores, no analytics, no progress bars) is built once
per process and shared by every resource instance, because Dagster may build resources per run.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd

from bsc_pipeline.quality.json_safe import json_safe

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}
_ASSET = "canonical_frame"


@dataclass(frozen=True)
class GXExpectation:
    """One GX expectation named by its class in `great_expectations.expectations`."""

    rule: str
    expectation: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GXOutcome:
    """What GX said about one expectation, JSON-safe."""

    rule: str
    success: bool
    result: dict[str, Any]
    error: str | None = None


class GXValidator(dg.ConfigurableResource):
    """Validates table-level expectations on a pandas frame with GX 1.x."""

    result_format: str = "SUMMARY"

    def check(
        self, frame: pd.DataFrame, suite_name: str, expectations: Sequence[GXExpectation]
    ) -> list[GXOutcome]:
        """Run the expectations as one suite on the whole frame; one outcome per expectation.

        A suite keeps one of two identical expectations (completeness over a one-row median
        asks what `row_count` asks), so each distinct one runs once and answers every rule.
        """
        if not expectations:
            return []
        asked: dict[str, GXExpectation] = {}
        for spec in expectations:
            asked.setdefault(_identity(spec), spec)
        with _LOCK:
            gx, batch_definition = _context()
            suite = gx.ExpectationSuite(name=suite_name)
            for spec in asked.values():
                expectation_class = getattr(gx.expectations, spec.expectation)
                suite.add_expectation(expectation_class(**spec.kwargs, meta={"rule": spec.rule}))
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
            validation = batch.validate(suite, result_format=self.result_format)
        by_rule = {r.expectation_config.meta["rule"]: r for r in validation.results}
        return [_outcome(spec.rule, by_rule[asked[_identity(spec)].rule]) for spec in expectations]


def _identity(spec: GXExpectation) -> str:
    return f"{spec.expectation}{sorted(spec.kwargs.items())!r}"


def _outcome(rule: str, result: Any) -> GXOutcome:
    info = result.exception_info or {}
    error = info.get("exception_message") if info.get("raised_exception") else None
    return GXOutcome(
        rule=rule,
        success=bool(result.success) and error is None,
        result=json_safe(dict(result.result or {})),
        error=error,
    )


def _context() -> tuple[Any, Any]:
    """The GX module and a whole-dataframe batch definition, created once per process."""
    if not _STATE:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        context = gx.get_context(mode="ephemeral", project_config=config)
        asset = context.data_sources.add_pandas("bsc_pipeline").add_dataframe_asset(_ASSET)
        _STATE["gx"] = gx
        _STATE["batch_definition"] = asset.add_batch_definition_whole_dataframe("whole_frame")
    return _STATE["gx"], _STATE["batch_definition"]
