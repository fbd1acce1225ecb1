"""Opening the daemon's database from the command line: read-only, never migrating it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from responder.errors import StorageError
from responder.storage.engine import async_url, cause, reader_args
from responder.storage.migrations import LATEST, current_version

T = TypeVar("T")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).absolute()


def reader_url(url: str, *, read_only: bool) -> URL:
    parsed = make_url(url)
    path = sqlite_path(url)
    if path is None:
        return async_url(parsed)
    if not path.is_file():
        raise StorageError(f"no database at {path}: has the daemon run with this config?")
    # mode=ro: SQLite itself refuses every write (the approach of responder.report.load);
    # mode=rw: never creates a new, empty database where the daemon's should be.
    query = {**parsed.query, "mode": "ro" if read_only else "rw", "uri": "true"}
    return parsed.set(database=path.as_uri(), query=query)


def check_version(conn: Connection, command: str) -> None:
    """StorageError unless the database is at exactly this responder's schema version."""
    version = current_version(conn)
    if version == 0:
        raise StorageError("this is not a responder database (it has no schema version)")
    if version != LATEST:
        newer = "newer" if version > LATEST else "older"
        raise StorageError(
            f"the database is at schema version {version}, {newer} than this responder "
            f"({LATEST}); {command} never migrates it: run {command} with the responder that "
            "runs the daemon (an older database: start the daemon once to migrate it)"
        )


def run_on_database(
    url: str,
    command: str,
    work: Callable[..., T],
    *args: Any,
    read_only: bool = True,
    **kwargs: Any,
) -> T:
    """work(conn, *args, **kwargs) in one transaction on the checked database.

    Read-only by default; otherwise the transaction commits when work returns. A database
    error is a StorageError.
    """
    found: list[T] = []

    async def run() -> None:
        # NullPool: one connection, closed with the engine, so nothing is left open at exit.
        engine = create_async_engine(
            reader_url(url, read_only=read_only),
            poolclass=NullPool,
            **reader_args(url, read_only=read_only),
        )
        try:
            async with engine.begin() as conn:
                await conn.run_sync(check_version, command)
                # Kept aside rather than returned: see responder.report.load (cpython#112559).
                found.append(await conn.run_sync(work, *args, **kwargs))
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot use the database: {cause(exc, url)}") from exc
        finally:
            await engine.dispose()

    asyncio.run(run())
    return found[0]
