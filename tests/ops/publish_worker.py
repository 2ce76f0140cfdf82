"""Child process: publish one month of the tiny company through `Pipeline.publish`.

Usage: publish_worker.py SETTINGS_JSON MONTH RUN_ID HOLD_SECONDS REPORT. With HOLD_SECONDS > 0 it
writes `holding` to REPORT once every row of its run is written but not committed, and waits that
long before COMMIT, so the parent can start a second publisher of the same month meanwhile.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from bsc_pipeline.pipeline import Pipeline
from bsc_pipeline.settings import Settings


def main(settings_json: str, month: str, run_id: str, hold: float, report: Path) -> None:
    raw = json.loads(settings_json)
    settings = Settings(
        **{k: Path(v) if k.endswith(("_dir", "_path", "_config")) else v for k, v in raw.items()}
    )
    pipeline = Pipeline(settings)
    engine = pipeline.engine
    events: dict[str, float] = {}

    @sa.event.listens_for(engine, "commit")
    def _hold_before_commit(connection: sa.Connection) -> None:
        mine = connection.execute(
            sa.text("SELECT count(*) FROM pipeline_run WHERE run_id = :run"), {"run": run_id}
        ).scalar()
        if hold > 0 and mine and "holding" not in events:
            events["holding"] = time.time()
            report.write_text(json.dumps(events))
            time.sleep(hold)
            events["committing"] = time.time()

    events["started"] = time.time()
    pipeline.publish(month, run_id=run_id)
    events["finished"] = time.time()
    report.write_text(json.dumps(events))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), Path(sys.argv[5]))
