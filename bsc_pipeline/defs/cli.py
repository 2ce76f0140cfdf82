"""`bsc worker`: Celery workers that run the steps of runs on `BSC_EXECUTOR=celery`."""

from __future__ import annotations

import os
import sys
import uuid
from typing import Annotated

import typer

from bsc_pipeline.defs.executors import CELERY_QUEUE

app = typer.Typer(no_args_is_help=True)


def worker_command(name: str, concurrency: int, loglevel: str) -> list[str]:
    """The `celery worker` command line for the project's app on dagster-celery's queue."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "bsc_pipeline.defs.celery_app",
        "worker",
        "--queues",
        CELERY_QUEUE,
        "--prefetch-multiplier=1",
        "--concurrency",
        str(concurrency),
        "--hostname",
        f"{name}@%h",
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
    ]


@app.command()
def start(
    name: Annotated[
        str | None, typer.Option(help="Worker name (default bsc-<random>); @host is added.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Steps this worker runs at once.")
    ] = 1,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start a Celery worker in the foreground for runs on `BSC_EXECUTOR=celery`.

    It reads the broker from BSC_CELERY_BROKER (default RabbitMQ on 127.0.0.1:5672) and the
    result backend from BSC_CELERY_BACKEND (default rpc://). Each step it runs opens the
    Dagster instance the run was started with (PostgreSQL when workers are on other machines),
    the lake (BSC_LAKE_DIR) and the warehouse, so give it the same BSC_* environment as the
    code location. Stop it with Ctrl-C: a step in progress is handed back to the broker.
    """
    command = worker_command(name or f"bsc-{uuid.uuid4().hex[:6]}", concurrency, loglevel)
    os.execv(command[0], command)  # noqa: S606 (our own interpreter, fixed arguments)
