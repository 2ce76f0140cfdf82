"""Months per hour of a backfill on 1, 2 and 4 Celery workers (`bsc worker start`).

    BSC_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        python -m benchmarks.celery_capacity --workers 1 2 4 --months 6 --scale 0.2

Each measurement: demo extracts generated once, a fresh RabbitMQ vhost, a fresh PostgreSQL
database for the Dagster instance, a fresh local lake and SQLite warehouse, N workers with one
step each, then one `run_months(..., jobs=N)` on `BSC_EXECUTOR=celery`, timed end to end (run
start, staging every month, publishing one month at a time, alerts). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from benchmarks.backfill import settings_env
from benchmarks.workload import bench_settings, generated, history_months
from bsc_pipeline.periods import Month
from bsc_pipeline.settings import PROJECT_ROOT


@contextmanager
def vhost() -> Iterator[str]:
    name = f"bsc-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "add_vhost", name], check=True, capture_output=True)
    try:
        subprocess.run(
            ["rabbitmqctl", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
        )
        yield f"pyamqp://guest:guest@127.0.0.1:5672/{name}"
    finally:
        subprocess.run(["rabbitmqctl", "delete_vhost", name], check=False, capture_output=True)


@contextmanager
def dagster_database(server_url: str) -> Iterator[str]:
    name = f"bsc_bench_{uuid.uuid4().hex[:8]}"
    server = sa.make_url(server_url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(drivername="postgresql+psycopg2", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def workers(count: int, env: dict[str, str], logs: Path) -> Iterator[None]:
    bsc = Path(sys.executable).parent / "bsc"
    started = []
    try:
        for index in range(count):
            log = logs / f"worker{index}.log"
            with log.open("wb") as out:
                started.append(
                    (
                        subprocess.Popen(
                            [str(bsc), "worker", "start", "--name", f"bench{index}"],
                            env=env,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        ),
                        log,
                    )
                )
        for process, log in started:
            deadline = time.monotonic() + 300
            while " ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield
    finally:
        for process, _ in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in started:
            process.wait(timeout=120)


def measure(count: int, months: list[str], landing: Path, work: Path, pg: str) -> float:
    """Seconds for one backfill of `months` on `count` workers."""
    import dagster as dg
    from rich.console import Console

    from bsc_pipeline.runner import run_months

    run_dir = work / f"workers{count}"
    home = run_dir / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml.postgres", home / "dagster.yaml")
    settings = bench_settings(landing, run_dir / "lake", run_dir / "warehouse.db", months[0])
    with vhost() as broker, dagster_database(pg) as database:
        env = {
            **settings_env(settings),
            "BSC_EXECUTOR": "celery",
            "BSC_CELERY_BROKER": broker,
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": database,
        }
        os.environ.update(env)
        with workers(count, {**os.environ}, run_dir), dg.DagsterInstance.get() as instance:
            started = time.perf_counter()
            report = run_months(
                months,
                console=Console(file=io.StringIO()),
                jobs=count,
                settings=settings,
                instance=instance,
            )
            seconds = time.perf_counter() - started
    if not report.ok:
        raise RuntimeError(f"backfill on {count} workers failed: {report.outcomes}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--end", default="2026-06")
    args = parser.parse_args()
    pg = os.environ.get("BSC_TEST_POSTGRES_URL")
    if not pg:
        raise SystemExit("set BSC_TEST_POSTGRES_URL: the Dagster instance is on PostgreSQL")
    first = str(Month.parse(args.end).shift(-(args.months - 1)))
    months = history_months(args.end, first)
    with tempfile.TemporaryDirectory(prefix="bsc-celery-bench-") as tmp:
        work = Path(tmp)
        landing = generated(work, scale=args.scale, seed=7, months=args.months, end=args.end)
        load = os.getloadavg()[0]
        print(
            f"{len(months)} months at scale {args.scale}, {os.cpu_count()} cores, load {load:.1f}"
        )
        print("| workers | seconds | months per hour |")
        print("| --- | --- | --- |")
        for count in args.workers:
            seconds = measure(count, months, landing, work, pg)
            print(f"| {count} | {seconds:.0f} | {len(months) / seconds * 3600:.0f} |", flush=True)


if __name__ == "__main__":
    main()
