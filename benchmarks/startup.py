"""Start-up in a fresh interpreter: imports, loading the definitions, then one month by Dagster.

Run as `python -m benchmarks.startup SETTINGS_JSON MONTH`; prints one JSON object. A fresh
interpreter is the only honest place to time imports: the parent harness has them loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.stages import step_seconds
from bsc_pipeline.settings import PROJECT_ROOT, Settings


def measure_startup(settings: Settings, month: str) -> dict[str, Any]:
    """Run this module in a child interpreter and return what it printed."""
    payload = json.dumps({k: str(v) for k, v in asdict(settings).items()})
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.startup", payload, month],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - start
    return result


def _main(payload: str, month: str) -> dict[str, Any]:
    start = time.perf_counter()
    import dagster as dg

    from bsc_pipeline.defs import build_definitions
    from bsc_pipeline.defs.jobs import NIGHTLY_JOB

    imported = time.perf_counter()
    raw = json.loads(payload)
    settings = Settings(
        warehouse_url=raw["warehouse_url"],
        landing_dir=Path(raw["landing_dir"]),
        lake_dir=Path(raw["lake_dir"]),
        spec_path=Path(raw["spec_path"]),
        contracts_path=Path(raw["contracts_path"]),
        sources_config=Path(raw["sources_config"]),
        timezone=raw["timezone"],
        partitions_start=raw["partitions_start"],
        nightly_at=raw["nightly_at"],
    )
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    loaded = time.perf_counter()
    result = job.execute_in_process(
        partition_key=month, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    done = time.perf_counter()
    failed = sorted({e.step_key or "" for e in result.all_events if e.is_step_failure})
    return {
        "imports_seconds": imported - start,
        "definitions_seconds": loaded - imported,
        "month_seconds": done - loaded,
        "month_success": result.success,
        "failed_steps": failed,
        "step_seconds": step_seconds(result),
    }


if __name__ == "__main__":
    print(json.dumps(_main(sys.argv[1], sys.argv[2])))
