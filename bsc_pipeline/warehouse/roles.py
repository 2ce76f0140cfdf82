"""Who may read what on PostgreSQL: a writer, an operator and a reader role, kept in step.

- **writer** (the pipeline) owns every table and view of the warehouse schema and may create new
  ones, so it publishes and runs Alembic upgrades itself; it is not a superuser.
- **operator** (data engineers) reads every table, including quarantine and DQ results, and
  writes only the tables the `bsc` operator commands change (`OPERATOR_WRITES`).
- **reader** (finance, BI tools) reads only the reporting views named in `REPORTING_VIEWS` (and
  the schema version, a single number).
  The views run with their owner's (the writer's) rights, so the reader needs no grant on the
  tables behind them.

`apply_roles` is idempotent: it creates missing roles, takes away what the allow-lists no longer
give, grants what they give, and sets default privileges so tables the writer creates later are
readable by the operator and not by the reader. Run it as a superuser (or a role with CREATEROLE
that is a member of the writer role) after every upgrade that adds views.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from bsc_pipeline.warehouse.choices import DEFAULT_OPERATOR, DEFAULT_READER, DEFAULT_WRITER
from bsc_pipeline.warehouse.engine import make_engine, normalise_url, upgrade_warehouse
from bsc_pipeline.warehouse.errors import WarehouseError
from bsc_pipeline.warehouse.readings import VIEWS

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
"""Role names we accept: lower-case PostgreSQL identifiers that need no quoting."""

_RESERVED = frozenset({"public", "none", "current_role", "current_user", "session_user"})


PASSWORD_ENV = {
    "writer": "BSC_WRITER_PASSWORD",
    "operator": "BSC_OPERATOR_PASSWORD",
    "reader": "BSC_READER_PASSWORD",
}
"""A role's password is set from these variables when they are set, and never printed."""

REPORTING_VIEWS: tuple[str, ...] = VIEWS
"""The only relations the reader may select from: the documented reporting views.

A new reporting view (commentary, definitions) joins `readings.VIEWS`; a view left out of it is
private to the writer and the operator. A test fails when a migration adds a view to neither.
"""

READER_VERSION_TABLE = "alembic_version"
"""The one table the reader reads: the schema version, so `bsc export` can check it is current."""

OPERATOR_WRITES: Mapping[str, tuple[str, ...]] = {
    "period_state": ("INSERT", "UPDATE"),
    "dq_decision": ("INSERT",),
}
"""Tables the operator commands write (`bsc period close|reopen`, `bsc dq accept|reject`), and
how; the sequences behind their serial columns come with an INSERT."""

_RELATION_KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}


class RoleError(WarehouseError):
    """Roles cannot be applied as asked (bad name, SQLite, a superuser named as a role)."""


@dataclass(frozen=True)
class RoleNames:
    """The three role names; each must match `ROLE_NAME` and differ from the others."""

    writer: str = DEFAULT_WRITER
    operator: str = DEFAULT_OPERATOR
    reader: str = DEFAULT_READER

    def __post_init__(self) -> None:
        for kind, name in self.by_kind().items():
            if not ROLE_NAME.fullmatch(name) or name in _RESERVED or name.startswith("pg_"):
                raise RoleError(
                    f"{kind} role name {name!r} is not allowed: use lower-case letters, digits "
                    "and underscores, starting with a letter or underscore, at most 63 characters, "
                    "not pg_* or a reserved name"
                )
        if len(set(self.by_kind().values())) != 3:
            raise RoleError("writer, operator and reader must be three different roles")

    def by_kind(self) -> dict[str, str]:
        return {"writer": self.writer, "operator": self.operator, "reader": self.reader}


@dataclass
class RolesReport:
    """What `apply_roles` did, for the command's summary."""

    schema: str
    created: list[str] = field(default_factory=list)
    passwords_set: list[str] = field(default_factory=list)
    ownership_moved: list[str] = field(default_factory=list)
    reader_views: list[str] = field(default_factory=list)
    missing_views: list[str] = field(default_factory=list)


def apply_roles(
    url: str, names: RoleNames | None = None, env: Mapping[str, str] | None = None
) -> RolesReport:
    """Create the roles, let the writer bring the schema to head, then grant by the allow-lists."""
    names = names or RoleNames()
    env = os.environ if env is None else env
    if make_url(normalise_url(url)).get_backend_name() != "postgresql":
        raise RoleError(
            "roles exist on PostgreSQL only; a SQLite warehouse is one file readable by its "
            "owner alone: give readers `bsc export` files or a PostgreSQL reader role instead"
        )
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            report = _create_roles(connection, names, env)
        # The writer owns the schema, so it runs the migrations: what they create is its own.
        writer = make_engine(_url_as_role(url, names.writer))
        try:
            upgrade_warehouse(writer)
        finally:
            writer.dispose()
        with engine.begin() as connection:
            _grant(connection, names, report)
        return report
    finally:
        engine.dispose()


def _url_as_role(url: str, role: str) -> str:
    """The same connection, acting as `role` (libpq `-c role=...`, i.e. SET ROLE at connect)."""
    parsed = make_url(normalise_url(url))
    options = f"{parsed.query.get('options', '')} -c role={role}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _create_roles(connection: Connection, names: RoleNames, env: Mapping[str, str]) -> RolesReport:
    """The roles exist as plain login roles; the writer owns the schema's tables and views."""
    schema = connection.execute(sa.text("SELECT current_schema()")).scalar()
    if not schema:
        raise RoleError("the connection has no current schema; check search_path in the URL")
    report = RolesReport(schema=str(schema))
    for kind, role in names.by_kind().items():
        _ensure_role(connection, kind, role, env, report)
    q = _quoter(connection)
    s, writer, operator, reader = q(schema), q(names.writer), q(names.operator), q(names.reader)
    database = q(str(connection.execute(sa.text("SELECT current_database()")).scalar()))
    run = connection.exec_driver_sql
    run(f"GRANT CONNECT ON DATABASE {database} TO {writer}, {operator}, {reader}")
    run(f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC, {operator}, {reader}")
    run(f"GRANT USAGE, CREATE ON SCHEMA {s} TO {writer}")
    run(f"GRANT USAGE ON SCHEMA {s} TO {operator}, {reader}")
    # A member of a stronger role would inherit its rights (a warning, not an error, if not one).
    run(f"REVOKE {writer} FROM {operator}, {reader}")
    run(f"REVOKE {operator} FROM {reader}")
    report.ownership_moved = _give_to_writer(connection, str(schema), names.writer)
    return report


def _grant(connection: Connection, names: RoleNames, report: RolesReport) -> None:
    """Take everything away from operator and reader, then give what the allow-lists say."""
    q = _quoter(connection)
    s, writer, operator, reader = (
        q(report.schema),
        q(names.writer),
        q(names.operator),
        q(names.reader),
    )
    run = connection.exec_driver_sql
    for kind in ("TABLES", "SEQUENCES", "FUNCTIONS"):
        run(f"REVOKE ALL ON ALL {kind} IN SCHEMA {s} FROM PUBLIC, {operator}, {reader}")
    run(f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {operator}")
    relations = _relations(connection, report.schema)
    for table, privileges in OPERATOR_WRITES.items():
        if table in relations:
            run(f"GRANT {', '.join(privileges)} ON {s}.{q(table)} TO {operator}")
            for sequence in _serial_sequences(connection, report.schema, table):
                run(f"GRANT USAGE ON SEQUENCE {sequence} TO {operator}")
    invoker = _has_security_invoker(connection)
    for view in REPORTING_VIEWS:
        if relations.get(view) != "v":
            report.missing_views.append(view)
            continue
        if invoker:
            # An invoker's-rights view would need grants on the tables behind it.
            run(f"ALTER VIEW {s}.{q(view)} SET (security_invoker = false)")
        run(f"GRANT SELECT ON {s}.{q(view)} TO {reader}")
        report.reader_views.append(view)
    if READER_VERSION_TABLE in relations:
        run(f"GRANT SELECT ON {s}.{q(READER_VERSION_TABLE)} TO {reader}")
    defaults = f"ALTER DEFAULT PRIVILEGES FOR ROLE {writer} IN SCHEMA {s}"
    run(f"{defaults} GRANT SELECT ON TABLES TO {operator}")
    run(f"{defaults} REVOKE ALL ON TABLES FROM PUBLIC, {reader}")
    run(f"{defaults} REVOKE ALL ON SEQUENCES FROM PUBLIC, {operator}, {reader}")


def _serial_sequences(connection: Connection, schema: str, table: str) -> list[str]:
    """The (already quoted, schema-qualified) sequences that feed a table's serial columns."""
    rows = connection.execute(
        sa.text(
            "SELECT pg_get_serial_sequence(quote_ident(:schema) || '.' || quote_ident(:table),"
            " column_name) FROM information_schema.columns"
            " WHERE table_schema = :schema AND table_name = :table"
        ),
        {"schema": schema, "table": table},
    )
    return [str(name) for (name,) in rows if name]


def _ensure_role(
    connection: Connection, kind: str, role: str, env: Mapping[str, str], report: RolesReport
) -> None:
    """Create the role if missing; keep it a plain login role; set its password from the env."""
    q = _quoter(connection)
    found = connection.execute(
        sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = :name"), {"name": role}
    ).first()
    if found is not None and found.rolsuper:
        raise RoleError(
            f"{kind} role {role!r} is a superuser; name a dedicated role (superusers bypass grants)"
        )
    if found is None:
        connection.exec_driver_sql(f"CREATE ROLE {q(role)}")
        report.created.append(role)
    connection.exec_driver_sql(
        f"ALTER ROLE {q(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    )
    password = env.get(PASSWORD_ENV[kind])
    if password:
        _set_password(connection, role, password)
        report.passwords_set.append(role)


def _set_password(connection: Connection, role: str, password: str) -> None:
    """ALTER ROLE takes no bound parameters: psycopg quotes the literal, and the statement goes
    straight to the driver so SQLAlchemy's error messages (which quote the SQL) never carry it."""
    from psycopg import sql

    statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
        sql.Identifier(role), sql.Literal(password)
    )
    driver = connection.connection.driver_connection
    if driver is None:
        raise RoleError("no driver connection to set a password on")
    with driver.cursor() as cursor:
        cursor.execute(statement)


def _relations(connection: Connection, schema: str) -> dict[str, str]:
    """Tables and views of the schema by name, with their `relkind`."""
    rows = connection.execute(
        sa.text(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm')"
        ),
        {"schema": schema},
    )
    return {str(name): str(kind) for name, kind in rows}


def _give_to_writer(connection: Connection, schema: str, writer: str) -> list[str]:
    """Hand every table and view to the writer (sequences of serial columns follow their table)."""
    q = _quoter(connection)
    rows = connection.execute(
        sa.text(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm') "
            "AND pg_get_userbyid(c.relowner) <> :writer ORDER BY c.relname"
        ),
        {"schema": schema, "writer": writer},
    ).all()
    for name, kind in rows:
        connection.exec_driver_sql(
            f"ALTER {_RELATION_KINDS[str(kind)]} {q(schema)}.{q(str(name))} OWNER TO {q(writer)}"
        )
    return [str(name) for name, _ in rows]


def _has_security_invoker(connection: Connection) -> bool:
    """`security_invoker` views exist from PostgreSQL 15 on."""
    version = connection.execute(sa.text("SHOW server_version_num")).scalar()
    return int(str(version)) >= 150000


def _quoter(connection: Connection) -> Callable[[str], str]:
    """Always-quoted identifiers (names are allow-listed too; quoting keeps them literal)."""
    preparer = connection.dialect.identifier_preparer

    def quote(name: str) -> str:
        return str(preparer.quote_identifier(name))

    return quote
