"""`bsc` for a test that kills a run while it publishes.

Usage: paused_bsc.py MARKER BSC-ARGS... Runs the real `bsc` command line in this process; when
the publish transaction (the one that writes `fact_measure_period`) is about to COMMIT, it
writes MARKER and stops there, holding the warehouse lock and the publish slot, until the test
kills it. Nothing in the package knows about this pause.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

MARKER = Path(sys.argv[1])


@sa.event.listens_for(Engine, "before_cursor_execute")
def _notice_publishing(conn: sa.Connection, cursor: Any, statement: str, *args: Any) -> None:
    if statement.lstrip().upper().startswith("INSERT INTO FACT_MEASURE_PERIOD"):
        conn.info["publishing"] = True


@sa.event.listens_for(Engine, "commit")
def _pause_before_commit(conn: sa.Connection) -> None:
    if conn.info.pop("publishing", False):
        MARKER.write_text(str(os.getpid()))
        threading.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    from bsc_pipeline.cli import main

    sys.argv = ["bsc", *sys.argv[2:]]
    main()
