"""Backfill a range of months in parallel, in one Dagster run, on the multiprocess executor.

Phase 1 extracts and stages every month in parallel; phase 2 starts when all are staged (a
month's measures read up to 24 earlier staged months) and measures, scores and publishes every
month in parallel, one publisher at a time per the `warehouse_publish` pool; alerts are then
delivered once. Each step logs materializations of the partitioned asset keys, so the UI shows
the months as materialized. A month that fails is reported and the others go on; the run fails
at the end when any month failed, so the run-failure sensor tells the engineers.
"""

# No `from __future__ import annotations`: Dagster reads the ops' config annotations at runtime.
import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

from bsc_pipeline.defs.assets import (
    GATE_CHECK,
    PUBLISH_POOL,
    READ_RETRY,
    WRITE_RETRY,
    publish_pool,
    raw_key,
    staged_key,
)
from bsc_pipeline.defs.resources import BscResource
from bsc_pipeline.periods import Month
from bsc_pipeline.warehouse.errors import PeriodClosedError, PublishInputError

BACKFILL_JOB = "backfill_months"
MEASURES_KEY = dg.AssetKey("measure_values")
SCORECARD_KEY = dg.AssetKey("scorecard")
PUBLISHED_KEY = dg.AssetKey("published_scorecard")
ALERTS_KEY = dg.AssetKey("alert_delivery")

REFUSALS = (PeriodClosedError, PublishInputError)
"""Errors a retry cannot fix: a closed month, frames that do not fit the warehouse."""

MonthResult = dict[str, Any]
"""What a step hands on for one month: `month`, `error` (None when fine), `phase`, `held`, and
from publication on `through`, the backfill's newest month (older months' alerts are history)."""


class BackfillConfig(dg.Config):
    """The months to extract and publish, and later months only to re-measure and re-publish."""

    months: list[str]
    recompute: list[str] = []  # noqa: RUF012 (pydantic copies field defaults)
    """Months after the range, already staged, whose quarter, year, YTD and TTM rows read it."""


def mapping_key(month: str) -> str:
    return month.replace("-", "_")


def _failed(month: str, phase: str, exc: BaseException) -> MonthResult:
    return {"month": month, "error": f"{type(exc).__name__}: {exc}", "phase": phase, "held": []}


def _last_attempt(context: dg.OpExecutionContext, policy: dg.RetryPolicy) -> bool:
    return context.retry_number >= policy.max_retries


@dg.op(out=dg.DynamicOut(str), description="One output per month to extract and stage.")
def plan_months(config: BackfillConfig) -> Iterator[dg.DynamicOutput[str]]:
    for month in sorted({str(Month.parse(m)) for m in config.months}):
        yield dg.DynamicOutput(month, mapping_key=mapping_key(month))


@dg.op(
    retry_policy=READ_RETRY,
    description="Phase 1: every dataset of the month from the landing zone, then its gate.",
)
def extract_and_stage(
    context: dg.OpExecutionContext, bsc: BscResource, month: str
) -> Iterator[Any]:
    from bsc_pipeline.quality.gx_validator import GXValidator

    pipeline = bsc.pipeline()
    try:
        extracted = [pipeline.extract(dataset, month) for dataset in pipeline.datasets]
        validator = GXValidator()
        gates = [
            pipeline.stage(dataset, month, validator=validator) for dataset in pipeline.datasets
        ]
    except Exception as exc:
        if not _last_attempt(context, READ_RETRY):
            raise
        context.log.error(f"{month}: extract or gate failed after retries: {exc}")
        yield dg.Output(_failed(month, "extract", exc))
        return
    for summary in extracted:
        yield dg.AssetMaterialization(
            raw_key(summary.dataset),
            partition=month,
            metadata={
                "dagster/row_count": summary.row_count,
                "usable": summary.usable,
                "reason": summary.reason or "",
                "rejected_rows": summary.rejected_count,
            },
        )
    held = []
    for dataset, gate in zip(pipeline.datasets, gates, strict=True):
        if not gate.passed:
            held.append(dataset)
        yield dg.AssetMaterialization(
            staged_key(dataset),
            partition=month,
            metadata={
                "dagster/row_count": gate.row_count - gate.quarantined_count,
                "quarantined_rows": gate.quarantined_count,
                "gate_passed": gate.passed,
            },
        )
        yield dg.AssetCheckEvaluation(
            asset_key=staged_key(dataset),
            check_name=GATE_CHECK,
            passed=gate.passed,
            severity=dg.AssetCheckSeverity.ERROR
            if gate.severity == "critical"
            else dg.AssetCheckSeverity.WARN,
            description=gate.reason or "all expectations met",
            partition=month,
        )
    yield dg.Output({"month": month, "error": None, "phase": "extract", "held": held})


@dg.op(
    out=dg.DynamicOut(dict),
    description="Phase 2 starts once every month is staged: staged months, then later months.",
)
def plan_publication(
    context: dg.OpExecutionContext, config: BackfillConfig, staged: list[MonthResult]
) -> Iterator[dg.DynamicOutput[MonthResult]]:
    ready = sorted((r for r in staged if r["error"] is None), key=lambda r: r["month"])
    later = sorted(set(config.recompute) - {r["month"] for r in staged})
    through = max(str(Month.parse(m)) for m in [*config.months, *config.recompute])
    for result in ready:
        yield dg.DynamicOutput(
            {**result, "through": through}, mapping_key=mapping_key(result["month"])
        )
    for month in later:
        yield dg.DynamicOutput(
            {"month": month, "error": None, "phase": "recompute", "held": [], "through": through},
            mapping_key=mapping_key(month),
        )
    context.log.info(f"publishing {len(ready)} backfilled and {len(later)} later months")


@dg.op(description="Phase 2: measures over every period type as of the month, then scores.")
def measure_and_score(
    context: dg.OpExecutionContext, bsc: BscResource, staged: MonthResult
) -> Iterator[Any]:
    month = staged["month"]
    pipeline = bsc.pipeline()
    try:
        values = pipeline.compute_measures(month)
        scored, rollups = pipeline.score(month)
    except Exception as exc:
        context.log.error(f"{month}: measures or scoring failed: {exc}")
        yield dg.Output({**_failed(month, "measures", exc), "held": staged["held"]})
        return
    states = {str(k): int(v) for k, v in values["data_state"].value_counts().items()}
    yield dg.AssetMaterialization(
        MEASURES_KEY,
        partition=month,
        metadata={"dagster/row_count": len(values), "data_states": dg.MetadataValue.json(states)},
    )
    yield dg.AssetMaterialization(
        SCORECARD_KEY,
        partition=month,
        metadata={"dagster/row_count": len(scored), "rollup_rows": len(rollups)},
    )
    yield dg.Output({**staged, "phase": "measures"})


def publish(context: dg.OpExecutionContext, bsc: BscResource, scored: MonthResult) -> Iterator[Any]:
    month = scored["month"]
    if scored["error"] is not None:
        yield dg.Output(scored)
        return
    try:
        outcome = bsc.pipeline().publish(
            month,
            run_id=warehouse_run_id(context.run_id, month),
            backfill_through=scored.get("through"),
        )
    except Exception as exc:
        if not _last_attempt(context, WRITE_RETRY) and not isinstance(exc, REFUSALS):
            raise
        context.log.error(f"{month}: publish failed: {exc}")
        yield dg.Output({**_failed(month, "publish", exc), "held": scored["held"]})
        return
    yield dg.AssetMaterialization(
        PUBLISHED_KEY, partition=month, metadata=_json_metadata(getattr(outcome, "__dict__", {}))
    )
    yield dg.Output({**scored, "phase": "published"})


def warehouse_run_id(dagster_run_id: str, month: str) -> str:
    """The warehouse keeps one `pipeline_run` row (and its files) per run id, so each month of
    a backfill is recorded as `<Dagster run id>/<month>`: distinct, and traceable to the run."""
    return f"{dagster_run_id}/{month}"


def _json_metadata(raw: dict[str, Any]) -> dict[str, Any]:
    simple = (int, float, str, bool)
    return {
        k: v
        if isinstance(v, simple)
        else dg.MetadataValue.json(json.loads(json.dumps(v, default=str)))
        for k, v in raw.items()
        if v is not None
    }


@dg.op(description="Pending alerts delivered once for the whole backfill.")
def deliver_alerts(
    context: dg.OpExecutionContext, bsc: BscResource, published: list[MonthResult]
) -> Iterator[Any]:
    done = sorted(r["month"] for r in published if r["error"] is None)
    if done:
        summary = bsc.pipeline().deliver_alerts()
        metadata = _json_metadata(getattr(summary, "__dict__", {}) or {})
        for month in done:
            yield dg.AssetMaterialization(ALERTS_KEY, partition=month, metadata=metadata)
    yield dg.Output(published)


@dg.op(description="The backfill's outcome per month; fails the run when any month failed.")
def summarize(
    context: dg.OpExecutionContext, staged: list[MonthResult], published: list[MonthResult]
) -> dict[str, list[str]]:
    by_month = {r["month"]: r for r in staged}
    by_month.update({r["month"]: r for r in published})
    summary = backfill_summary(by_month.values())
    context.add_output_metadata({k: dg.MetadataValue.json(v) for k, v in summary.items()})
    if summary["failed"]:
        errors = [
            f"{r['month']} ({r['phase']}): {r['error']}" for r in by_month.values() if r["error"]
        ]
        raise dg.Failure(
            f"{len(summary['failed'])} month(s) failed: " + "; ".join(sorted(errors)),
            metadata={"summary": dg.MetadataValue.json(summary)},
        )
    return summary


def backfill_summary(results: Any) -> dict[str, list[str]]:
    """Months published, published with held measures, and failed."""
    summary: dict[str, list[str]] = {"published": [], "held": [], "failed": []}
    for r in sorted(results, key=lambda r: r["month"]):
        bucket = "failed" if r["error"] else "held" if r["held"] else "published"
        summary[bucket].append(r["month"])
    return summary


def backfill_graph(pool: str = PUBLISH_POOL) -> dg.GraphDefinition:
    """Months in parallel; the publish step of every month in `pool` (one slot per warehouse)."""
    publish_op = dg.op(
        name="publish",
        pool=pool,
        retry_policy=WRITE_RETRY,
        description="The month published in one warehouse transaction; one publisher at a time.",
    )(publish)

    @dg.graph(
        name="backfill_graph",
        description=(
            "Months in parallel: extract and gate every month, then measure, score and publish "
            "every month (one publisher at a time), then deliver alerts once."
        ),
    )
    def graph() -> None:
        staged = plan_months().map(extract_and_stage).collect()
        published = (
            plan_publication(staged).map(lambda m: publish_op(measure_and_score(m))).collect()
        )
        summarize(staged, deliver_alerts(published))

    return graph


def build_backfill_job(
    resources: Mapping[str, Any] | None = None,
    executor_def: dg.ExecutorDefinition | None = dg.multiprocess_executor,
    pool: str = PUBLISH_POOL,
) -> dg.JobDefinition:
    """The backfill job (multiprocess by default; Celery or in-process by `BSC_EXECUTOR`).

    Resources are bound here for a `reconstructable` target, or by `Definitions` otherwise.
    """
    return backfill_graph(pool).to_job(
        name=BACKFILL_JOB,
        executor_def=executor_def or dg.multiprocess_executor,
        resource_defs=dict(resources or {}),
        tags={"bsc/kind": "backfill"},
    )


def backfill_job_from_env(pool: str | None = None) -> dg.JobDefinition:
    """The job with settings from `BSC_*` (a `reconstructable` target: no asset graph, no GX).

    The runner passes its own settings as run config for the `bsc` resource, so the worker
    processes use the same settings as the process that started the backfill; it passes the
    pool of its warehouse too (`dg.build_reconstructable_job` kwargs), for the same reason.
    """
    from bsc_pipeline.defs.executors import (
        executor_from_env,
        executor_name,
        step_output_resources,
    )
    from bsc_pipeline.settings import Settings

    settings = Settings.from_env()
    resources = {
        "bsc": BscResource.from_settings(settings),
        **step_output_resources(executor_name(), str(settings.lake_dir)),
    }
    return build_backfill_job(
        resources,
        executor_from_env(dg.multiprocess_executor),
        pool=pool or publish_pool(settings.warehouse_url),
    )
