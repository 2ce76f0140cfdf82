"""Decisions on held months and the record of published runs, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bsc_pipeline.quality.decisions import (
    DecisionError,
    latest_decision,
    read_decisions,
    record_decision,
)
from bsc_pipeline.warehouse import schema
from bsc_pipeline.warehouse.run_files import published_files, published_months


def test_the_latest_decision_is_in_force_and_names_who(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BSC_USER", "ana")
    first = record_decision(engine, "gl_lines", "2025-02", "reject", "  export cut  ")
    second = record_decision(engine, "gl_lines", "2025-02", "accept", "resent", decided_by="bo")
    record_decision(engine, "tickets", "2025-02", "accept", "quiet month")

    assert (first.decided_by, first.reason) == ("ana", "export cut")
    latest = latest_decision(engine, "gl_lines", "2025-02")
    assert latest is not None
    assert (latest.decision_id, latest.decision, latest.decided_by) == (
        second.decision_id,
        "accept",
        "bo",
    )
    assert latest.decided_at.tzinfo is not None and latest.consumed_by_run_id is None
    assert latest_decision(engine, "gl_lines", "2025-03") is None
    assert [d.decision_id for d in read_decisions(engine, "2025-02")][:2] == [
        d.decision_id for d in read_decisions(engine, limit=2)
    ]
    assert len(read_decisions(engine, "2025-02")) == 3


@pytest.mark.parametrize(("kind", "reason"), [("accept", "  "), ("maybe", "why")])
def test_a_decision_needs_a_kind_and_a_reason(engine: Engine, kind: str, reason: str) -> None:
    with pytest.raises(DecisionError):
        record_decision(engine, "gl_lines", "2025-02", kind, reason)  # type: ignore[arg-type]


def test_published_months_and_the_files_their_latest_run_read(engine: Engine) -> None:
    def run(run_id: str, month: str, outcome: str, finished: int, files: list[str]) -> None:
        at = datetime(2025, 3, finished, tzinfo=UTC)
        with engine.begin() as connection:
            connection.execute(
                sa.insert(schema.pipeline_run).values(
                    run_id=run_id, month=month, started_at=at, finished_at=at, outcome=outcome
                )
            )
            for name in files:
                connection.execute(
                    sa.insert(schema.pipeline_run_file).values(
                        run_id=run_id, dataset="gl_lines", file=name, size=1, sha256="0" * 64,
                        mtime=at,
                    )
                )  # fmt: skip

    run("r1", "2025-01", "published", 1, ["gl_lines/old.csv"])
    run("r2", "2025-01", "published", 2, ["gl_lines/gl_lines_2025-01.csv"])
    run("r3", "2025-02", "failed", 3, ["gl_lines/gl_lines_2025-02.csv"])

    assert published_months(engine) == {"2025-01"}
    assert published_files(engine, "gl_lines", "2025-01") == ["gl_lines/gl_lines_2025-01.csv"]
    assert published_files(engine, "gl_lines", "2025-02") == []
    assert published_files(engine, "tickets", "2025-01") == []
