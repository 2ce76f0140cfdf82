"""Connecting to the warehouse and bringing its schema to the latest migration.

SQLite is the default (a file next to the project), PostgreSQL the production target through
psycopg 3. Both get the same tables because both are created by the same Alembic migrations.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url

from bsc_pipeline.settings import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "warehouse" / "migrations"

WRITE_OPTION = "bsc_write"
"""Execution option: on SQLite, take the write lock when the transaction begins."""

PRIVATE_FILE_MODE = 0o600
_SQLITE_BUSY_TIMEOUT_MS = 30_000
_UPGRADE_LOCK_KEY = 0x6273_6377  # "bscw": one migration runner at a time on PostgreSQL


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs (psycopg2 is not a dependency)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, connect_args: dict[str, Any] | None = None) -> Engine:
    """An engine with the settings publishing relies on (SQLite: foreign keys, WAL, real BEGIN)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, connect_args=connect_args or {}, pool_pre_ping=True)

    file_db = bool(parsed.database) and parsed.database != ":memory:"
    if file_db and not str(parsed.database).startswith("file:"):
        path = Path(str(parsed.database)).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not _writable(path):
            # Reading a warehouse we may not write (a copy for analysts, a read-only mount)
            # works; a write says "read-only" instead of half-working.
            url = _read_only_url(parsed, path)
        else:
            _create_private(path)
    engine = sa.create_engine(url, connect_args=connect_args or {})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own implicit transactions start late and skip SELECTs; emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        if file_db:
            # A read-only file keeps its journal mode; reads work the same.
            with contextlib.suppress(sqlite3.OperationalError):
                cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A writer takes the lock up front, so two publishers queue instead of deadlocking.
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only (SQLite gives -wal/-shm the same mode).

    The file holds quarantine rows and the alert outbox too, so it is not for sharing: readers
    get exports or a PostgreSQL reader role (docs/warehouse.md). An existing file is left as is.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        return


def _writable(path: Path) -> bool:
    """Whether SQLite may write the file (and create its journal beside it)."""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return os.access(path.parent, os.W_OK)


def _read_only_url(parsed: sa.URL, path: Path) -> str:
    """The same file opened read-only; `immutable` when SQLite could not create the WAL index
    beside it (a read-only folder), since nobody can write it there either."""
    shm = path.with_name(path.name + "-shm")
    immutable = not os.access(path.parent, os.W_OK) and not shm.exists()
    query = {"mode": "ro", "uri": "true", **({"immutable": "1"} if immutable else {})}
    return parsed.set(database=f"file:{path.resolve()}", query=query).render_as_string(
        hide_password=False
    )


def alembic_config() -> Config:
    """Alembic settings built in code, so no ini file or working directory is needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_warehouse(url: str | Engine) -> None:
    """Run `alembic upgrade head`; a no-op when the schema is current, so safe on every run."""
    engine = url if isinstance(url, Engine) else make_engine(url)
    config = alembic_config()
    try:
        if _at_head(engine, config):
            return  # the common case: no write lock taken, so concurrent runs do not queue
        connection = engine.connect().execution_options(**{WRITE_OPTION: True})
        with connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_UPGRADE_LOCK_KEY)))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def _at_head(engine: Engine, config: Config) -> bool:
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
