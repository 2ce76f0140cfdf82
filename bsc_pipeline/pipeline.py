"""One month end to end in plain Python: the steps the Dagster assets call.

Each step reads what the previous one left in the lake and writes its own layer there, so any step
can be re-run alone and only `publish` touches the warehouse (in one transaction).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy.engine import Engine

from bsc_pipeline.frames import UPDATES_DATASET
from bsc_pipeline.lake import Lake
from bsc_pipeline.periods import Month
from bsc_pipeline.quality.gate import QUARANTINE_COLUMNS
from bsc_pipeline.settings import Settings
from bsc_pipeline.spec.loader import load_spec
from bsc_pipeline.spec.models import Spec

if TYPE_CHECKING:
    from bsc_pipeline.quality.starts import SourceStart
    from bsc_pipeline.rebuild import LakeRebuild

VOLUME_HISTORY_MONTHS = 6


@dataclass
class ExtractSummary:
    dataset: str
    month: str
    usable: bool
    reason: str | None
    row_count: int
    rejected_count: int
    files: list[dict[str, Any]]
    problems: list[dict[str, Any]]


class Pipeline:
    """The steps of a monthly run, bound to one set of settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lake = Lake(settings.lake_dir)

    @cached_property
    def spec(self) -> Spec:
        return load_spec(self.settings.spec_path)

    @cached_property
    def contracts(self) -> dict[str, Any]:
        from bsc_pipeline.sources import load_contracts

        return load_contracts(self.settings.contracts_path)

    @cached_property
    def engine(self) -> Engine:
        from bsc_pipeline.warehouse import make_engine, upgrade_warehouse

        upgrade_warehouse(self.settings.warehouse_url)
        return make_engine(self.settings.warehouse_url)

    @cached_property
    def reader(self) -> Engine:
        """The warehouse for reading only (decisions, past runs), without migrating it."""
        from bsc_pipeline.warehouse import make_engine

        return make_engine(self.settings.warehouse_url)

    def rebuild(self) -> LakeRebuild:
        """Earlier months the lake lost, rebuilt from the landing zone, for one step's reads.

        One per step: the warehouse's record of published months is read fresh by each step.
        """
        from bsc_pipeline.rebuild import LakeRebuild

        return LakeRebuild(self, self.reader)

    @property
    def datasets(self) -> list[str]:
        return list(self.contracts)

    def _parsed_dir(self, folder: str) -> Path | None:
        """Where parsed multi-month files are shared between processes: a local lake's folder;
        on object storage each process keeps its own in memory (a Parquet folder per file
        would cost more requests than parsing saves)."""
        root = self.lake.root
        return root / folder if isinstance(root, Path) else None

    def extract(self, dataset: str, month: str) -> ExtractSummary:
        """Read the landing zone for one dataset and month into the raw layer."""
        from bsc_pipeline.sources import read_dataset
        from bsc_pipeline.sources.parsed import PARSED_FOLDER

        read = read_dataset(
            dataset,
            month,
            landing_dir=self.settings.landing_dir,
            contracts=self.contracts,
            sources_config=self.settings.sources_config,
            parsed_dir=self._parsed_dir(PARSED_FOLDER),
        )
        summary = ExtractSummary(
            dataset=dataset,
            month=month,
            usable=read.usable,
            reason=read.reason,
            row_count=len(read.frame),
            rejected_count=len(read.rejected),
            files=[_json_dict(f) for f in read.files],
            problems=[_json_dict(p) for p in read.problems],
        )
        self.lake.write_frame(read.frame, "raw", month, dataset)
        self.lake.write_frame(
            _rejected_as_quarantine(read.rejected, dataset, month),
            "raw",
            f"{month}.rejected",
            dataset,
        )
        self.lake.write_json(summary.__dict__, "raw", month, dataset)
        return summary

    def stage(self, dataset: str, month: str, validator: Any = None) -> Any:
        """Gate the raw rows: staged rows, quarantined rows and the verdict go to the lake.

        The verdict, with any accept/reject decision a person recorded for the month applied, is
        what decides whether the measures reading this dataset-month publish or are held.
        """
        from bsc_pipeline.quality.decisions import apply_decision, latest_decision
        from bsc_pipeline.quality.gate import GateContext, failed_gate, run_gate
        from bsc_pipeline.quality.starts import not_started_gate
        from bsc_pipeline.quality.suites import reference_datasets

        meta = self.lake.read_json("raw", month, dataset)
        raw = self.lake.read_frame("raw", month, dataset)
        rejected = self.lake.read_frame("raw", f"{month}.rejected", dataset)
        start = self.source_start(dataset)
        if start is not None and not start.started(month):
            outcome = not_started_gate(month, start, raw)
        elif meta is None or raw is None:
            outcome = failed_gate(dataset, month, f"{dataset} {month} was never extracted")
        elif not meta["usable"]:
            outcome = failed_gate(dataset, month, meta["reason"] or "extract unusable", raw)
        elif dataset == UPDATES_DATASET:
            from bsc_pipeline.updates.gate import gate_updates

            outcome = gate_updates(month, raw, self.spec)
        else:
            rebuild = self.rebuild()
            context = GateContext(
                references={
                    ref: self._reference(ref, month, rebuild) for ref in reference_datasets(dataset)
                },
                recent_volumes=self._recent_volumes(dataset, month, rebuild),
                files_read=len(meta.get("files", [])),
            )
            outcome = run_gate(
                dataset,
                month,
                raw,
                context=context,
                validator=validator,
                contracts_path=self.settings.contracts_path,
            )
        result = apply_decision(outcome.result, latest_decision(self.reader, dataset, month))
        quarantine = _stack([rejected, outcome.quarantine], QUARANTINE_COLUMNS)
        self.lake.write_frame(outcome.staged, "staged", month, dataset)
        self.lake.write_frame(quarantine, "quarantine", month, dataset)
        self.lake.write_json(result.to_dict(), "gate", month, dataset)
        return result

    def source_start(self, dataset: str) -> SourceStart | None:
        """The dataset's first month: declared in its contract, or its first delivery (read
        afresh: a source that starts delivering is seen by the next run).

        A snapshot starts only where declared: its first file also serves the months before it
        (the newest file when none is that old), so they are not missing anything.
        """
        from bsc_pipeline.quality.starts import landing_months, source_start
        from bsc_pipeline.warehouse.run_files import first_published_month

        contract = self.contracts[dataset]
        if contract.starts is not None or contract.mode == "snapshot":
            return source_start(dataset, declared=contract.starts, delivered=[])
        delivered = landing_months(self.settings.landing_dir, dataset, self.settings.sources_config)
        return source_start(
            dataset,
            declared=None,
            delivered=[*delivered, first_published_month(self.reader, dataset)],
        )

    def compute_measures(self, month: str) -> pd.DataFrame:
        """Every measure of the spec for every period type as of `month`."""
        from bsc_pipeline.measures import TargetBook, compute_measure_values
        from bsc_pipeline.measures.dependencies import columns_read
        from bsc_pipeline.spec.loader import resolve_targets_file

        loader = LakeFrameLoader(
            self.lake,
            self.contracts,
            columns=columns_read(self.spec, self.contracts),
            rebuild=self.rebuild().staged,
            starts={d: start for d in self.datasets if (start := self.source_start(d))},
        )
        targets = TargetBook.from_spec(
            self.spec, resolve_targets_file(self.settings.spec_path, self.spec)
        )
        values = compute_measure_values(
            self.spec, month, loader, contracts=self.contracts, targets=targets
        )
        self.lake.write_frame(values, "measures", month)
        return values

    def score(self, month: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Statuses, scores, balance flags and roll-ups of the month's measure values."""
        from bsc_pipeline.scoring import balance_flags, roll_up, score_measures

        values = self._require("measures", month)
        scored = balance_flags(self.spec, score_measures(self.spec, values))
        rollups = roll_up(self.spec, scored)
        self.lake.write_frame(scored, "scorecard", month)
        self.lake.write_frame(rollups, "rollups", month)
        return scored, rollups

    def publish(
        self,
        month: str,
        run_id: str,
        restatement_reason: str | None = None,
        started_at: datetime | None = None,
        backfill_through: str | None = None,
        today: date | None = None,
    ) -> Any:
        """Publish the month in one warehouse transaction, with its alert outbox rows.

        `backfill_through` is the newest month of the backfill this run is part of: its older
        months are history to the alerts. `today` replaces the wall-clock date (for tests).
        """
        from bsc_pipeline.alerts.outbox import outbox_rows
        from bsc_pipeline.alerts.published import plan_month
        from bsc_pipeline.quality.persistence import dq_result_frame
        from bsc_pipeline.warehouse import publish_month, reopen_reason

        scored = self._require("scorecard", month)
        # A month reopened after its close is a restatement: alerts say so.
        restating = restatement_reason or reopen_reason(self.engine, month)
        events = plan_month(
            self.engine,
            self.spec,
            scored,
            month=month,
            run_id=run_id,
            is_restatement=restating is not None,
            present=self._present(backfill_through, today),
        )
        decisions = self._decisions(month)
        updates = self._updates(month)
        _attach_commentary(events, updates)
        outcome = publish_month(
            self.engine,
            month,
            run_id=run_id,
            measures=scored,
            rollups=self._require("rollups", month),
            spec=self.spec,
            files=self._files_read(month),
            gate_results=dq_result_frame(self._gate_results(month), run_id),
            quarantine=self._quarantine(month),
            alert_events=outbox_rows(events),
            decisions=decisions,
            released_holds=[d["dataset"] for d in decisions if d["decision"] == "accept"],
            restatement_reason=restatement_reason,
            link_health=self._link_health(month, scored),
            started_at=started_at,
            definitions=self.definitions,
            updates=updates,
        )
        self.remind_commentary()
        return outcome

    @cached_property
    def definitions(self) -> dict[str, Any]:
        """Each measure's resolved definition and version, with the spec file's git commit."""
        from bsc_pipeline.spec.loader import resolve_targets_file
        from bsc_pipeline.trust.definitions import measure_definitions

        return measure_definitions(
            self.spec,
            spec_path=self.settings.spec_path,
            targets_file=resolve_targets_file(self.settings.spec_path, self.spec),
        )

    def _present(self, backfill_through: str | None, today: date | None) -> Any:
        """What "now" is to the alerts of this publication: the run's date, or the one given."""
        from bsc_pipeline.alerts.recency import Present

        max_age = self.settings.alert_max_age_days
        if today is None:
            return Present.wall_clock(self.settings.timezone, max_age, backfill_through)
        return Present(today, max_age, backfill_through)

    def _link_health(self, month: str, scored: pd.DataFrame) -> pd.DataFrame:
        """Link health as of `month`: published monthly history, this month as just scored.

        A held measure keeps this month's published value, as publishing itself does.
        """
        from bsc_pipeline.scoring import link_health
        from bsc_pipeline.warehouse import read_monthly_history

        current = scored.loc[
            (scored["period_type"] == "month")
            & (scored["period"] == month)
            & (scored["data_state"] != "held"),
            ["measure_id", "period", "value"],
        ]
        published = read_monthly_history(self.engine, month)
        replaced = (published["period"] == month) & published["measure_id"].isin(
            current["measure_id"]
        )
        history = pd.concat([published[~replaced], current], ignore_index=True)
        return link_health(self.spec, history).assign(as_of_month=month)

    def deliver_alerts(self, now: datetime | None = None) -> Any:
        """Queue commentary reminders now due, then send what the outbox holds; failures stay
        pending for the next attempt. `now` replaces the wall clock (for tests)."""
        from bsc_pipeline.alerts.delivery import deliver_pending

        self.remind_commentary(now)
        return deliver_pending(self.engine, self.spec)

    def remind_commentary(self, now: datetime | None = None) -> list[Any]:
        """Queue one reminder per red measure still without commentary after the allowed days."""
        from bsc_pipeline.updates.reminders import queue_reminders

        return queue_reminders(
            self.engine,
            self.spec,
            now=now or datetime.now(UTC),
            days=self.settings.commentary_days,
        )

    def closed_months(self) -> set[str]:
        """Months finance has closed: runs leave them alone unless reopened."""
        from bsc_pipeline.warehouse import closed_months

        return closed_months(self.engine)

    def _require(self, layer: str, month: str) -> pd.DataFrame:
        frame = self.lake.read_frame(layer, month)
        if frame is None:
            raise FileNotFoundError(
                f"{layer} for {month} is not in the lake ({self.lake.path(layer, month)}); "
                "materialize the upstream assets for that month first"
            )
        return frame

    def _reference(self, dataset: str, month: str, rebuild: LakeRebuild) -> pd.DataFrame | None:
        """Only the columns other datasets point at (a large month has 1.5 M accounts)."""
        from bsc_pipeline.quality.suites import REFERENCE_SOURCES

        columns = sorted(
            {column for source, column in REFERENCE_SOURCES.values() if source == dataset}
        )
        rebuild.raw_meta(dataset, month)
        return self.lake.read_frame("raw", month, dataset, columns=columns or None)

    def _recent_volumes(self, dataset: str, month: str, rebuild: LakeRebuild) -> list[int | None]:
        """Row counts of the months before, newest first; None for a month without a file.

        A month the lake lost is extracted again, so the baseline does not depend on the cache.
        """
        this = Month.parse(month)
        window = max(VOLUME_HISTORY_MONTHS, self.contracts[dataset].completeness.baseline_months)
        volumes: list[int | None] = []
        start = self.source_start(dataset)
        for back in range(1, window + 1):
            earlier = str(this.shift(-back))
            if start is not None and not start.started(earlier):
                volumes.append(None)  # not started: no baseline month, never a 0
                continue
            meta = rebuild.raw_meta(dataset, earlier) or {}
            delivered = meta.get("usable") and meta.get("files")
            volumes.append(int(meta["row_count"]) if delivered else None)
        return volumes

    def _decisions(self, month: str) -> list[dict[str, Any]]:
        """Decisions the month's gate verdicts applied, for the run to record as consumed."""
        return [
            {**gate["decision"], "dataset": dataset}
            for dataset in self.datasets
            if (gate := self.lake.read_json("gate", month, dataset)) and gate.get("decision")
        ]

    def _files_read(self, month: str) -> list[dict[str, Any]]:
        files = []
        for dataset in self.datasets:
            meta = self.lake.read_json("raw", month, dataset)
            for f in (meta or {}).get("files", []):
                files.append({"dataset": dataset, "file": f["path"], **f})
        return files

    def _updates(self, month: str) -> list[dict[str, Any]]:
        """The month's staged update rows with their files' identities, to store as versions."""
        from bsc_pipeline.updates.storage import update_rows

        if UPDATES_DATASET not in self.contracts:
            return []
        files = [f for f in self._files_read(month) if f["dataset"] == UPDATES_DATASET]
        rows = update_rows(self.lake.read_frame("staged", month, UPDATES_DATASET), files)
        # Staged under another spec, a row may name a measure this one lacks: not ours to keep.
        known = {m.id for m in self.spec.measures}
        return [row for row in rows if row["measure_id"] in known]

    def _gate_results(self, month: str) -> list[dict[str, Any]]:
        return [
            g for d in self.datasets if (g := self.lake.read_json("gate", month, d)) is not None
        ]

    def _quarantine(self, month: str) -> pd.DataFrame:
        frames = [self.lake.read_frame("quarantine", month, d) for d in self.datasets]
        return _stack(frames, QUARANTINE_COLUMNS)


class LakeFrameLoader:
    """Staged rows from the lake, as the measure engine asks for them (cached per month)."""

    def __init__(
        self,
        lake: Lake,
        contracts: dict[str, Any],
        columns: Mapping[str, Sequence[str]] | None = None,
        rebuild: Callable[[str, str], str | None] | None = None,
        starts: Mapping[str, SourceStart] | None = None,
    ) -> None:
        """`rebuild(dataset, month)` restores a month the lake lost, or says why it cannot;
        `starts` gives each dataset's first month (earlier months are not started)."""
        self.lake = lake
        self.contracts = contracts
        self.columns = dict(columns or {})
        self.rebuild = rebuild
        self.starts = dict(starts or {})
        self._cache: dict[tuple[str, str], pd.DataFrame | None] = {}
        self._lost: dict[tuple[str, str], str | None] = {}

    def _restore(self, dataset: str, month: str) -> str | None:
        """Why the month is lost for good (None: it is in the lake, or was never published)."""
        key = (dataset, month)
        if key not in self._lost:
            self._lost[key] = self.rebuild(dataset, month) if self.rebuild else None
        return self._lost[key]

    def _month(self, dataset: str, month: str) -> pd.DataFrame | None:
        key = (dataset, month)
        if key not in self._cache:
            self._restore(dataset, month)
            wanted = self.columns.get(dataset)
            self._cache[key] = self.lake.read_frame(
                "staged", month, dataset, columns=list(wanted) if wanted else None
            )
        return self._cache[key]

    def load(self, dataset: str, months: Sequence[str]) -> pd.DataFrame | None:
        contract = self.contracts[dataset]
        if _mode(contract) == "snapshot":
            self._restore(dataset, max(months))
            available = [m for m in self.lake.months("staged", dataset) if m <= max(months)]
            return self._month(dataset, available[-1]) if available else None
        frames = [f for m in sorted(months) if (f := self._month(dataset, m)) is not None]
        if not frames:
            return None
        rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if _mode(contract) == "incremental" and len(frames) > 1:
            version = _attr(contract, "version_column")
            if version and version in rows.columns:
                rows = rows.sort_values(version, kind="stable")
            rows = rows.drop_duplicates(subset=list(_attr(contract, "keys")), keep="last")
        return rows

    def not_started(self, dataset: str, month: str) -> str | None:
        start = self.starts.get(dataset)
        return None if start is None or start.started(month) else start.note

    def has_month(self, dataset: str, month: str) -> bool:
        self._restore(dataset, month)
        return self.lake.path("staged", month, dataset).exists()

    def gate_failure(self, dataset: str, month: str) -> str | None:
        lost = self._restore(dataset, month)
        if lost is not None:
            return lost
        gate = self.lake.read_json("gate", month, dataset)
        if gate is None or gate.get("passed"):
            return None
        return str(gate.get("reason") or f"{dataset} failed its quality gate for {month}")


def _attr(contract: Any, name: str) -> Any:
    return contract[name] if isinstance(contract, dict) else getattr(contract, name)


def _mode(contract: Any) -> str:
    return str(_attr(contract, "mode"))


def _json_dict(record: Any) -> dict[str, Any]:
    """A dataclass as plain JSON types, for the lake's sidecar files."""
    return json.loads(json.dumps(record.__dict__, default=str))


def _stack(frames: Sequence[pd.DataFrame | None], columns: list[str]) -> pd.DataFrame:
    """The non-empty frames one under the other; an empty frame of `columns` when there are none."""
    present = [f for f in frames if f is not None and len(f)]
    if not present:
        return pd.DataFrame(columns=columns)
    return pd.concat(present, ignore_index=True) if len(present) > 1 else present[0]


def _attach_commentary(events: Sequence[Any], updates: Sequence[Mapping[str, Any]]) -> None:
    """Put the owner's commentary of the month under its measure in the alert digest."""
    from bsc_pipeline.warehouse.readings import commentary_line

    said = {
        (u["measure_id"], u["period"]): commentary_line(u["analysis"], u["recommendation"])
        for u in updates
    }
    for event in events:
        text = said.get((event.measure_id, event.period))
        if text:
            event.payload["commentary"] = text


def _rejected_as_quarantine(rejected: pd.DataFrame, dataset: str, month: str) -> pd.DataFrame:
    """Rows the reader could not parse, in the quarantine layout (rule `parse`)."""
    if rejected is None or rejected.empty:
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)
    frame = pd.DataFrame(
        {
            "dataset": dataset,
            "month": month,
            "file": rejected["file"].astype(str),
            "line": rejected["line"].astype("int64"),
            "rule": "parse",
            "reason": rejected["reason"].astype(str),
            "raw": rejected["raw"].astype(str),
        }
    )
    return frame[QUARANTINE_COLUMNS]
