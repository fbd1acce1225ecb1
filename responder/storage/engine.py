"""The database engine: opened with the folder and settings it needs, its faults in the admin's
words."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from responder.errors import StorageError
from responder.storage import postgres
from responder.storage.migrations import migrate

# The daemon's database work runs in one thread of its own, synchronously: each unit of work
# is one hand-over to that thread, not one per statement (issue 15). An async driver named in
# database_url is swapped for its synchronous sibling.
# asyncpg has no synchronous side, so psycopg serves a postgresql+asyncpg URL (docs/design.md).
_SYNC_DRIVERS = {
    "sqlite+aiosqlite": "sqlite+pysqlite",
    "postgresql": "postgresql+psycopg",
    "postgresql+asyncpg": "postgresql+psycopg",
    "postgresql+psycopg_async": "postgresql+psycopg",
}
# The command-line readers (status, report, export) run on asyncio: psycopg's async mode.
_ASYNC_DRIVERS = {
    "postgresql": "postgresql+psycopg_async",
    "postgresql+asyncpg": "postgresql+psycopg_async",
    "postgresql+psycopg": "postgresql+psycopg_async",
}


def sync_url(url: str) -> URL:
    parsed = make_url(url)
    driver = _SYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def async_url(url: str | URL) -> URL:
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def is_postgresql(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def reader_args(url: str | URL, *, read_only: bool) -> dict[str, Any]:
    """create_async_engine's keywords for a command-line reader (status, report, export):
    PostgreSQL's session settings, with no limit on how long an export may take."""
    if not is_postgresql(url):
        return {}
    return {"connect_args": postgres.connect_args(statement_timeout_ms=0, read_only=read_only)}


def open_engine(url: str) -> tuple[Engine, Connection, int]:
    """An engine on a migrated database, the connection to use it through and the schema
    version; StorageError naming the file and what to do when it cannot be opened. Called in
    the thread that will use the connection."""
    parsed = sync_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        _writable_folder(Path(parsed.database))
    pg = is_postgresql(parsed)
    # pre_ping: a connection the server dropped (a restart, an idle cut) is replaced when the
    # pool hands it out; the daemon's one long-held connection is replaced on its next use
    # after the unit of work that met the drop failed (SQLAlchemy invalidates it).
    engine = create_engine(
        parsed,
        pool_size=1,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args=postgres.connect_args() if pg else {},
    )
    if not pg:
        _sqlite_pragmas(engine)
    conn: Connection | None = None
    try:
        conn = engine.connect()
        version = _migrated(conn, pg)
    except BaseException as exc:
        # The connection too: dispose() leaves one that is checked out open.
        if conn is not None:
            conn.close()
        engine.dispose()
        if isinstance(exc, SQLAlchemyError):
            message = f"cannot open the database {where(url)}: {cause(exc, url)}"
            raise StorageError(message) from exc
        raise
    return engine, conn, version


def _migrated(conn: Connection, pg: bool) -> int:
    """Migrate once whatever other instances start at the same moment (issue 19): PostgreSQL
    under an advisory lock. SQLite's transaction takes the write lock only at its first
    write, so two processes on a new file may both read "version 0"; the one that waited
    then fails (a stale snapshot, or schema_version's key) and reads again: migrated."""
    for attempt in range(_SQLITE_TRIES):
        try:
            with conn.begin():
                if pg:
                    postgres.lock_for_migration(conn)
                return migrate(conn)
        except (IntegrityError, OperationalError):
            if pg or attempt == _SQLITE_TRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


_SQLITE_TRIES = 5


def _writable_folder(database: Path) -> None:
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the folder of the database {database}: {exc.strerror}"
        ) from None
    if not os.access(database.parent, os.W_OK):
        # WAL mode writes its -wal and -shm files beside the database, so the folder itself
        # must be writable. Said before SQLite tries, in the admin's terms.
        raise StorageError(
            f"cannot open the database {database}: the folder {database.parent} is not "
            "writable by this user (read-only, or owned by someone else)"
        )


def where(url: str) -> str:
    """The database as an admin finds it: the file, or the server without credentials."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database or ":memory:")
    return parsed.render_as_string(hide_password=True)


def cause(exc: SQLAlchemyError, url: str | None = None) -> str:
    """The driver's own words ("database or disk is full"), without SQLAlchemy's SQL dump,
    and what to do about them when we know (PostgreSQL's with the server's url)."""
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    text = lines[0] if lines else ""
    if text.startswith("connection failed: "):
        # libpq: 'connection to server at "HOST", port N failed: FATAL:  <the reason>'; the
        # server is named by where() already.
        text = " ".join(text.rpartition(" failed: ")[2].replace("FATAL:", "").split())
    hint = _HINTS.get(text.strip().lower())
    if hint is None and url is not None and is_postgresql(url):
        hint = postgres.hint(text, make_url(url))
    return f"{text} ({hint})" if hint else text or type(exc).__name__


def describe(exc: BaseException) -> str:
    """A failed unit of work in one line: the driver's words for a database error."""
    return cause(exc) if isinstance(exc, SQLAlchemyError) else str(exc)


# What an admin can do about SQLite's terse messages.
_HINTS = {
    "unable to open database file": "does the folder exist, and may this user write in it?",
    "attempt to write a readonly database": "the file or its folder is read-only for this user",
    "database or disk is full": "free some space on the disk that holds it",
}


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=5000")
        # WAL lets readers (status, report) run beside the daemon. synchronous=NORMAL keeps
        # every commit across a process crash (kill -9); only a power cut can lose the last
        # commits, and then the cursor rolls back with them, so mail is re-read, never lost.
        _wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _wal(cursor: Any) -> None:
    """Instances started at once on a new file (issue 19) switch it to WAL together; SQLite
    answers the losers "database is locked" at once, without waiting: they try again."""
    for attempt in range(_SQLITE_TRIES):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == _SQLITE_TRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
