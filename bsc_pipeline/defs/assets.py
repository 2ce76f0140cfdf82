"""The monthly assets: landing files → raw → staged (gated) → measures → scorecard → warehouse.

Dagster is only the edge: every asset calls one step of `bsc_pipeline.pipeline.Pipeline`.
"""

import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from bsc_pipeline.defs.resources import BscResource
from bsc_pipeline.quality.gx_validator import GXValidator
from bsc_pipeline.quality.suites import reference_datasets

GATE_CHECK = "gx_gate"
SCORECARD_GROUP = "scorecard"
HISTORY_WINDOW_MONTHS = 24
"""Measures of a month read up to 24 staged months: a trailing twelve months and its prior year."""

READ_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)
WRITE_RETRY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL)
PUBLISH_POOL = "warehouse_publish"
"""Prefix of the publish pools: one pool per warehouse (`publish_pool`), one slot each."""
BACKFILL_THROUGH_TAG = "bsc/backfill_through"
"""Run tag of a month run that is part of a backfill: the backfill's newest month. Alerts of the
older months are recorded as history, so owners hear only about the present."""
EXTRACT_FAIL_AFTER = timedelta(days=35)
EXTRACT_WARN_AFTER = timedelta(days=32)
"""Extracts arrive monthly: a dataset with no new file for 32 days warns, 35 days fails."""


def publish_pool(warehouse_url: str) -> str:
    """The pool of publishers to one warehouse: `warehouse_publish_<hash of its URL>`.

    Runs publishing to different warehouses never wait for each other; the password is not
    part of the hash, so changing it keeps the pool.
    """
    import hashlib

    import sqlalchemy as sa

    url = sa.make_url(warehouse_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(Path(url.database).expanduser().resolve()))
    identity = url.render_as_string(hide_password=True)
    return f"{PUBLISH_POOL}_{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


def landing_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey(f"landing_{dataset}")


def landing_specs(datasets: Mapping[str, str]) -> list[dg.AssetSpec]:
    """The landing folders as external assets, so a source that stops delivering shows overdue."""
    return [
        dg.AssetSpec(
            landing_key(dataset),
            group_name=source,
            kinds={"file"},
            description=(
                f"Files delivered to the landing zone's `{dataset}/` folder. Recorded by the "
                "landing-zone sensor when a complete new file arrives; never modified."
            ),
            freshness_policy=dg.FreshnessPolicy.time_window(
                fail_window=EXTRACT_FAIL_AFTER, warn_window=EXTRACT_WARN_AFTER
            ),
        )
        for dataset, source in datasets.items()
    ]


def raw_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{dataset}")


def staged_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey(f"staged_{dataset}")


def build_raw_asset(
    dataset: str, source: str, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    """Landing files of one dataset and month, parsed to the canonical frame."""

    @dg.asset(
        key=raw_key(dataset),
        deps=[landing_key(dataset)],
        partitions_def=partitions,
        group_name=source,
        kinds={"csv", "pandas"},
        retry_policy=READ_RETRY,
        description=(
            f"`{dataset}` extracts from the landing zone for the month, mapped to the canonical "
            "columns of sources/contracts.yaml; files are recorded by name, size, sha256 and mtime."
        ),
    )
    def _raw(context: dg.AssetExecutionContext, bsc: BscResource) -> dg.MaterializeResult:
        summary = bsc.pipeline().extract(dataset, context.partition_key)
        if not summary.usable:
            context.log.warning(f"{dataset} {context.partition_key} unusable: {summary.reason}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": summary.row_count,
                "usable": summary.usable,
                "reason": summary.reason or "",
                "rejected_rows": summary.rejected_count,
                "files": dg.MetadataValue.json(summary.files),
                "problems": dg.MetadataValue.json(summary.problems[:20]),
            }
        )

    return _raw


def build_staged_asset(
    dataset: str, source: str, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    """Raw rows that passed the quality gate; the gate's verdict is reported as an asset check.

    The check is not blocking on purpose: a failed gate holds only the measures that read this
    dataset (see docs/architecture.md), while the failed check still shows red in the UI.
    """
    deps = [raw_key(dataset), *(raw_key(ref) for ref in reference_datasets(dataset))]

    @dg.asset(
        key=staged_key(dataset),
        partitions_def=partitions,
        group_name=source,
        kinds={"great_expectations", "parquet"},
        deps=deps,
        check_specs=[
            dg.AssetCheckSpec(
                GATE_CHECK,
                asset=staged_key(dataset),
                description=f"Great Expectations suite and row rules for {dataset}",
            )
        ],
        description=(
            f"`{dataset}` rows that passed the quality gate for the month; failing rows are "
            "quarantined with rule and reason."
        ),
    )
    def _staged(
        context: dg.AssetExecutionContext, bsc: BscResource, gx: GXValidator
    ) -> dg.MaterializeResult:
        result = bsc.pipeline().stage(dataset, context.partition_key, validator=gx)
        metadata = result.to_metadata()
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.row_count - result.quarantined_count,
                "quarantined_rows": result.quarantined_count,
                "gate_passed": result.passed,
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=GATE_CHECK,
                    passed=result.passed,
                    severity=dg.AssetCheckSeverity.ERROR
                    if result.severity == "critical"
                    else dg.AssetCheckSeverity.WARN,
                    metadata=_json_safe(metadata),
                    description=result.reason or "all expectations met",
                )
            ],
        )

    return _staged


def build_scorecard_assets(
    datasets: Mapping[str, str], partitions: dg.PartitionsDefinition, pool: str = PUBLISH_POOL
) -> list[dg.AssetsDefinition]:
    """Measures, scoring, publication (one at a time in `pool`) and alert delivery for a month."""
    with warnings.catch_warnings():
        # Beta in Dagster 1.13, and exactly what the first months need (no earlier partitions).
        warnings.simplefilter("ignore", dg.BetaWarning)
        history = dg.TimeWindowPartitionMapping(
            start_offset=-(HISTORY_WINDOW_MONTHS - 1), allow_nonexistent_upstream_partitions=True
        )

    @dg.asset(
        partitions_def=partitions,
        group_name=SCORECARD_GROUP,
        kinds={"pandas"},
        deps=[dg.AssetDep(staged_key(d), partition_mapping=history) for d in datasets],
        description=(
            "Every measure of the spec for the month and the quarter, fiscal year, YTD and "
            "trailing twelve months as of that month: numerator, denominator, value, target and "
            "data state (held when an input failed its gate)."
        ),
    )
    def measure_values(context: dg.AssetExecutionContext, bsc: BscResource) -> dg.MaterializeResult:
        values = bsc.pipeline().compute_measures(context.partition_key)
        states = _counts(values["data_state"])
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(values),
                "data_states": dg.MetadataValue.json(states),
            }
        )

    @dg.asset(
        partitions_def=partitions,
        group_name=SCORECARD_GROUP,
        kinds={"pandas"},
        deps=[measure_values],
        description=(
            "Statuses (green/amber/red/no_data/held), 0–10 scores, balance flags and weighted "
            "roll-ups to objectives, perspectives and the scorecard."
        ),
    )
    def scorecard(context: dg.AssetExecutionContext, bsc: BscResource) -> dg.MaterializeResult:
        scored, rollups = bsc.pipeline().score(context.partition_key)
        monthly = scored[(scored["period_type"] == "month") & scored["status"].notna()]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(scored),
                "month_statuses": dg.MetadataValue.json(_counts(monthly["status"])),
                "rollup_rows": len(rollups),
            }
        )

    @dg.asset(
        partitions_def=partitions,
        group_name=SCORECARD_GROUP,
        kinds={"sqlite", "postgres"},
        deps=[scorecard],
        retry_policy=WRITE_RETRY,
        pool=pool,
        description=(
            "The month published to the warehouse in one transaction: facts, value history "
            "(each change with its reason and definition version), run lineage, gate results, "
            "quarantine and the alert outbox. Read it through the view v_scorecard_monthly."
        ),
    )
    def published_scorecard(
        context: dg.AssetExecutionContext, bsc: BscResource
    ) -> dg.MaterializeResult:
        from bsc_pipeline.warehouse import PeriodClosedError

        record = context.instance.get_run_record_by_id(context.run_id)
        started = record.start_time if record is not None else None
        try:
            outcome = bsc.pipeline().publish(
                context.partition_key,
                run_id=context.run_id,
                started_at=datetime.fromtimestamp(started, tz=UTC) if started else None,
                backfill_through=context.run.tags.get(BACKFILL_THROUGH_TAG),
            )
        except PeriodClosedError as exc:
            # Retrying cannot help: finance must reopen the month first.
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        return dg.MaterializeResult(metadata=_json_safe(_outcome_metadata(outcome)))

    @dg.asset(
        partitions_def=partitions,
        group_name=SCORECARD_GROUP,
        kinds={"email"},
        deps=[published_scorecard],
        description="Pending alert events delivered to their owners (email, Slack, webhook).",
    )
    def alert_delivery(context: dg.AssetExecutionContext, bsc: BscResource) -> dg.MaterializeResult:
        summary = bsc.pipeline().deliver_alerts()
        return dg.MaterializeResult(metadata=_json_safe(_outcome_metadata(summary)))

    return [measure_values, scorecard, published_scorecard, alert_delivery]


def _counts(column: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in column.value_counts().items()}


def _outcome_metadata(outcome: Any) -> dict[str, Any]:
    raw = outcome.__dict__ if hasattr(outcome, "__dict__") else dict(outcome or {})
    return {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in raw.items()
        if isinstance(v, (int, float, str, bool, list, dict, tuple))
    }


def _json_safe(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Dagster metadata values: lists and dicts wrapped as JSON, the rest as they are."""
    return {
        key: dg.MetadataValue.json(value) if isinstance(value, (list, dict)) else value
        for key, value in metadata.items()
    }


def iter_dataset_assets(
    datasets: Mapping[str, str], partitions: dg.PartitionsDefinition
) -> Iterator[dg.AssetsDefinition]:
    for dataset, source in datasets.items():
        yield build_raw_asset(dataset, source, partitions)
        yield build_staged_asset(dataset, source, partitions)
