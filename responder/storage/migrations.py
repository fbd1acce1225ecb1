"""Versioned schema migrations, applied in order at start and recorded in schema_version."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, inspect, select

from responder.errors import StorageError
from responder.storage import schema

log = logging.getLogger(__name__)

Migration = Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    tables = [
        schema.cursors,
        schema.tickets,
        schema.inbound,
        schema.thread_ids,
        schema.replies,
        schema.suppressions,
    ]
    schema.metadata.create_all(conn, tables=tables)


# Append only: a released migration is never edited, so every database walks the same path.
MIGRATIONS: tuple[tuple[int, str, Migration], ...] = ((1, "initial schema", _v1_initial),)

LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    value = conn.execute(
        select(schema.schema_version.c.version)
        .order_by(schema.schema_version.c.version.desc())
        .limit(1)
    ).scalar()
    return int(value or 0)


def migrate(conn: Connection) -> int:
    """Bring the schema up to LATEST inside the caller's transaction; returns the version."""
    schema.metadata.create_all(conn, tables=[schema.schema_version])
    version = current_version(conn)
    if version > LATEST:
        raise StorageError(
            f"the database is at schema version {version}, newer than this responder "
            f"({LATEST}); upgrade responder or restore a matching backup"
        )
    for number, title, step in MIGRATIONS:
        if number <= version:
            continue
        log.info("applying database migration %d: %s", number, title)
        step(conn)
        conn.execute(
            schema.schema_version.insert().values(version=number, applied_at=datetime.now(UTC))
        )
        version = number
    return version
