"""PostgreSQL's LISTEN/NOTIFY between the instances sharing a database (issue 19): a notice
sent in a unit of work, and a dedicated connection that listens for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, text

from responder.storage import postgres
from responder.storage.engine import sync_url

# Where the web chat's notices go: one fixed channel for every chat channel of every
# instance on the database; the payload names the chat channel and visitor.
CHAT_NOTICES = "responder_webchat"
# PostgreSQL refuses a payload of 8000 bytes or more (NOTIFY's documentation); ours are a
# channel name, a visitor id and an instance id, far under it, and never a customer's words.
PAYLOAD_LIMIT = 7999
# The listening connection is idle for hours: the kernel's keepalives find a server that
# vanished without closing it (a cut cable, a failover) in about a minute, not at the
# TCP retransmission timeout's quarter of an hour (libpq's keepalives_* parameters).
_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def notify(conn: Connection, channel: str, payload: str) -> None:
    """Send `payload` to every connection listening on `channel`: delivered when the
    transaction commits, so a listener then finds what the transaction wrote."""
    if len(payload.encode()) > PAYLOAD_LIMIT:
        raise ValueError(f"a notice of {len(payload.encode())} bytes: PostgreSQL takes < 8000")
    conn.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
    )


def _conninfo(url: str) -> dict[str, Any]:
    """libpq's parameters for `url`, as SQLAlchemy's psycopg dialect makes them for the
    daemon's own connection (host, port, database, user, password and the URL's query)."""
    parsed = sync_url(url)
    _args, params = parsed.get_dialect()().create_connect_args(parsed)
    return dict(params)


@asynccontextmanager
async def listening(url: str, channel: str) -> AsyncIterator[AsyncIterator[str]]:
    """A connection of its own LISTENing on `channel`: the payloads as they come, until the
    connection fails (psycopg.OperationalError: a server restart, a cut); closed on exit."""
    import psycopg
    from psycopg import sql

    args = {**postgres.connect_args(statement_timeout_ms=0), **_KEEPALIVES}
    args["application_name"] = "responder-listen"  # told apart in pg_stat_activity
    conn = await psycopg.AsyncConnection.connect(**_conninfo(url), **args, autocommit=True)
    try:
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        yield (notice.payload async for notice in conn.notifies())
    finally:
        await conn.close()
