"""The Celery app the workers run (`bsc worker start`): dagster-celery's step task, configured
from the environment exactly as the executor is (`bsc_pipeline.defs.executors`).

Building the app here, rather than with `dagster-celery worker start -y`, keeps the broker URL
out of files: dagster-celery's CLI writes the URL, password included, into a module under
`$DAGSTER_HOME`.
"""

from __future__ import annotations

import os

from celery import Celery
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from bsc_pipeline.defs.executors import CELERY_SETTINGS, DEFAULT_BACKEND, DEFAULT_BROKER


def worker_app() -> Celery:
    """The app with the broker and backend the executor uses, and the shared Celery settings.

    `BSC_CELERY_INCLUDE` names extra modules (comma-separated) every worker imports at start,
    e.g. a site's logging set-up, or the tests' hook that holds a step until a worker is killed.
    """
    executor = CeleryExecutor.for_cli(
        broker=os.environ.get("BSC_CELERY_BROKER") or DEFAULT_BROKER,
        backend=os.environ.get("BSC_CELERY_BACKEND") or DEFAULT_BACKEND,
        config_source=dict(CELERY_SETTINGS),
        include=[m.strip() for m in os.environ.get("BSC_CELERY_INCLUDE", "").split(",") if m],
    )
    app: Celery = make_app(executor.app_args())
    return app


app = worker_app()
execute_plan = create_task(app)
