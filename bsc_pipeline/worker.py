"""`bsc worker`: Celery workers that run the steps of runs on `BSC_EXECUTOR=celery`.

No Dagster import here, so `bsc` starts quickly: the command replaces itself with `celery worker`
on `bsc_pipeline.defs.celery_app`, which loads Dagster in the worker.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import Annotated

import typer

CELERY_QUEUE = "dagster"
"""The queue workers listen on and the Celery executor sends steps to (dagster-celery's)."""

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


START_HELP = (
    "Start a Celery worker in the foreground for runs on BSC_EXECUTOR=celery.\n\n"
    "Broker from BSC_CELERY_BROKER (default RabbitMQ on 127.0.0.1:5672), result backend from "
    "BSC_CELERY_BACKEND (default rpc://). Each step opens the Dagster instance its run was "
    "started with (PostgreSQL when workers are on other machines), the lake (BSC_LAKE_DIR) and "
    "the warehouse: give the worker the same BSC_* environment as the code location.\n\n"
    "Ctrl-C lets the step in progress finish, then stops; a second Ctrl-C (or a killed "
    "worker) stops at once and the broker hands that step to another worker."
)


@app.command(help=START_HELP)
def start(
    name: Annotated[
        str | None, typer.Option(help="Worker name (default bsc-<random>); @host is added.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Steps this worker runs at once.")
    ] = 1,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Replace this process with `celery worker` on the project's app (see START_HELP)."""
    command = worker_command(name or f"bsc-{uuid.uuid4().hex[:6]}", concurrency, loglevel)
    os.execv(command[0], command)  # noqa: S606 (our own interpreter, fixed arguments)
