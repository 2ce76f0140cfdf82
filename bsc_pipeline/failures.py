"""One line for a failure a user can meet: what went wrong and what to do next.

Errors reach the command line as exceptions (`bsc show`) or as Dagster's serialised error chain
(a failed step wrapped in "Exceeded max_retries"); both are read here as (type name, message)
pairs, innermost last, so the cause is named instead of the wrapper.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa

_PG_REFUSED = re.compile(
    r'server at "(?P<host>[^"]+)"(?: \([^)]*\))?, port (?P<port>\d+) failed: Connection refused'
)
_PG_OTHER = re.compile(
    r'server at "(?P<host>[^"]+)"(?: \([^)]*\))?, port (?P<port>\d+) failed: (?P<why>[^\n]+)'
)
_SOCKET_REFUSED = re.compile(r'socket "(?P<socket>[^"]+)" failed: Connection refused')


def explain(pairs: Iterable[tuple[str, str]], warehouse_url: str | None = None) -> str | None:
    """The one-line cause and next step for the first error in the chain we recognise."""
    for kind, message in pairs:
        line = _explain_one(kind, message, warehouse_url)
        if line is not None:
            return line
    return None


def exception_chain(exc: BaseException) -> Iterator[tuple[str, str]]:
    """(type name, message) of an exception and everything it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield type(current).__name__, str(current)
        current = current.__cause__ or current.__context__


def explain_exception(exc: BaseException, warehouse_url: str | None = None) -> str:
    """A recognised cause's line, else the innermost error's first line with its type."""
    chain = list(exception_chain(exc))
    line = explain(chain, warehouse_url)
    if line is not None:
        return line
    kind, message = chain[-1]
    return f"{kind}: {first_line(message)}"


def explain_error_info(error: Any, warehouse_url: str | None = None) -> str:
    """The same for Dagster's serialised error (`cls_name`, `message`, `cause`, `context`):
    the recognised cause inside "Exceeded max_retries", else the innermost error's line."""
    chain = []
    while error is not None:
        chain.append((error.cls_name or "", error.message))
        error = error.cause or getattr(error, "context", None)
    line = explain(chain, warehouse_url)
    if line is not None:
        return line
    kind, message = chain[-1]
    text = first_line(message)  # Dagster's message often starts with the type already
    return f"{kind}: {text}" if kind and not text.startswith(f"{kind}:") else text


def first_line(message: str) -> str:
    return next((part.strip() for part in message.splitlines() if part.strip()), "")


def _warehouse_file(warehouse_url: str | None) -> str:
    if warehouse_url:
        url = sa.make_url(warehouse_url)
        if url.get_backend_name() == "sqlite" and url.database:
            return url.database
    return "the warehouse file"


def _explain_one(kind: str, message: str, warehouse_url: str | None) -> str | None:
    if kind == "CorruptLakeFile":
        return first_line(message)
    if match := _PG_REFUSED.search(message):
        where = f"{match['host']}:{match['port']}"
        return (
            f"cannot connect to the warehouse at {where} (connection refused): start "
            "PostgreSQL there, or fix BSC_WAREHOUSE_URL; then re-run"
        )
    if match := _SOCKET_REFUSED.search(message):
        return (
            f"cannot connect to the warehouse through {match['socket']} (connection refused): "
            "start PostgreSQL, or fix BSC_WAREHOUSE_URL; then re-run"
        )
    if match := _PG_OTHER.search(message):
        where = f"{match['host']}:{match['port']}"
        return (
            f"cannot connect to the warehouse at {where} ({match['why'].strip()}): check the "
            "host, user, password and database in BSC_WAREHOUSE_URL; then re-run"
        )
    lowered = message.lower()
    if "readonly database" in lowered or ("read-only" in lowered and "database" in lowered):
        path = _warehouse_file(warehouse_url)
        return (
            f"the warehouse file {path} is read-only: make it and its folder writable "
            "(chmod u+w), or point BSC_WAREHOUSE_URL at a writable copy; then re-run"
        )
    if "unable to open database file" in lowered:
        path = _warehouse_file(warehouse_url)
        return (
            f"cannot open the warehouse file {path}: check that its folder exists and is "
            "writable, or fix BSC_WAREHOUSE_URL"
        )
    if "database is locked" in lowered:
        return (
            "the warehouse stayed locked by another process for 30 s: let the other run "
            "finish (`bsc status`), then re-run"
        )
    if kind == "PeriodClosedError":
        return first_line(message)
    return None
