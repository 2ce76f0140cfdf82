"""Run months through the real Dagster job from the command line, with progress and a summary."""

from __future__ import annotations

import logging
import os
import signal
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bsc_pipeline.backfill_states import (
    FAILED,
    NOT_REACHED,
    PUBLISHED,
    UNCHANGED,
    month_states,
    recompute_notice,
)
from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.assets import BACKFILL_THROUGH_TAG, HISTORY_WINDOW_MONTHS, publish_pool
from bsc_pipeline.defs.backfill import warehouse_run_id
from bsc_pipeline.defs.executors import (
    executor_name,
    executor_run_config,
    step_output_run_config,
)
from bsc_pipeline.defs.jobs import NIGHTLY_JOB, closed_months, published_months, warehouse_engine
from bsc_pipeline.defs.partitions import monthly_partitions
from bsc_pipeline.defs.resources import BscResource
from bsc_pipeline.defs.stuck_runs import DeadRun, free_dead_holders, holder_tags, watch_run
from bsc_pipeline.failures import explain_error_info, first_line
from bsc_pipeline.lake import Lake
from bsc_pipeline.periods import Month
from bsc_pipeline.settings import PROJECT_ROOT, Settings

BACKFILL_TAG = "bsc/backfill"
DISTRIBUTED = ("multiprocess", "celery")
"""Executors whose steps run outside this process: months go through the reconstructable
backfill job, which their workers load, rather than `execute_in_process`."""


@dataclass
class MonthOutcome:
    month: str
    succeeded: bool
    run_id: str
    held_datasets: list[str] = field(default_factory=list)
    error: str | None = None
    trace: str | None = None
    """The full error chain, shown with `bsc --verbose`."""
    state: str | None = None
    """What the warehouse recorded: published, unchanged, failed or not reached."""


@dataclass
class RunReport:
    outcomes: list[MonthOutcome]
    recomputed: list[MonthOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return all(o.succeeded for o in [*self.outcomes, *self.recomputed])


QUIET_INSTANCE: dict[str, Any] = {"telemetry": {"enabled": False}}
"""Settings of a throwaway instance: no usage statistics, so no telemetry banner either."""


def dagster_instance() -> dg.DagsterInstance:
    """The instance under DAGSTER_HOME when set (runs show in the UI), else a throwaway one."""
    if not os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.ephemeral(settings=QUIET_INSTANCE)
    ensure_instance_config(Path(os.environ["DAGSTER_HOME"]))
    return dg.DagsterInstance.get()


def ensure_instance_config(home: Path) -> None:
    """Give a DAGSTER_HOME without `dagster.yaml` the project's one, as `make install` does.

    Without it Dagster warns about the missing file and prints its telemetry banner on every
    `bsc` run not started through `make`. An existing file is left alone.
    """
    home.mkdir(parents=True, exist_ok=True)
    if (home / "dagster.yaml").exists() or (home / "dagster.yml").exists():
        return
    project = PROJECT_ROOT / "deploy" / "dagster.yaml"
    text = project.read_text(encoding="utf-8") if project.exists() else ""
    quiet = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(text or quiet, encoding="utf-8")


def landed_months(settings: Settings) -> list[str]:
    """Months named by the complete files the landing zone holds, as the readers see them."""
    from bsc_pipeline.sources import load_contracts, load_sources_config
    from bsc_pipeline.sources.landing import scan_landing

    config = load_sources_config(settings.sources_config)
    months = {
        found.month
        for dataset in load_contracts(settings.contracts_path)
        for found in scan_landing(settings.landing_dir, dataset, config)[0]
        if found.month
    }
    return sorted(months)


def run_months(
    months: Sequence[str],
    *,
    console: Console,
    jobs: int = 1,
    settings: Settings | None = None,
    instance: dg.DagsterInstance | None = None,
    backfill: bool = False,
) -> RunReport:
    """Run each month through the nightly job in turn, or as one parallel backfill with
    `jobs > 1` or when `BSC_EXECUTOR` sends steps to other processes (multiprocess, celery).

    With `backfill` the runs are tagged with the newest month, so the alerts of the older months
    are kept as history (the parallel backfill job knows its range itself).
    A failed month does not stop the rest; the summary says which months published, held, failed.
    """
    settings = settings or Settings.from_env()
    check_partitions(settings, months)
    if jobs > 1 or executor_name() in DISTRIBUTED:
        return run_backfill(
            months, console=console, jobs=jobs, settings=settings, instance=instance
        )
    later = months_to_recompute(settings, months) if backfill and months else []
    if backfill and months:
        console.print(recompute_notice(months, later), soft_wrap=True)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    instance = instance or dagster_instance()
    pool = publish_pool(settings.warehouse_url)
    release_dead_runs(instance, pool, settings, console)
    lake = Lake(settings.lake_dir)
    tags = {BACKFILL_THROUGH_TAG: max([*months, *later])} if backfill and months else {}
    outcomes: list[MonthOutcome] = []
    run_ids: dict[str, str] = {}
    interrupted = False
    with (
        _month_progress(console, len(months) + len(later)) as advance,
        interrupt_watch() as interrupt_seen,
    ):
        try:  # Ctrl-C between or within months: the summary below says where it stopped
            for month in [*months, *later]:
                run_id = str(uuid.uuid4())  # known before the run starts, for the watcher
                run_ids[month] = run_id
                with watch_run(instance, run_id, pool, console.print):
                    result = job.execute_in_process(
                        partition_key=month,
                        instance=instance,
                        raise_on_error=False,
                        run_config=console_log_config(),
                        run_id=run_id,
                        tags={**holder_tags(), **tags},
                    )
                if interrupt_seen():  # the warehouse says whether it published before
                    interrupted = True
                    break
                outcome = _outcome(month, result, lake, settings.warehouse_url)
                if not outcome.succeeded:
                    record_failure(settings, outcome)
                outcomes.append(outcome)
                advance(month, _finished(outcome))
        except KeyboardInterrupt:
            interrupted = True
    outcomes = _with_states(settings, [*months, *later], run_ids, outcomes)
    print_summary(console, [o for o in outcomes if o.month not in set(later)])
    redone = [o for o in outcomes if o.month in set(later)]
    if redone:
        _print_recomputed(console, redone)
    if interrupted:
        _print_interrupted(console, outcomes)
    return RunReport(
        [o for o in outcomes if o.month not in set(later)],
        recomputed=redone,
        interrupted=interrupted,
    )


@contextmanager
def interrupt_watch() -> Iterator[Callable[[], bool]]:
    """Whether Ctrl-C (SIGINT) arrived since entering, whoever handled it.

    Dagster turns a SIGINT during a run into a failed step, or loses it in a finaliser, and then
    carries on; the interpreter writes every signal to the wake-up fd before any handler runs,
    so the backfill still stops after the run and says where.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    seen = False

    def interrupted() -> bool:
        nonlocal seen
        try:
            while data := reader.recv(64):
                seen = seen or int(signal.SIGINT) in data
        except BlockingIOError:
            pass
        return seen

    try:
        yield interrupted
    finally:
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()


@contextmanager
def _month_progress(console: Console, total: int) -> Iterator[Callable[[str, str], None]]:
    """A progress bar in a terminal; in a pipe one line per month as it finishes."""
    if not console.is_terminal:
        done = 0

        def line(month: str, what: str) -> None:
            nonlocal done
            done += 1
            console.print(f"{done}/{total} {month}: {what}", soft_wrap=True, highlight=False)

        yield line
        return
    with Progress(*_COLUMNS, console=console, transient=False) as progress:
        task = progress.add_task("months", total=total)

        def advance(month: str, what: str) -> None:
            progress.update(task, description=f"month {month}: {what}")
            progress.advance(task)

        yield advance


def _with_states(
    settings: Settings,
    months: Sequence[str],
    run_ids: Mapping[str, str],
    outcomes: Sequence[MonthOutcome],
) -> list[MonthOutcome]:
    """Each month with the state the warehouse recorded for its run: true after an interrupt,
    when a month's run was cut short or never started. `outcomes` are the months the run
    itself reported on (none after an interrupt of the parallel backfill)."""
    engine = warehouse_engine(settings)
    try:
        states = month_states(engine, run_ids)
    except Exception as exc:  # the warehouse may be what failed: the runs' own word stands
        logging.getLogger(__name__).warning("warehouse not readable: %s", first_line(str(exc)))
        states = {}
    finally:
        engine.dispose()
    known = {o.month: o for o in outcomes}
    result = []
    for month in months:
        state = states.get(month, NOT_REACHED)
        outcome = known.get(month) or MonthOutcome(
            month,
            False,
            run_ids.get(month, ""),
            error="interrupted before it published" if month in run_ids else None,
        )
        if month in known and (not states or state == NOT_REACHED):
            state = PUBLISHED if outcome.succeeded else FAILED  # the run's word: nothing recorded
        outcome.state = state
        if outcome.state in (PUBLISHED, UNCHANGED) and not outcome.succeeded:
            outcome.succeeded, outcome.error = True, None
        result.append(outcome)
    return result


def _finished(outcome: MonthOutcome) -> str:
    if not outcome.succeeded:
        return f"failed: {first_line(outcome.error or 'run failed')}"
    if outcome.held_datasets:
        return f"done, held: {', '.join(outcome.held_datasets)}"
    return "done"


def _print_recomputed(console: Console, redone: Sequence[MonthOutcome]) -> None:
    done = [o.month for o in redone if o.succeeded]
    missed = [o.month for o in redone if not o.succeeded]
    console.print(
        f"Recomputed {len(done)} of {len(redone)} later month(s) whose periods read the range"
        + (f"; [red]not recomputed: {', '.join(missed)}[/]" if missed else ""),
        soft_wrap=True,
    )


def _print_interrupted(console: Console, outcomes: Sequence[MonthOutcome]) -> None:
    left = [o.month for o in outcomes if o.state == NOT_REACHED]
    console.print(
        "[yellow]Interrupted[/]"
        + (
            f": {len(left)} month(s) not reached ({', '.join(left)}); run them again"
            if left
            else ""
        ),
        soft_wrap=True,
    )


class OutsidePartitions(ValueError):
    """A month the Dagster partitions do not have: a usage error, not a failed run."""


def check_partitions(settings: Settings, months: Sequence[str]) -> None:
    """Refuse months before `BSC_PARTITIONS_START` or after the current month."""
    keys = monthly_partitions(settings).get_partition_keys()
    outside = [m for m in months if m not in set(keys)]
    if not outside:
        return
    span = f"{keys[0]} to {keys[-1]}" if keys else "none yet"
    raise OutsidePartitions(
        f"{', '.join(outside)} is outside the partitions ({span}): pick a month in that range, "
        "or set BSC_PARTITIONS_START earlier"
    )


def release_dead_runs(
    instance: dg.DagsterInstance, pool: str, settings: Settings, console: Console
) -> list[DeadRun]:
    """Free the publish slot of runs that died holding it, record them as failed in the
    warehouse, and say so: otherwise this run would wait for them forever."""
    dead = free_dead_holders(instance, pool)
    for run in dead:
        console.print(
            f"[yellow]run {run.run_id[:8]} ({run.partition or 'no month'}) died without "
            f"finishing ({run.why}): marked failed and its publish slot freed[/]",
            soft_wrap=True,
        )
        if run.partition:
            record_failure(
                settings,
                MonthOutcome(run.partition, False, run.run_id, error=f"the run died: {run.why}"),
            )
    return dead


def record_failure(settings: Settings, outcome: MonthOutcome) -> None:
    """Keep the failed run in `pipeline_run` with its error, so `bsc status` shows the failure
    rather than the month's last publication. Best effort: the warehouse may be what failed."""
    from bsc_pipeline.warehouse import make_engine, record_run, upgrade_warehouse

    try:
        engine = make_engine(settings.warehouse_url)
        try:
            upgrade_warehouse(engine)
            record_run(
                engine, outcome.run_id, outcome.month, "failed", error=outcome.error or "failed"
            )
        finally:
            engine.dispose()
    except Exception as exc:  # the cause is already in the outcome
        logging.getLogger(__name__).warning(
            "run %s not recorded in pipeline_run: %s", outcome.run_id, first_line(str(exc))
        )


_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TimeElapsedColumn(),
)
POLL_SECONDS = 0.5
PRELOAD_MODULES = (
    "dagster",
    "pandas",
    "pyarrow.parquet",
    "sqlalchemy",
    "bsc_pipeline.defs.backfill",
    "bsc_pipeline.pipeline",
    "bsc_pipeline.sources",
    "bsc_pipeline.measures",
    "bsc_pipeline.scoring",
    "bsc_pipeline.warehouse",
    "bsc_pipeline.quality.gx_validator",
    # Every extract_and_stage worker would import GX again (about 3 s each).
    "great_expectations",
)
"""Imported once by the forkserver, so each step's worker process starts in well under a second."""


def console_log_config() -> dict[str, Any]:
    """Dagster's console logger at the level the CLI set (`BSC_LOG_LEVEL`); the run's event log
    in the instance keeps everything regardless."""
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def backfill_run_config(
    months: Sequence[str], settings: Settings, jobs: int, recompute: Sequence[str] = ()
) -> dict[str, Any]:
    """Run config of the backfill job: the months, the settings as resource config, parallelism."""
    plan = {"config": {"months": list(months), "recompute": list(recompute)}}
    return {
        **console_log_config(),
        **executor_run_config(
            executor_name(),
            jobs,
            {"start_method": {"forkserver": {"preload_modules": list(PRELOAD_MODULES)}}},
        ),
        "ops": {"plan_months": plan, "plan_publication": plan},
        "resources": {
            "bsc": {"config": BscResource.from_settings(settings).model_dump(exclude_unset=False)},
            **step_output_run_config(executor_name(), str(settings.lake_dir)),
        },
    }


def months_to_recompute(settings: Settings, months: Sequence[str]) -> list[str]:
    """Published, open months after the range whose windows (up to 24 months) read it."""
    last = max(Month.parse(m) for m in months)
    horizon = {str(last.shift(k)) for k in range(1, HISTORY_WINDOW_MONTHS)}
    engine = warehouse_engine(settings)
    try:
        later = (published_months(engine) & horizon) - closed_months(engine)
    finally:
        engine.dispose()
    return sorted(later - set(months))


def ensure_publish_pool(
    instance: dg.DagsterInstance, pool: str, console: Console | None = None
) -> None:
    """Give the warehouse's publish pool one slot unless the instance already limits it."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    if pool in storage.get_concurrency_keys():
        return
    if instance.global_op_concurrency_default_limit is not None:
        return
    storage.set_concurrency_slots(pool, 1)
    if console is not None:
        console.print(f"[dim]Dagster pool {pool} limited to 1 publisher[/]")


def run_backfill(
    months: Sequence[str],
    *,
    console: Console,
    jobs: int,
    settings: Settings,
    instance: dg.DagsterInstance | None = None,
) -> RunReport:
    """One run of the `backfill_months` job (multiprocess or `BSC_EXECUTOR`), with progress."""
    months = sorted({str(Month.parse(m)) for m in months})
    recompute = months_to_recompute(settings, months)
    console.print(recompute_notice(months, recompute), soft_wrap=True)
    interrupted = False
    run_id, status = "", "failure"
    staged: list[dict[str, Any]] = []
    published: list[dict[str, Any]] = []
    with ExitStack() as stack:
        if instance is None:
            instance = stack.enter_context(_persistent_instance(console))
        pool = publish_pool(settings.warehouse_url)
        ensure_publish_pool(instance, pool, console)
        release_dead_runs(instance, pool, settings, console)
        tag = uuid.uuid4().hex
        config = backfill_run_config(months, settings, jobs, recompute)
        # Dagster runs in the main thread, so Ctrl-C stops the worker processes the usual way.
        try:
            with (
                _progress(instance, tag, months, recompute, console),
                interrupt_watch() as interrupt_seen,
            ):
                run_id, status, staged, published = _execute_backfill(instance, config, tag, pool)
                interrupted = interrupt_seen()
        except KeyboardInterrupt:
            interrupted = True
        if not run_id:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: tag}), limit=1)
            run_id = runs[0].run_id if runs else ""
    everything = [*months, *recompute]
    outcomes = (
        [] if interrupted else _backfill_outcomes(everything, staged, published, run_id, status)
    )
    run_ids = {m: warehouse_run_id(run_id, m) for m in everything} if run_id else {}
    outcomes = _with_states(settings, everything, run_ids, outcomes)
    redone = [o for o in outcomes if o.month in set(recompute)]
    outcomes = [o for o in outcomes if o.month not in set(recompute)]
    print_summary(console, outcomes)
    if redone:
        _print_recomputed(console, redone)
    if interrupted:
        _print_interrupted(console, [*outcomes, *redone])
    if run_id:
        console.print(f"Dagster run {run_id}")
    return RunReport(outcomes, recomputed=redone, interrupted=interrupted)


def _execute_backfill(
    instance: dg.DagsterInstance, config: dict[str, Any], tag: str, pool: str
) -> tuple[str, str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Execute the backfill; the run id and status, and each month's result from the outputs."""
    job = dg.build_reconstructable_job(
        "bsc_pipeline.defs.backfill",
        "backfill_job_from_env",
        reconstructable_kwargs={"pool": pool},
    )
    # No heartbeat tag: nothing beats it while the executor runs, so only the process is checked.
    tags = {BACKFILL_TAG: tag, **holder_tags(heartbeat=False)}
    with dg.execute_job(job, instance=instance, run_config=config, tags=tags) as result:
        staged = list(_node_output(result, "extract_and_stage", {}).values())
        published = list(_node_output(result, "deliver_alerts", []))
        return result.run_id, result.dagster_run.status.value.lower(), staged, published


def _node_output(result: Any, node: str, default: Any) -> Any:
    try:
        return result.output_for_node(node)
    except (dg.DagsterInvariantViolationError, dg.DagsterInvalidInvocationError, KeyError):
        return default


@contextmanager
def _persistent_instance(console: Console) -> Iterator[dg.DagsterInstance]:
    """The instance under DAGSTER_HOME, or a temporary one (worker processes need storage)."""
    if os.environ.get("DAGSTER_HOME"):
        ensure_instance_config(Path(os.environ["DAGSTER_HOME"]))
        with dg.DagsterInstance.get() as instance:
            yield instance
        return
    console.print("[dim]DAGSTER_HOME is not set: this backfill's run is kept in a temp folder[/]")
    with (
        tempfile.TemporaryDirectory(prefix="bsc-dagster-") as home,
        dg.DagsterInstance.local_temp(home, overrides=QUIET_INSTANCE) as instance,
    ):
        yield instance


@contextmanager
def _progress(
    instance: dg.DagsterInstance,
    tag: str,
    months: Sequence[str],
    recompute: Sequence[str],
    console: Console,
) -> Iterator[None]:
    """Progress bars fed from the run's step events by a thread while the executor works."""
    stop = threading.Event()
    with Progress(
        *_COLUMNS, console=console, transient=False, disable=not console.is_terminal
    ) as progress:
        staged = progress.add_task("extract + gate", total=len(months))
        published = progress.add_task("measure + publish", total=len(months) + len(recompute))

        said: dict[str, int] = {}

        def refresh() -> None:
            done = _finished_steps(instance, tag)
            progress.update(staged, completed=done.get("extract_and_stage", 0))
            progress.update(published, completed=done.get("publish", 0))
            if not console.is_terminal:  # a pipe: one line each time a count moves
                for step, what, total in (
                    ("extract_and_stage", "extract + gate", len(months)),
                    ("publish", "measure + publish", len(months) + len(recompute)),
                ):
                    if done.get(step, 0) != said.get(step, 0):
                        said[step] = done[step]
                        console.print(f"{what}: {done[step]}/{total} months", highlight=False)

        def poll() -> None:
            while not stop.wait(POLL_SECONDS):
                refresh()

        poller = threading.Thread(target=poll, name="bsc-backfill-progress", daemon=True)
        poller.start()
        try:
            yield
        finally:
            stop.set()
            poller.join()
            refresh()


def _finished_steps(instance: dg.DagsterInstance, tag: str) -> dict[str, int]:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: tag}), limit=1)
    if not runs:
        return {}
    counts: dict[str, int] = {}
    types = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    for record in instance.all_logs(runs[0].run_id, of_type=types):
        step = (record.step_key or "").split("[", 1)[0]
        counts[step] = counts.get(step, 0) + 1
    return counts


def _month_outcome(result: dict[str, Any], run_id: str) -> MonthOutcome:
    return MonthOutcome(
        month=result["month"],
        succeeded=result["error"] is None,
        run_id=run_id,
        held_datasets=sorted(result["held"]),
        error=result["error"],
    )


def _backfill_outcomes(
    months: Sequence[str],
    staged: list[dict[str, Any]],
    published: list[dict[str, Any]],
    run_id: str,
    status: str = "failure",
) -> list[MonthOutcome]:
    """One outcome per month; a month no step reported on failed with the run."""
    by_month = {r["month"]: r for r in staged}
    by_month.update({r["month"]: r for r in published})
    outcomes = []
    for month in months:
        result = by_month.get(month)
        if result is None or (result["error"] is None and result["phase"] != "published"):
            result = {
                "month": month,
                "error": f"not published: the run ended in {status} (Dagster run {run_id})",
                "phase": "run",
                "held": (result or {}).get("held", []),
            }
        outcomes.append(_month_outcome(result, run_id))
    return outcomes


def _outcome(
    month: str, result: dg.ExecuteInProcessResult, lake: Lake, warehouse_url: str | None = None
) -> MonthOutcome:
    held = sorted(d for d in lake.datasets("gate") if _gate_failed(lake, month, d))
    if result.success:
        return MonthOutcome(month, True, result.run_id, held)
    errors: list[tuple[str | None, Any]] = [
        (e.step_key, e.step_failure_data.error)
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.error
    ]
    if not errors:
        # A failure outside any step (the run could not start): the run failure's own error.
        failure = next((e for e in result.all_events if e.is_run_failure), None)
        error = getattr(failure.event_specific_data, "error", None) if failure else None
        if error is not None:
            errors = [(None, error)]
    lines = [
        f"{step}: {explain_error_info(error, warehouse_url)}"
        if step
        else explain_error_info(error, warehouse_url)
        for step, error in errors
    ]
    trace = "\n".join(error.to_string() for _, error in errors) or None
    return MonthOutcome(month, False, result.run_id, held, "; ".join(lines) or "run failed", trace)


def _gate_failed(lake: Lake, month: str, dataset: str) -> bool:
    try:
        return not (lake.read_json("gate", month, dataset) or {}).get("passed", True)
    except Exception:  # a corrupt verdict is reported by the run that reads it
        return False


def print_summary(
    console: Console, outcomes: list[MonthOutcome], *, verbose: bool | None = None
) -> None:
    """One line of counts, then a table of the months that need a look (held, failed or not
    reached). `unchanged`: published again with no value or status moving."""
    reached = [o for o in outcomes if o.state != NOT_REACHED]
    unchanged = sum(o.state == UNCHANGED and not o.held_datasets for o in reached)
    published = sum(o.succeeded and not o.held_datasets for o in reached) - unchanged
    held = sum(o.succeeded and bool(o.held_datasets) for o in reached)
    failed = sum(not o.succeeded for o in reached)
    missed = len(outcomes) - len(reached)
    colour = "red" if failed or missed else "yellow" if held else "green"
    extra = (f", {unchanged} unchanged" if unchanged else "") + (
        f", {missed} not reached" if missed else ""
    )
    console.print(
        f"[{colour}]{published} published, {held} published with held measures, "
        f"{failed} failed{extra}[/]",
        soft_wrap=True,
    )
    attention = [o for o in outcomes if not o.succeeded or o.held_datasets]
    if not attention:
        return
    table = Table()
    for name in ("month", "outcome", "held datasets", "run id", "error"):
        table.add_column(name, overflow="fold")
    for o in attention:
        outcome = (
            "[red]not reached[/]"
            if o.state == NOT_REACHED
            else "[red]failed[/]"
            if not o.succeeded
            else "[yellow]held[/]"
        )
        table.add_row(o.month, outcome, ", ".join(o.held_datasets), o.run_id[:8], o.error or "")
    console.print(table)
    if verbose if verbose is not None else os.environ.get("BSC_VERBOSE") == "1":
        for o in attention:
            if o.trace:
                console.print(f"[dim]{o.month}:[/]", o.trace, markup=False, highlight=False)
    elif any(o.trace for o in attention):
        console.print("[dim]The full error of each failed month: re-run with `bsc --verbose`.[/]")
