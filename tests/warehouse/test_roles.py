"""Who may read what: each role connects to PostgreSQL and may do what docs/warehouse.md says.

One fresh database per module and role names unique to the run (roles are global to the
PostgreSQL cluster, which other test runs share); both are dropped at the end. The tiny company
is published by the writer role alone before the reader and operator look at it.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bsc_pipeline.cli import _mount_sub_apps, app
from bsc_pipeline.defs import build_definitions
from bsc_pipeline.defs.jobs import NIGHTLY_JOB
from bsc_pipeline.warehouse.engine import make_engine, normalise_url, upgrade_warehouse
from bsc_pipeline.warehouse.roles import REPORTING_VIEWS, RoleError, RoleNames, apply_roles

MONTHS = ("2025-01", "2025-02")
SIDE_TABLES = (
    "quarantine_row",
    "dq_result",
    "alert_event",
    "alert_delivery",
    "pipeline_run_file",
    "dim_owner",
)
FACT_TABLES = ("fact_measure_period", "fact_scorecard_period", "measure_value_history")


@dataclass
class RolesDb:
    admin_url: str
    names: RoleNames
    results: list[Any]

    @property
    def admin(self) -> str:
        return str(make_url(self.admin_url).username)

    def url(self, role: str) -> str:
        return make_url(self.admin_url).set(username=role, password=None).render_as_string(False)

    def fetch(self, role: str, sql: str) -> list[tuple[Any, ...]]:
        engine = sa.create_engine(self.url(role))
        try:
            with engine.begin() as connection:
                result = connection.execute(sa.text(sql))
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def denied(self, role: str, sql: str) -> str:
        with pytest.raises(sa.exc.ProgrammingError) as caught:
            self.fetch(role, sql)
        message = str(caught.value.orig)
        assert "permission denied" in message, message
        return message


@pytest.fixture(scope="module")
def roles_db(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory, tiny_settings_at: Any
) -> Iterator[RolesDb]:
    tag = uuid.uuid4().hex[:10]
    database = f"bsc_roles_{tag}"
    names = RoleNames(writer=f"bsc_w_{tag}", operator=f"bsc_o_{tag}", reader=f"bsc_r_{tag}")
    server = sa.create_engine(normalise_url(postgres_url), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    admin_url = make_url(normalise_url(postgres_url)).set(database=database)
    db = RolesDb(admin_url.render_as_string(hide_password=False), names, [])
    try:
        apply_roles(db.admin_url, names, env={})
        settings = replace(
            tiny_settings_at(tmp_path_factory.mktemp("roles")), warehouse_url=db.url(names.writer)
        )
        job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
        db.results = [job.execute_in_process(partition_key=m, raise_on_error=False) for m in MONTHS]
        yield db
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            for role in names.by_kind().values():
                connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        server.dispose()


@pytest.mark.postgres
def test_pipeline_runs_end_to_end_as_the_writer_alone(roles_db: RolesDb) -> None:
    writer = roles_db.names.writer
    assert [r.success for r in roles_db.results] == [True, True]
    (flags,) = roles_db.fetch(
        writer, "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = user"
    )
    assert flags == (False, False, False)
    published = roles_db.fetch(writer, "SELECT DISTINCT as_of_month FROM fact_measure_period")
    assert sorted(m for (m,) in published) == list(MONTHS)
    owners = roles_db.fetch(
        writer,
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public' "
        "UNION SELECT DISTINCT viewowner FROM pg_views WHERE schemaname = 'public'",
    )
    assert owners == [(writer,)], "the writer owns the schema, so it runs the migrations"


@pytest.mark.postgres
def test_reader_reads_every_documented_view(roles_db: RolesDb) -> None:
    reader = roles_db.names.reader
    for view in REPORTING_VIEWS:
        roles_db.fetch(reader, f'SELECT * FROM "{view}" LIMIT 1')
    (rows,) = roles_db.fetch(reader, "SELECT count(*) FROM v_scorecard_monthly")
    assert rows[0] > 0, "views read the fact tables with their owner's rights"


@pytest.mark.postgres
def test_reader_exports_the_scorecard_through_bsc(roles_db: RolesDb, tmp_path: Path) -> None:
    """`bsc export` checks the schema version, then reads only the views."""
    out = tmp_path / "january.csv"
    _mount_sub_apps()
    result = CliRunner().invoke(
        app,
        [
            "export",
            "--period",
            "2025-01",
            "--out",
            str(out),
            "--warehouse-url",
            roles_db.url(roles_db.names.reader),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) > 1


@pytest.mark.postgres
@pytest.mark.parametrize("table", SIDE_TABLES + FACT_TABLES)
def test_reader_cannot_read_tables(roles_db: RolesDb, table: str) -> None:
    roles_db.denied(roles_db.names.reader, f'SELECT * FROM "{table}" LIMIT 1')


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO period_state (month, state, updated_at) VALUES ('2030-01', 'closed', now())",
        "UPDATE fact_measure_period SET value = 0",
        "DELETE FROM quarantine_row",
        "UPDATE dim_owner SET email = 'x@example.test'",
        "CREATE TABLE reader_scratch (a int)",
    ],
)
def test_reader_cannot_write(roles_db: RolesDb, statement: str) -> None:
    roles_db.denied(roles_db.names.reader, statement)


@pytest.mark.postgres
def test_operator_reads_side_tables_but_cannot_write_facts(roles_db: RolesDb) -> None:
    operator = roles_db.names.operator
    for table in SIDE_TABLES + FACT_TABLES:
        roles_db.fetch(operator, f'SELECT count(*) FROM "{table}"')
    roles_db.denied(operator, "UPDATE fact_measure_period SET value = 0")
    roles_db.denied(operator, "DELETE FROM measure_value_history")
    roles_db.denied(operator, "DELETE FROM quarantine_row")
    roles_db.denied(operator, "CREATE TABLE operator_scratch (a int)")


@pytest.mark.postgres
def test_operator_closes_and_reopens_a_month_through_bsc(roles_db: RolesDb) -> None:
    operator_url = roles_db.url(roles_db.names.operator)
    _mount_sub_apps()
    runner = CliRunner()
    closed = runner.invoke(app, ["period", "close", "2025-01", "--warehouse-url", operator_url])
    assert closed.exit_code == 0, closed.output
    reopened = runner.invoke(
        app,
        ["period", "reopen", "2025-01", "--reason", "role test", "--warehouse-url", operator_url],
    )
    assert reopened.exit_code == 0, reopened.output
    roles_db.denied(roles_db.names.reader, "SELECT * FROM period_state")
    (row,) = roles_db.fetch(
        roles_db.names.operator,
        "SELECT state, reopen_reason FROM period_state WHERE month = '2025-01'",
    )
    assert row == ("open", "role test")


@pytest.mark.postgres
def test_operator_records_a_hold_decision_but_the_reader_cannot(roles_db: RolesDb) -> None:
    from bsc_pipeline.quality.cli import app as dq_app

    operator_url = roles_db.url(roles_db.names.operator)
    args = ["accept", "--dataset", "gl_lines", "--period", "2025-01", "--reason", "role test"]
    accepted = CliRunner().invoke(dq_app, [*args, "--warehouse-url", operator_url])
    assert accepted.exit_code == 0, accepted.output
    (row,) = roles_db.fetch(
        roles_db.names.operator, "SELECT decision, reason FROM dq_decision WHERE month = '2025-01'"
    )
    assert row == ("accept", "role test")
    roles_db.denied(roles_db.names.reader, "SELECT * FROM dq_decision")
    roles_db.denied(roles_db.names.operator, "UPDATE dq_decision SET reason = 'rewritten history'")


@pytest.mark.postgres
def test_tables_the_writer_creates_later_are_not_for_the_reader(roles_db: RolesDb) -> None:
    names = roles_db.names
    roles_db.fetch(names.writer, "CREATE TABLE later_side_table (secret text)")
    try:
        assert roles_db.fetch(names.operator, "SELECT count(*) FROM later_side_table") == [(0,)]
        roles_db.denied(names.reader, "SELECT * FROM later_side_table")
    finally:
        roles_db.fetch(names.writer, "DROP TABLE later_side_table")


@pytest.mark.postgres
def test_apply_again_creates_nothing_and_takes_back_drifted_grants(roles_db: RolesDb) -> None:
    names = roles_db.names
    roles_db.fetch(roles_db.admin, f'GRANT SELECT ON quarantine_row TO "{names.reader}"')
    roles_db.fetch(roles_db.admin, f'GRANT "{names.operator}" TO "{names.reader}"')
    assert roles_db.fetch(names.reader, "SELECT count(*) FROM quarantine_row")
    assert roles_db.fetch(names.reader, "SELECT count(*) FROM dq_result")
    report = apply_roles(roles_db.admin_url, names, env={})
    assert report.created == [] and report.ownership_moved == []
    assert report.reader_views == list(REPORTING_VIEWS) and report.missing_views == []
    roles_db.denied(names.reader, "SELECT * FROM quarantine_row")
    roles_db.denied(names.reader, "SELECT * FROM dq_result")


@pytest.mark.postgres
def test_views_run_with_the_owners_rights(roles_db: RolesDb) -> None:
    options = roles_db.fetch(
        roles_db.names.writer,
        "SELECT c.relname, coalesce(array_to_string(c.reloptions, ','), '') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'v'",
    )
    assert {name for name, _ in options} == set(REPORTING_VIEWS)
    assert all("security_invoker=true" not in opts for _, opts in options)


@pytest.mark.postgres
def test_command_sets_passwords_from_the_environment_and_never_prints_them(
    roles_db: RolesDb,
) -> None:
    names = roles_db.names
    secret = "it's-50%-secret"
    _mount_sub_apps()
    result = CliRunner().invoke(
        app,
        [
            "warehouse",
            "roles",
            "apply",
            "--warehouse-url",
            roles_db.admin_url,
            "--writer",
            names.writer,
            "--operator",
            names.operator,
            "--reader",
            names.reader,
        ],
        env={"BSC_READER_PASSWORD": secret},
    )
    assert result.exit_code == 0, result.output
    assert secret not in result.output
    assert f"passwords set from the environment for: {names.reader}" in result.output
    (row,) = roles_db.fetch(
        roles_db.admin,
        f"SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '{names.reader}'",
    )
    assert row == (True,)


@pytest.mark.parametrize(
    "bad",
    ["Reader", "bsc-reader", 'x"; DROP ROLE postgres; --', "1reader", "r" * 64, "", "public"],
)
def test_role_names_are_allow_listed(bad: str) -> None:
    with pytest.raises(RoleError, match="not allowed"):
        RoleNames(reader=bad)


def test_one_name_cannot_serve_two_roles() -> None:
    with pytest.raises(RoleError, match="three different roles"):
        RoleNames(writer="bsc_pipeline", operator="bsc_pipeline")


@pytest.mark.postgres
def test_a_superuser_is_refused_as_a_role(postgres_url: str) -> None:
    with pytest.raises(RoleError, match="superuser"):
        apply_roles(postgres_url, RoleNames(writer="postgres"), env={})


def test_roles_are_refused_on_sqlite(tmp_path: Path) -> None:
    with pytest.raises(RoleError, match="PostgreSQL only"):
        apply_roles(f"sqlite:///{tmp_path / 'w.db'}", env={})
    assert not (tmp_path / "w.db").exists()


def test_every_view_is_a_reporting_view_or_decided_otherwise(sqlite_template: Path) -> None:
    """A migration that adds a view must add it to `readings.VIEWS` (the reader's allow-list)."""
    engine = make_engine(f"sqlite:///{sqlite_template}")
    with engine.connect() as connection:
        views = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'view'")
        assert {name for (name,) in views} == set(REPORTING_VIEWS)
    engine.dispose()


def test_sqlite_warehouse_files_are_private_to_their_owner(tmp_path: Path) -> None:
    path = tmp_path / "private" / "scorecard.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_warehouse(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM fact_measure_period").all()
        files = sorted(p.name for p in path.parent.iterdir())
        modes = {name: stat.S_IMODE(os.stat(path.parent / name).st_mode) for name in files}
    engine.dispose()
    assert files == ["scorecard.db", "scorecard.db-shm", "scorecard.db-wal"]
    assert modes == dict.fromkeys(files, 0o600)
