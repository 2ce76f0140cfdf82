"""Child process for the crash test: publish a month and hang inside the transaction.

Usage: publish_child.py URL FRAMES_DIR MARKER. Just before COMMIT it writes MARKER and waits for
the parent to SIGKILL it while every row of the new month is written but not committed. It never
commits: should the parent go away instead (stdin closes), it exits without committing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from bsc_pipeline.spec.models import Spec
from bsc_pipeline.warehouse.engine import make_engine
from bsc_pipeline.warehouse.publish import publish_month


def main(url: str, frames: Path, marker: Path) -> None:
    engine = make_engine(url)

    @sa.event.listens_for(engine, "commit")
    def _hang_before_commit(connection: sa.Connection) -> None:
        value = connection.execute(
            sa.text(
                "SELECT value FROM fact_measure_period"
                " WHERE measure_id = 'revenue' AND period_type = 'month'"
            )
        ).scalar()
        marker.write_text(str(value))
        sys.stdin.read()  # returns only if the parent is gone
        os._exit(1)

    publish_month(
        engine,
        "2025-02",
        run_id="killed-run",
        measures=pd.read_parquet(frames / "measures.parquet"),
        rollups=pd.read_parquet(frames / "rollups.parquet"),
        spec=Spec.model_validate(json.loads((frames / "spec.json").read_text())),
        alert_events=[{"dedup_key": "revenue|2025-02|red", "kind": "red"}],
    )


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
