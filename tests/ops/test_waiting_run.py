"""A run that waits for the publish slot says so, and only runs of one warehouse wait.

Another live run (this test process, by its tags) holds the publish slot of warehouse A. A run
publishing to warehouse B is not held up; a run publishing to A says which run it waits for,
and publishes once the slot is freed.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest
from rich.console import Console

from bsc_pipeline.defs import stuck_runs
from bsc_pipeline.defs.assets import publish_pool
from bsc_pipeline.defs.stuck_runs import holder_tags
from bsc_pipeline.runner import RunReport, run_months
from bsc_pipeline.settings import Settings

pytestmark = pytest.mark.slow
MONTH = "2025-01"


def _wait_for_text(console: Console, text: str, runner: threading.Thread) -> str:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        shown = console.export_text(clear=False)
        if text in shown:
            return shown
        if not runner.is_alive():
            pytest.fail(f"the run ended without saying {text!r}:\n{shown}")
        time.sleep(0.1)
    pytest.fail(f"the run never said {text!r}")


def test_a_waiting_run_names_the_holder_and_other_warehouses_do_not_wait(
    tiny_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stuck_runs, "WAIT_NOTICE_AFTER", stuck_runs.timedelta(0))
    other = replace(tiny_settings, warehouse_url=f"sqlite:///{tmp_path / 'other.db'}")
    pool = publish_pool(tiny_settings.warehouse_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        holder = str(uuid.uuid4())
        instance.add_run(
            dg.DagsterRun(
                job_name="another_job",
                run_id=holder,
                status=dg.DagsterRunStatus.STARTED,
                tags=holder_tags(),
            )
        )
        storage = instance.event_log_storage
        for key in (pool, publish_pool(other.warehouse_url)):
            storage.set_concurrency_slots(key, 1)
        assert storage.claim_concurrency_slot(pool, holder, "published_scorecard").is_claimed

        elsewhere = run_months(
            [MONTH], console=Console(record=True), settings=other, instance=instance
        )
        assert elsewhere.ok, "a run to another warehouse does not wait for this one's slot"

        console = Console(record=True, width=300)
        result: dict[str, RunReport] = {}
        runner = threading.Thread(
            target=lambda: result.update(
                report=run_months(
                    [MONTH], console=console, settings=tiny_settings, instance=instance
                )
            )
        )
        runner.start()
        shown = _wait_for_text(console, "for the publish slot of this warehouse", runner)
        assert f"held by {holder[:8]} (pid" in shown and "still running" in shown
        storage.free_concurrency_slots_for_run(holder)
        runner.join(timeout=240)

    assert result["report"].ok
