"""What the warehouse remembers of past runs: which months were published, from which files.

The lake is a cache; these records say what it should hold, so a lost lake month can be rebuilt
from the landing zone, or held when the landing zone no longer has its files.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.warehouse import schema


def published_months(engine: Engine) -> set[str]:
    """Months with at least one published run (none on a warehouse never migrated)."""
    run = schema.pipeline_run
    if not sa.inspect(engine).has_table(run.name):
        return set()
    query = sa.select(run.c.month).where(run.c.outcome == "published").distinct()
    with engine.connect() as connection:
        return {str(m) for m in connection.execute(query).scalars()}


def published_files(engine: Engine, dataset: str, month: str) -> list[str]:
    """Landing files (relative paths) the latest published run of `month` read for `dataset`."""
    run, files = schema.pipeline_run, schema.pipeline_run_file
    latest = (
        sa.select(run.c.run_id)
        .where(run.c.month == month, run.c.outcome == "published")
        .order_by(run.c.finished_at.desc(), run.c.run_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        sa.select(files.c.file)
        .where(files.c.run_id == latest, files.c.dataset == dataset)
        .order_by(files.c.file)
    )
    with engine.connect() as connection:
        return [str(f) for f in connection.execute(query).scalars()]


def first_published_month(engine: Engine, dataset: str) -> str | None:
    """The earliest month a published run read a landing file of `dataset` (None: never)."""
    run, files = schema.pipeline_run, schema.pipeline_run_file
    if not sa.inspect(engine).has_table(files.name):
        return None
    query = (
        sa.select(sa.func.min(run.c.month))
        .select_from(run.join(files, files.c.run_id == run.c.run_id))
        .where(run.c.outcome == "published", files.c.dataset == dataset)
    )
    with engine.connect() as connection:
        first = connection.execute(query).scalar()
    return None if first is None else str(first)
