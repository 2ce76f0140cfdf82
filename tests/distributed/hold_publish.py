"""Imported by the test's Celery workers (`BSC_CELERY_INCLUDE`), never by the pipeline.

Records every publishing transaction the worker commits (warehouse, month, process, the moment
the month's warehouse lock was held and the moment before COMMIT) as one JSON line in
`$BSC_TEST_CONTROL/publishes.jsonl`, so a test can check that no two overlapped.

When `$BSC_TEST_CONTROL/hold-<month>` exists, the first worker to publish that month claims
`claimed-<month>` (holding its pid) and blocks inside the open transaction until the test kills
it; the worker the broker hands the step to next finds the claim taken and publishes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from bsc_pipeline.warehouse import publish as publish_module

CONTROL = Path(os.environ["BSC_TEST_CONTROL"])
HOLD_SECONDS = 300.0
"""A held worker gives up after this long, so a test that failed to kill it cannot hang CI."""

_lock_open_month = publish_module._lock_open_month
_insert_alert_events = publish_module._insert_alert_events
_publishing: dict[str, Any] = {}
"""The month this process is publishing and when it got the month's lock (one at a time)."""


def _locked(connection: Any, month: str, now: Any) -> Any:
    reason = _lock_open_month(connection, month, now)
    _publishing.update(month=month, locked=time.time())
    return reason


def _last_write(connection: Any, events: Any, run_id: str, now: Any) -> Any:
    result = _insert_alert_events(connection, events, run_id, now)
    month = _publishing["month"]
    if (CONTROL / f"hold-{month}").exists() and _claim(month):
        threading.Event().wait(HOLD_SECONDS)
        raise RuntimeError(f"the test never killed the worker holding {month}")
    line = {
        "warehouse": connection.engine.url.render_as_string(hide_password=True),
        "month": month,
        "pid": os.getpid(),
        "locked": _publishing["locked"],
        "left": time.time(),
    }
    with (CONTROL / "publishes.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")
    return result


def _claim(month: str) -> bool:
    """Exclusive and complete at once: the pid is written first, then hard-linked into place."""
    mine = CONTROL / f".claim-{month}-{os.getpid()}"
    mine.write_text(str(os.getpid()), encoding="utf-8")
    try:
        os.link(mine, CONTROL / f"claimed-{month}")
    except FileExistsError:
        return False
    finally:
        mine.unlink()
    return True


publish_module._lock_open_month = _locked
publish_module._insert_alert_events = _last_write
