"""The Store: every read and write the daemon makes, each a short transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from responder.errors import StorageError
from responder.models import Cursor, InboundMessage
from responder.storage import schema
from responder.storage.migrations import migrate
from responder.storage.records import (
    InboundRow,
    NewReply,
    NewTicket,
    ReplyRow,
    TicketRow,
    pk,
    reply_row,
    ticket_row,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Async access to the database; opens, migrates and closes it."""

    def __init__(self, url: str, clock: Clock = utcnow) -> None:
        self._url = url
        self._clock = clock
        self._engine: AsyncEngine | None = None
        # SQLite allows one writer; serialising here avoids "database is locked" retries and
        # keeps each unit of work a single short transaction.
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        url = make_url(self._url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(self._url, pool_size=1, max_overflow=0)
        if url.get_backend_name() == "sqlite":
            _sqlite_pragmas(engine)
        try:
            async with engine.begin() as conn:
                version = await conn.run_sync(migrate)
        except SQLAlchemyError as exc:
            await engine.dispose()
            raise StorageError(f"cannot open the database: {exc}") from exc
        except BaseException:
            await engine.dispose()
            raise
        log.info("database ready (schema version %d)", version)
        self._engine = engine

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        if self._engine is None:
            raise StorageError("the store is not open")
        async with self._lock, self._engine.begin() as conn:
            yield conn

    # -- intake -----------------------------------------------------------------------------

    async def cursor(self, channel: str) -> tuple[Cursor, datetime] | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(schema.cursors).where(schema.cursors.c.channel == channel)
                )
            ).first()
        if row is None:
            return None
        return Cursor(row.validity, row.position), row.updated_at

    async def record_inbound(
        self, channel: str, batch: Sequence[InboundMessage], cursor: Cursor | None
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
                result = await conn.execute(
                    schema.inbound.insert().values(
                        channel=channel,
                        external_id=message.external_id,
                        raw=message.raw,
                        received_at=message.received_at,
                        recorded_at=now,
                        state="new",
                    )
                )
                ids.append(pk(result.inserted_primary_key))
            if cursor is not None:
                await self._save_cursor(conn, channel, cursor, now)
        return ids

    async def _save_cursor(
        self, conn: AsyncConnection, channel: str, cursor: Cursor, now: datetime
    ) -> None:
        table = schema.cursors
        values = {"validity": cursor.validity, "position": cursor.position, "updated_at": now}
        result = await conn.execute(update(table).where(table.c.channel == channel).values(values))
        if result.rowcount == 0:
            await conn.execute(table.insert().values(channel=channel, **values))

    async def pending_inbound(self) -> list[int]:
        async with self._tx() as conn:
            rows = await conn.execute(
                select(schema.inbound.c.id)
                .where(schema.inbound.c.state == "new")
                .order_by(schema.inbound.c.id)
            )
            return [r.id for r in rows]

    async def inbound(self, inbound_id: int) -> InboundRow | None:
        t = schema.inbound
        async with self._tx() as conn:
            row = (await conn.execute(select(t).where(t.c.id == inbound_id))).first()
        if row is None:
            return None
        return InboundRow(
            row.id, row.channel, row.external_id, row.raw, row.received_at, row.state, row.ticket_id
        )

    # -- deciding ---------------------------------------------------------------------------

    async def ticket_for_thread(self, message_ids: Iterable[str]) -> TicketRow | None:
        ids = [m for m in message_ids if m]
        if not ids:
            return None
        t, th = schema.tickets, schema.thread_ids
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(t)
                    .join(th, th.c.ticket_id == t.c.id)
                    .where(th.c.message_id.in_(ids))
                    .order_by(t.c.id)
                    .limit(1)
                )
            ).first()
        return ticket_row(row) if row is not None else None

    async def ticket_by_ref(self, ref: str) -> TicketRow | None:
        t = schema.tickets
        async with self._tx() as conn:
            row = (await conn.execute(select(t).where(t.c.ref == ref))).first()
        return ticket_row(row) if row is not None else None

    async def ref_exists(self, ref: str) -> bool:
        return await self.ticket_by_ref(ref) is not None

    async def recent_replies_to(self, recipient: str, since: datetime) -> int:
        r = schema.replies
        async with self._tx() as conn:
            value = await conn.scalar(
                select(func.count())
                .select_from(r)
                .where(r.c.recipient == recipient, r.c.created_at >= since, r.c.state != "parked")
            )
        return int(value or 0)

    async def finish_suppressed(
        self, inbound_id: int, channel: str, rule: str, reason: str, sender: str | None
    ) -> None:
        now = self._clock()
        async with self._tx() as conn:
            await conn.execute(
                schema.suppressions.insert().values(
                    inbound_id=inbound_id,
                    channel=channel,
                    rule=rule,
                    reason=reason,
                    sender=sender,
                    created_at=now,
                )
            )
            await self._done(conn, inbound_id, "suppressed", None, sender, None)

    async def finish_followup(
        self,
        inbound_id: int,
        ticket_id: int,
        message_id: str | None,
        sender: str | None,
        subject: str,
    ) -> None:
        async with self._tx() as conn:
            await self._thread(conn, ticket_id, [message_id])
            await conn.execute(
                update(schema.tickets)
                .where(schema.tickets.c.id == ticket_id)
                .values(updated_at=self._clock())
            )
            await self._done(conn, inbound_id, "follow-up", ticket_id, sender, subject)

    async def finish_replied(
        self,
        inbound_id: int,
        channel: str,
        ticket: NewTicket,
        thread: Sequence[str | None],
        reply: NewReply,
    ) -> tuple[int, int]:
        """Open the ticket and queue its reply atomically; returns (ticket id, reply id)."""
        now = self._clock()
        async with self._tx() as conn:
            result = await conn.execute(
                schema.tickets.insert().values(
                    **ticket.__dict__, status="open", created_at=now, updated_at=now
                )
            )
            ticket_id = pk(result.inserted_primary_key)
            await self._thread(conn, ticket_id, [*thread, reply.message_id])
            result = await conn.execute(
                schema.replies.insert().values(
                    inbound_id=inbound_id,
                    ticket_id=ticket_id,
                    channel=channel,
                    **reply.__dict__,
                    state="pending",
                    attempts=0,
                    created_at=now,
                )
            )
            reply_id = pk(result.inserted_primary_key)
            await self._done(
                conn, inbound_id, "replied", ticket_id, ticket.customer, ticket.subject
            )
        return ticket_id, reply_id

    async def _thread(
        self, conn: AsyncConnection, ticket_id: int, message_ids: Sequence[str | None]
    ) -> None:
        wanted = {m for m in message_ids if m}
        if not wanted:
            return
        th = schema.thread_ids
        rows = await conn.execute(select(th.c.message_id).where(th.c.message_id.in_(wanted)))
        for message_id in wanted - {r.message_id for r in rows}:
            await conn.execute(th.insert().values(message_id=message_id, ticket_id=ticket_id))

    async def _done(
        self,
        conn: AsyncConnection,
        inbound_id: int,
        outcome: str,
        ticket_id: int | None,
        sender: str | None,
        subject: str | None,
    ) -> None:
        await conn.execute(
            update(schema.inbound)
            .where(schema.inbound.c.id == inbound_id)
            .values(
                state="done",
                outcome=outcome,
                ticket_id=ticket_id,
                sender=sender,
                subject=subject[:400] if subject else subject,
            )
        )

    # -- sending ----------------------------------------------------------------------------

    async def reply(self, reply_id: int) -> ReplyRow | None:
        r = schema.replies
        async with self._tx() as conn:
            row = (await conn.execute(select(r).where(r.c.id == reply_id))).first()
        return reply_row(row) if row is not None else None

    async def unsent_replies(self) -> list[ReplyRow]:
        r = schema.replies
        async with self._tx() as conn:
            rows = await conn.execute(
                select(r).where(r.c.state.in_(("pending", "sending"))).order_by(r.c.id)
            )
            return [reply_row(row) for row in rows]

    async def mark_reply(self, reply_id: int, state: str, **values: Any) -> None:
        if state == "sent":
            values.setdefault("sent_at", self._clock())
        async with self._tx() as conn:
            await conn.execute(
                update(schema.replies)
                .where(schema.replies.c.id == reply_id)
                .values(state=state, **values)
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


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    from sqlalchemy import event

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        # WAL lets readers (status, report) run beside the daemon. synchronous=NORMAL keeps
        # every commit across a process crash (kill -9); only a power cut can lose the last
        # commits, and then the cursor rolls back with them, so mail is re-read, never lost.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
