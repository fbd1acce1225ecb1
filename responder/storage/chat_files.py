"""The website chat's files (issue 17): kept once under their key, read back only together
with the visitor they belong to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from responder.domain.models import FileData
from responder.storage import schema
from responder.storage.upsert import insert_or_ignore


def keep(
    conn: Connection, channel: str, visitor: str, key: str, file: FileData, at: datetime
) -> bool:
    """Keep `file` under (channel, visitor, key), unless one is kept there already (a
    retried upload is the same file); whether this call kept it."""
    f = schema.chat_files
    # A retry may reach another daemon behind the load balancer (issue 19): the unique key
    # decides, in the statement.
    stmt = insert_or_ignore(conn, f, ("channel", "visitor", "key")).returning(f.c.id)
    row = {
        "channel": channel,
        "visitor": visitor,
        "key": key,
        "name": file.name,
        "mime": file.mime,
        "size": len(file.content),
        "content": file.content,
        "created_at": at,
    }
    return conn.execute(stmt, row).first() is not None


def kept(conn: Connection, channel: str, visitor: str, key: str) -> FileData | None:
    """The file kept under (channel, visitor, key): another visitor's key finds nothing."""
    f = schema.chat_files
    query = select(f.c.content, f.c.name, f.c.mime).where(
        f.c.channel == channel, f.c.visitor == visitor, f.c.key == key
    )
    row = conn.execute(query).first()
    return None if row is None else FileData(bytes(row.content), row.name, row.mime)
