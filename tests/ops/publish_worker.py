"""Child process: publish one month of the tiny company through `Pipeline.publish`.

Usage: publish_worker.py SETTINGS_JSON MONTH RUN_ID RELEASE REPORT. REPORT gets the time of each
event as it happens: `started` just before publishing, `locking` just before the statement that
takes the publish lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock), `locked` once it
returns, `finished` after. With RELEASE (a path; `-` for none) the worker writes `holding` once
every row of its run is written but not committed, and waits for RELEASE to exist before COMMIT
(`committing`), so the parent can start a second publisher of the same month meanwhile.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.settings import Settings

HANG_BOUND = 600.0
"""Seconds to wait for RELEASE before giving up (rolling back): only bounds a lost parent."""

LOCK_STATEMENTS = ("BEGIN IMMEDIATE", "pg_advisory_xact_lock")


def _settings(text: str) -> Settings:
    """Settings travel as text: paths and whole numbers (`close_day`, day counts) are typed back."""
    raw = json.loads(text)
    paths = ("_dir", "_path", "_config")
    numbers = {f.name for f in fields(Settings) if f.type in (int, "int")}
    return Settings(
        **{
            k: Path(v) if k.endswith(paths) else int(v) if k in numbers else v
            for k, v in raw.items()
        }
    )


def main(settings_json: str, month: str, run_id: str, release: str, report: Path) -> None:
    pipeline = Pipeline(_settings(settings_json))
    engine = pipeline.engine
    events: dict[str, float] = {}

    def note(name: str) -> None:
        events.setdefault(name, time.time())
        report.write_text(json.dumps(events))

    def takes_the_lock(statement: str) -> bool:
        return "started" in events and any(s in statement for s in LOCK_STATEMENTS)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if takes_the_lock(statement):
            note("locking")

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if takes_the_lock(statement):
            note("locked")

    @sa.event.listens_for(engine, "commit")
    def _hold_before_commit(connection: sa.Connection) -> None:
        mine = connection.execute(
            sa.text("SELECT count(*) FROM pipeline_run WHERE run_id = :run"), {"run": run_id}
        ).scalar()
        if release != "-" and mine and "holding" not in events:
            note("holding")
            deadline = time.monotonic() + HANG_BOUND
            while not Path(release).exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no release within {HANG_BOUND} s: rolled back")
                time.sleep(0.05)
            note("committing")

    note("started")
    pipeline.publish(month, run_id=run_id)
    note("finished")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], Path(sys.argv[5]))
