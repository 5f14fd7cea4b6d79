"""Engine options per database, and SQLite's write-transaction mode.

SQLite ignores ``SELECT ... FOR UPDATE``. A deferred transaction that reads and then
writes fails with SQLITE_BUSY if another connection wrote in between, so every
transaction started while ``write_intent`` is on begins with ``BEGIN IMMEDIATE``
instead: writers queue on the busy timeout and read-modify-write stays correct.
Unsafe HTTP methods and CLI commands turn it on; GET pages stay deferred readers.
PostgreSQL uses row locks and conditional UPDATEs instead (see the services).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine, Result

_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)

SQLITE_BUSY_TIMEOUT_MS = 15000


def engine_options(uri: str) -> dict:
    """Return SQLAlchemy engine options suited to the database in ``uri``."""
    if uri.startswith("sqlite"):
        return {
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        }
    return {"pool_pre_ping": True}


def set_write_intent(on: bool) -> object:
    """Mark the transactions this context starts as writers; return a reset token."""
    return _write_intent.set(on)


def reset_write_intent(token: object) -> None:
    """Undo :func:`set_write_intent`."""
    _write_intent.reset(token)  # type: ignore[arg-type]


@contextmanager
def write_intent() -> Iterator[None]:
    """Run a block whose new transactions begin as writers (``BEGIN IMMEDIATE`` on SQLite)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def configure_sqlite(engine: Engine) -> None:
    """Turn on foreign keys, WAL and a busy timeout, and take control of BEGIN."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Stop pysqlite from issuing its own BEGIN so that ours (below) is the only one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def rows_updated(result: Result[Any]) -> int:
    """Return how many rows an ``UPDATE`` changed (``Session.execute`` is typed as ``Result``)."""
    return cast(CursorResult[Any], result).rowcount
