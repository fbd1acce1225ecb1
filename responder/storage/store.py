"""The Store: every read and write the daemon makes, each a short transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from responder.core.outcome import Outcome
from responder.core.view import View
from responder.domain.models import Cursor, Delivered, Failing, InboundMessage, MailMark
from responder.domain.records import (
    InboundRow,
    ReplyMark,
    ReplyRow,
    pk,
    reply_row,
)
from responder.errors import StorageError, StorageUnavailable
from responder.storage import schema
from responder.storage.chat_view import ChatKeys, load_chat_view
from responder.storage.decisions import Queued, apply_outcomes
from responder.storage.engine import cause, open_engine, where
from responder.storage.marks import claim_early, record_marks
from responder.storage.meta import first_start
from responder.storage.views import load_view

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Called inside the transaction that changed these tickets (opened, answered, closed...), so
# their SLA timers (issue 5) and surveys (issue 6) are re-planned atomically with the change.
OnChange = Callable[[AsyncConnection, set[int], datetime], Awaitable[None]]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Async access to the database; opens, migrates and closes it."""

    def __init__(self, url: str, clock: Clock = utcnow) -> None:
        self._url = url
        self._clock = clock
        self._engine: AsyncEngine | None = None
        # One connection for the daemon's life: checking one out of the pool per transaction
        # costs a reset round trip each time.
        self._conn: AsyncConnection | None = None
        # SQLite allows one writer; serialising here avoids "database is locked" retries and
        # keeps each unit of work a single short transaction.
        self._lock = asyncio.Lock()
        self.on_change: list[OnChange] = []

    async def open(self) -> None:
        engine, version = await open_engine(self._url)
        log.info("database ready (schema version %d)", version)
        self._engine = engine
        self._conn = await engine.connect()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @property
    def where(self) -> str:
        return where(self._url)

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        if self._conn is None:
            raise StorageError("the store is not open")
        try:
            async with self._lock, self._conn.begin():
                yield self._conn
        except OperationalError as exc:
            # Disk full, read-only, I/O error, locked: the database's own condition, not a
            # bug. One line naming the cause and the file; callers retry (issue 13).
            raise StorageUnavailable(f"database {self.where}: {cause(exc)}") from exc

    # -- intake -----------------------------------------------------------------------------

    async def cursor(self, key: str) -> tuple[Cursor, datetime] | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(select(schema.cursors).where(schema.cursors.c.channel == key))
            ).first()
        if row is None:
            return None
        return Cursor(row.validity, row.position), row.updated_at

    async def record_inbound(
        self,
        channel: str,
        batch: Sequence[InboundMessage],
        cursor: Cursor | None,
        key: str | None = None,
    ) -> list[int]:
        """Record new messages and advance the cursor in one transaction; skip ones seen before.

        Dedupe is by (channel, external_id), so a UIDVALIDITY re-sync or a re-fetch after a
        crash never makes a second row for the same message.
        """
        now = self._clock()
        ids: list[int] = []
        async with self._tx() as conn:
            wanted = {m.external_id for m in batch}
            known: set[str] = set()
            if wanted:
                rows = await conn.execute(
                    select(schema.inbound.c.external_id).where(
                        schema.inbound.c.channel == channel,
                        schema.inbound.c.external_id.in_(wanted),
                    )
                )
                known = {r.external_id for r in rows}
            for message in batch:
                if message.external_id in known:
                    continue
                known.add(message.external_id)
                # Values as parameters, not .values(): SQLAlchemy's statement cache keeps the
                # first statement it compiled, and with it that message's bytes, for good.
                result = await conn.execute(
                    schema.inbound.insert(),
                    {
                        "channel": channel,
                        "external_id": message.external_id,
                        "raw": message.raw,
                        "received_at": message.received_at,
                        "recorded_at": now,
                        "state": "new",
                    },
                )
                ids.append(pk(result.inserted_primary_key))
            if cursor is not None:
                await self._save_cursor(conn, key or channel, cursor, now)
        return ids

    async def _save_cursor(
        self, conn: AsyncConnection, channel: str, cursor: Cursor, now: datetime
    ) -> None:
        table = schema.cursors
        values = {"validity": cursor.validity, "position": cursor.position, "updated_at": now}
        result = await conn.execute(update(table).where(table.c.channel == channel).values(values))
        if result.rowcount == 0:
            await conn.execute(table.insert().values(channel=channel, **values))

    async def record_marks(
        self, channel: str, marks: Sequence[MailMark], key: str, cursor: Cursor | None
    ) -> set[int]:
        """Record staff marks (see storage.marks) and move the cursor under `key`, in one
        transaction; returns the tickets that changed."""
        now = self._clock()
        async with self._tx() as conn:
            touched = await record_marks(conn, channel, marks, now)
            if touched:
                await self._changed(conn, touched, now)
            if cursor is not None:
                await self._save_cursor(conn, key, cursor, now)
        return touched

    async def pending_inbound(self) -> list[int]:
        async with self._tx() as conn:
            rows = await conn.execute(
                select(schema.inbound.c.id)
                .where(schema.inbound.c.state == "new")
                .order_by(schema.inbound.c.id)
            )
            return [r.id for r in rows]

    async def note_undecided(self, failing: Sequence[Failing]) -> None:
        """How often these messages failed to be decided, and why last, for `status`."""
        t = schema.inbound
        async with self._tx() as conn:
            await conn.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(attempts=bindparam("b_attempts"), last_error=bindparam("b_error")),
                [
                    {"b_id": f.inbound_id, "b_attempts": f.attempts, "b_error": f.error}
                    for f in failing
                ],
            )

    async def inbound_many(self, ids: Sequence[int], prefix: int | None = None) -> list[InboundRow]:
        """The messages among `ids` still to be decided, in arrival order; with `prefix`, only
        that many bytes of each message (the rest, attachments, is left in the database)."""
        t = schema.inbound
        raw = t.c.raw if prefix is None else func.substr(t.c.raw, 1, prefix, type_=t.c.raw.type)
        columns = (t.c.id, t.c.channel, t.c.external_id, raw.label("raw"), t.c.received_at)
        async with self._tx() as conn:
            rows = await conn.execute(
                select(*columns, t.c.state, t.c.ticket_id)
                .where(t.c.id.in_(list(ids)), t.c.state == "new")
                .order_by(t.c.id)
            )
            return [
                InboundRow(
                    r.id, r.channel, r.external_id, r.raw, r.received_at, r.state, r.ticket_id
                )
                for r in rows
            ]

    async def inbound_sizes(self, ids: Sequence[int]) -> list[tuple[int, int]]:
        """(id, bytes) of the messages among `ids` still to be decided, in arrival order, so
        they can be loaded in runs bounded by bytes; length() reads no message content."""
        t = schema.inbound
        async with self._tx() as conn:
            rows = await conn.execute(
                select(t.c.id, func.length(t.c.raw))
                .where(t.c.id.in_(list(ids)), t.c.state == "new")
                .order_by(t.c.id)
            )
            return [(r[0], r[1] or 0) for r in rows]

    async def first_started(self, key: str) -> tuple[datetime, bool]:
        """When intake under `key` was first started, and whether that is now (see meta)."""
        async with self._tx() as conn:
            return await first_start(conn, key, self._clock())

    # -- deciding ---------------------------------------------------------------------------

    async def view(
        self,
        message_ids: Iterable[str],
        refs: Iterable[str],
        targets: Iterable[str],
        since: datetime,
        periods: Iterable[str] = (),
    ) -> View:
        async with self._tx() as conn:
            return await load_view(conn, message_ids, refs, targets, since, periods)

    async def chat_view(self, keys: ChatKeys, since: datetime, periods: Iterable[str] = ()) -> View:
        async with self._tx() as conn:
            return await load_chat_view(conn, keys, since, periods)

    async def apply(self, outcomes: Sequence[Outcome]) -> list[Queued]:
        now = self._clock()
        async with self._tx() as conn:
            queued, touched = await apply_outcomes(conn, outcomes, now)
            if touched:
                await claim_early(conn, touched, now)
            if touched:
                await self._changed(conn, touched, now)
            return queued

    async def _changed(self, conn: AsyncConnection, touched: set[int], now: datetime) -> None:
        for hook in self.on_change:
            await hook(conn, touched, now)

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """One transaction, for the modules that keep their SQL beside their logic (SLA)."""
        return self._tx()

    # -- sending ----------------------------------------------------------------------------

    async def unsent_replies(self) -> list[ReplyRow]:
        r = schema.replies
        async with self._tx() as conn:
            rows = await conn.execute(select(r).where(r.c.state == "pending").order_by(r.c.id))
            return [reply_row(row) for row in rows]

    async def reply_facts(
        self, ids: Sequence[int] | None = None
    ) -> dict[int, tuple[str, datetime]]:
        """Kind and creation time of the replies `ids`, or of every pending reply: what the
        outbox dates expiry and giving up from."""
        r = schema.replies
        query = select(r.c.id, r.c.kind, r.c.created_at)
        if ids is None:
            query = query.where(r.c.state == "pending")
        else:
            query = query.where(r.c.id.in_(list(ids)))
        async with self._tx() as conn:
            return {row.id: (row.kind, row.created_at) for row in await conn.execute(query)}

    async def mark_replies(self, marks: Sequence[ReplyMark]) -> None:
        """Record the outcome of several tries in one transaction, in order."""
        if not marks:
            return
        r = schema.replies
        async with self._tx() as conn:
            await conn.execute(
                update(r)
                .where(r.c.id == bindparam("b_id"))
                .values(
                    state=bindparam("b_state"),
                    attempts=bindparam("b_attempts"),
                    last_error=bindparam("b_error"),
                    next_attempt_at=bindparam("b_next"),
                    sent_at=bindparam("b_sent"),
                ),
                [
                    {
                        "b_id": m.reply_id,
                        "b_state": m.state,
                        "b_attempts": m.attempts,
                        "b_error": m.last_error,
                        "b_next": m.next_attempt_at,
                        "b_sent": m.sent_at,
                    }
                    for m in marks
                ],
            )
            delivered = [(m.reply_id, m.delivered) for m in marks if m.delivered is not None]
            if delivered:
                await _record_delivered(conn, delivered)

    async def mark_blocked(self, channel: str, recipients: Iterable[str]) -> None:
        """The recipients refused our messages (Telegram 403) as of now."""
        b, now = schema.blocked, self._clock()
        async with self._tx() as conn:
            for recipient in recipients:
                await conn.execute(
                    delete(b).where(b.c.channel == channel, b.c.recipient == recipient)
                )
                await conn.execute(
                    b.insert().values(channel=channel, recipient=recipient, since=now)
                )

    # -- inspection (tests, demo, status) ---------------------------------------------------

    async def rows(self, table: str, **where: Any) -> list[dict[str, Any]]:
        t = schema.metadata.tables[table]
        query = select(t)
        for key, value in where.items():
            query = query.where(t.c[key] == value)
        async with self._tx() as conn:
            return [
                dict(r._mapping)
                for r in await conn.execute(query.order_by(t.c[t.primary_key.columns.keys()[0]]))
            ]


async def _record_delivered(conn: AsyncConnection, delivered: list[tuple[int, Delivered]]) -> None:
    """The ids Telegram gave what we sent: a staff member's reply to a post finds its ticket."""
    r = schema.replies
    await conn.execute(
        update(r)
        .where(r.c.id == bindparam("b_id"))
        .values(external_id=bindparam("b_external"), thread=bindparam("b_thread")),
        [
            {
                "b_id": reply_id,
                "b_external": d.message_ids[0] if d.message_ids else None,
                "b_thread": d.thread,
            }
            for reply_id, d in delivered
        ],
    )
    posts = [
        {"channel": d.channel, "chat": d.chat, "message_id": m, "reply_id": reply_id}
        for reply_id, d in delivered
        for m in d.message_ids
    ]
    if posts:
        await conn.execute(schema.posts.insert(), posts)
