"""Engine settings the warehouse relies on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bsc_pipeline.warehouse.engine import make_engine, normalise_url
from bsc_pipeline.warehouse.publish import publish_month, record_run


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/bsc", "postgresql+psycopg://u:p@db:5432/bsc"),
        ("postgresql+psycopg://u@db/bsc", "postgresql+psycopg://u@db/bsc"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_postgres_urls_use_psycopg_3(given, expected):
    assert normalise_url(given) == expected


def test_sqlite_enforces_foreign_keys_and_uses_wal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'w.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    engine.dispose()


def test_a_row_pointing_at_a_missing_parent_is_rejected_by_the_database(engine):
    row = {"objective_id": "ghost", "name": "x"}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO dim_objective (objective_id, name, perspective_id, weight, in_spec,"
                " updated_at) VALUES (:objective_id, :name, 'nowhere', 1, true, CURRENT_TIMESTAMP)"
            ),
            row,
        )


def test_rollups_are_stored_per_level(engine, publish_args, wh):
    args = publish_args("2025-02", {"revenue": 110.0})
    args["rollups"].loc[args["rollups"]["node_id"] == "financial", "score"] = 4.2
    publish_month(engine, "2025-02", **args)
    with engine.connect() as connection:
        score = connection.execute(
            sa.text("SELECT score FROM fact_perspective_period WHERE perspective_id = 'financial'")
        ).scalar_one()
        scorecard = connection.execute(
            sa.text("SELECT scorecard_id, children FROM fact_scorecard_period")
        ).one()
    assert score == 4.2
    assert tuple(scorecard) == ("test_co", 1)


def test_record_run_keeps_runs_that_did_not_publish(engine, wh):
    record_run(engine, "run-9", "2025-02", "refused", detail="month 2025-02 is closed")
    with engine.connect() as connection:
        run = connection.execute(sa.text("SELECT outcome, detail FROM pipeline_run")).one()
    assert tuple(run) == ("refused", "month 2025-02 is closed")
