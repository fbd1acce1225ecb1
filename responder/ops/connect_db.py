"""`check --connect`'s database line: the daemon's database reachable with the config's
credentials, and at a schema version this responder can run (migrated at start if older)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from responder.config import Config
from responder.errors import ConfigError
from responder.ops.connect_base import Line, passed
from responder.ops.db import reader_url, sqlite_path
from responder.storage.engine import cause, reader_args, where
from responder.storage.migrations import LATEST, current_version

WHO = "database"
# libpq waits 2 minutes by default for a server that drops the packets (a firewall).
TIMEOUT = 10.0


async def check_database(config: Config) -> list[Line]:
    """One line: the server's version and the schema's, or what to do."""
    try:
        url = config.database_url_resolved
    except ConfigError as exc:
        return [Line("FAIL", WHO, str(exc))]
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        return [_new_file(path)]
    engine = create_async_engine(
        reader_url(url, read_only=True), poolclass=NullPool, **reader_args(url, read_only=True)
    )
    try:
        async with asyncio.timeout(TIMEOUT), engine.connect() as conn:
            server, version = await conn.run_sync(_versions)
    except TimeoutError:
        return [
            Line(
                "FAIL",
                WHO,
                f"{where(url)} did not answer in {TIMEOUT:g} s: is the "
                "server running, and does a firewall let this machine reach it?",
            )
        ]
    except SQLAlchemyError as exc:
        return [Line("FAIL", WHO, f"cannot use {where(url)}: {cause(exc, url)}")]
    finally:
        await engine.dispose()
    shown = f"{server} at {where(url)}"
    if version > LATEST:
        return [
            Line(
                "FAIL",
                WHO,
                f"{shown} is at schema version {version}, newer than this responder "
                f"({LATEST}): install the responder that wrote it",
            )
        ]
    if version == 0:
        return [passed(WHO, f"{shown}, empty: the daemon creates its tables at its first start")]
    if version < LATEST:
        return [passed(WHO, f"{shown}, schema version {version}: migrated to {LATEST} at start")]
    return [passed(WHO, f"{shown}, schema version {version} (current)")]


def _versions(conn: Connection) -> tuple[str, int]:
    if conn.dialect.name == "postgresql":
        number = conn.execute(text("SHOW server_version")).scalar_one()
        server = f"PostgreSQL {str(number).split()[0]}"
    else:
        server = f"SQLite {conn.execute(text('SELECT sqlite_version()')).scalar_one()}"
    return server, current_version(conn)


def _new_file(path: Path) -> Line:
    """No file yet: the daemon makes it, where its folder can be made and written."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder.is_dir():
        return passed(WHO, f"no database at {path} yet: the daemon creates it at its first start")
    return Line("FAIL", WHO, f"cannot create {path}: {folder} is not a folder")
