"""The Store: every read and write the daemon makes, each unit of work one transaction."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DataError, OperationalError

from responder.core.outcome import Outcome
from responder.core.view import View
from responder.domain.models import (
    ChatEntry,
    Cursor,
    DeliveryReport,
    Failing,
    FileData,
    InboundMessage,
    MailMark,
)
from responder.domain.records import InboundRow, Queued, ReplyMark, ReplyRow
from responder.errors import StorageError, StorageRefused, StorageUnavailable
from responder.storage import chat_files, chat_log, claims, delivery, inbound, replies, schema
from responder.storage.chat_view import ChatKeys, load_chat_view
from responder.storage.db_thread import DatabaseThread
from responder.storage.decisions import apply_outcomes
from responder.storage.engine import cause, is_postgresql, open_engine, where
from responder.storage.marks import claim_early, record_marks
from responder.storage.meta import first_start, kept_secret
from responder.storage.notices import listening
from responder.storage.views import load_view

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# The open transaction a unit of work runs in: handed to the storage functions, never used
# for SQL of one's own.
Tx = Connection
Now = Callable[[], datetime]  # time is injected (tests pass their own)
# Run after the unit of work that called it has committed, on the event loop.
AfterCommit = Callable[[], None]
# Called inside the transaction that changed these tickets (opened, answered, closed...), so
# their SLA timers (issue 5) and surveys (issue 6) are re-planned atomically with the change;
# what it returns runs once that transaction has committed (arming wake-ups, say).
OnChange = Callable[[Tx, set[int], datetime], AfterCommit | None]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Async access to the database; opens, migrates and closes it.

    Every unit of work (record a batch, apply a batch of decisions, record a batch of send
    results...) is one function run in the store's own database thread, in one transaction:
    one hand-over each way, however many statements it takes. The thread runs one unit at a
    time, in the order they were asked for (send results first), which is also what SQLite's
    one writer wants.
    """

    def __init__(self, url: str, clock: Now = utcnow, owner: str | None = None) -> None:
        self._url = url
        self._clock = clock
        # This instance's id (issue 19): the replies it plans and the messages it records are
        # its own to send and decide (storage.claims). Without one, an id of its own that no
        # presence lease keeps alive: what it leaves, any instance may take.
        self.owner: str = owner if owner is not None else f"store:{secrets.token_hex(4)}"
        self._engine: Engine | None = None
        # One connection for the daemon's life, used only in the database thread.
        self._conn: Connection | None = None
        self._thread: DatabaseThread | None = None
        self.on_change: list[OnChange] = []
        # Closed without waiting for a unit the database did not answer: a normal interpreter
        # exit would wait for it when it frees the connection (the driver closes it under the
        # unit's lock wait), up to SQLite's busy or PostgreSQL's lock timeout.
        self.abandoned = False

    async def open(self) -> None:
        thread = DatabaseThread()
        try:
            opened = await asyncio.get_running_loop().run_in_executor(
                thread, open_engine, self._url
            )
        except BaseException:
            thread.shutdown(wait=False)
            raise
        self._engine, self._conn, version = opened
        self._thread = thread
        log.info("database ready (schema version %d)", version)

    async def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        conn, engine, self._conn, self._engine = self._conn, self._engine, None, None

        def closing() -> None:
            if conn is not None:
                conn.close()
            if engine is not None:
                engine.dispose()

        try:
            # Queued behind whatever units are still running: they finish first.
            await asyncio.get_running_loop().run_in_executor(thread, closing)
        except asyncio.CancelledError:
            # Cut short (the stop's deadline, app.shutdown): a unit the database does not
            # answer keeps the connection, and it is left to the thread (see `abandoned`).
            self.abandoned = True
            raise
        finally:
            thread.shutdown(wait=False)

    @property
    def where(self) -> str:
        return where(self._url)

    @property
    def postgresql(self) -> bool:
        """Whether the database is PostgreSQL: LISTEN/NOTIFY between instances (issue 19)."""
        return is_postgresql(self._url)

    def listen(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        """A connection of its own listening on `channel` (PostgreSQL: storage.notices)."""
        return listening(self._url, channel)

    async def _unit(self, work: Callable[[Tx, list[AfterCommit]], T], urgent: bool = False) -> T:
        """Run `work` in one transaction in the database thread; then, on the event loop,
        what it asked to run after the commit. An urgent unit goes before waiting ones."""
        thread, conn = self._thread, self._conn
        if thread is None or conn is None:
            raise StorageError("the store is not open")
        after: list[AfterCommit] = []

        def unit() -> T:
            with conn.begin():
                return work(conn, after)

        try:
            if urgent:
                result = await asyncio.wrap_future(thread.submit_urgent(unit))
            else:
                result = await asyncio.get_running_loop().run_in_executor(thread, unit)
        except OperationalError as exc:
            # Disk full, read-only, I/O error, locked: the database's own condition, not a
            # bug. One line naming the cause and the file; callers retry (issue 13).
            raise StorageUnavailable(f"database {self.where}: {cause(exc, self._url)}") from exc
        except DataError as exc:
            # One row's value, not the database's condition: said in one line, and the
            # callers set that row aside and go on with the others (issue 19).
            reason = cause(exc, self._url)
            raise StorageRefused(f"database {self.where} refused a value: {reason}") from exc
        loop = asyncio.get_running_loop()
        for action in after:
            # Once the caller has acted on the result (the replies it queued go to the outbox
            # first), not in the middle of it.
            loop.call_soon(action)
        return result

    async def run(
        self, work: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """One unit of work in one transaction: storage functions, and the pure planning
        between them, that the services compose."""
        return await self._unit(lambda conn, _after: work(conn, *args, **kwargs))

    async def run_urgent(
        self, work: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """As run(), ahead of the units waiting: a lease's heartbeat (issue 19) must not wait
        behind a backlog's batches until its hold runs out."""
        return await self._unit(lambda conn, _after: work(conn, *args, **kwargs), urgent=True)

    def _changed(
        self, conn: Tx, touched: set[int], now: datetime, after: list[AfterCommit]
    ) -> None:
        for hook in self.on_change:
            action = hook(conn, touched, now)
            if action is not None:
                after.append(action)

    # -- intake -----------------------------------------------------------------------------

    async def cursor(self, key: str) -> tuple[Cursor, datetime] | None:
        return await self.run(inbound.cursor, key)

    async def record_inbound(
        self,
        channel: str,
        batch: Sequence[InboundMessage],
        cursor: Cursor | None,
        key: str | None = None,
    ) -> list[int]:
        """Record new messages and advance the cursor in one transaction (see inbound.record)."""
        return await self.run(
            inbound.record, channel, batch, cursor, key or channel, self._clock(), self.owner
        )

    async def record_marks(
        self, channel: str, marks: Sequence[MailMark], key: str, cursor: Cursor | None
    ) -> set[int]:
        """Record staff marks (see storage.marks) and move the cursor under `key`, in one
        transaction; returns the tickets that changed."""
        now = self._clock()

        def work(conn: Tx, after: list[AfterCommit]) -> set[int]:
            touched = record_marks(conn, channel, marks, now)
            if touched:
                self._changed(conn, touched, now, after)
            if cursor is not None:
                inbound.save_cursor(conn, key, cursor, now)
            return touched

        return await self._unit(work)

    async def pending_inbound(self) -> list[int]:
        return await self.run(inbound.pending)

    async def claim_inbound(self, dead: Collection[str] = ()) -> list[int]:
        """Take a batch of messages still to be decided that no live instance decides (see
        storage.claims); their ids."""
        return await self.run(claims.inbound, self.owner, self._clock(), dead)

    async def note_undecided(self, failing: Sequence[Failing]) -> None:
        """How often these messages failed to be decided, and why last, for `status`."""
        await self.run(inbound.note_undecided, failing)

    async def inbound_many(self, ids: Sequence[int], prefix: int | None = None) -> list[InboundRow]:
        """The messages among `ids` still to be decided (see inbound.many)."""
        return await self.run(inbound.many, ids, prefix)

    async def inbound_sizes(self, ids: Sequence[int]) -> list[tuple[int, int]]:
        """(id, bytes) of the messages among `ids` still to be decided, in arrival order."""
        return await self.run(inbound.sizes, ids)

    async def first_started(self, key: str) -> tuple[datetime, bool]:
        """When intake under `key` was first started, and whether that is now (see meta)."""
        return await self.run(first_start, key, self._clock())

    async def kept_secret(self, key: str, new: str) -> str:
        """The secret kept under `key` in the meta table, `new` at the first call."""
        return await self.run(kept_secret, key, new)

    async def conversation(
        self, channel: str, prefix: str, recipient: str, since: datetime | None, limit: int
    ) -> list[ChatEntry]:
        """A chat customer's messages and our replies to them (see chat_log.conversation)."""
        return await self.run(chat_log.conversation, channel, prefix, recipient, since, limit)

    async def recorded(self, channel: str, external_id: str) -> ChatEntry | None:
        return await self.run(chat_log.recorded, channel, external_id)

    async def keep_chat_file(self, channel: str, visitor: str, key: str, file: FileData) -> bool:
        """Keep a web chat file (see chat_files.keep); whether it is new."""
        return await self.run(chat_files.keep, channel, visitor, key, file, self._clock())

    async def chat_file(self, channel: str, visitor: str, key: str) -> FileData | None:
        return await self.run(chat_files.kept, channel, visitor, key)

    # -- deciding ---------------------------------------------------------------------------

    async def view(
        self,
        message_ids: Iterable[str],
        refs: Iterable[str],
        targets: Iterable[str],
        since: datetime,
        periods: Iterable[str] = (),
    ) -> View:
        return await self.run(load_view, message_ids, refs, targets, since, periods)

    async def chat_view(self, keys: ChatKeys, since: datetime, periods: Iterable[str] = ()) -> View:
        return await self.run(load_chat_view, keys, since, periods)

    async def apply(self, outcomes: Sequence[Outcome]) -> tuple[list[Queued], set[int]]:
        """Record a batch of decisions in one transaction; the replies to send, in order, and
        the messages to decide again (another daemon overtook their view: issue 19)."""
        now = self._clock()

        def work(conn: Tx, after: list[AfterCommit]) -> tuple[list[Queued], set[int]]:
            queued, touched, again = apply_outcomes(conn, outcomes, now, self.owner)
            if touched:
                claim_early(conn, touched, now)
                self._changed(conn, touched, now, after)
            return queued, again

        return await self._unit(work)

    async def changing(self, work: Callable[[Tx], tuple[T, set[int]]]) -> T:
        """A unit of work that changes tickets outside a batch (a timer closed them): `work`
        returns its result and the tickets it changed, re-planned by on_change in it."""
        now = self._clock()

        def unit(conn: Tx, after: list[AfterCommit]) -> T:
            result, touched = work(conn)
            if touched:
                self._changed(conn, touched, now, after)
            return result

        return await self._unit(unit)

    # -- sending ----------------------------------------------------------------------------

    async def unsent_replies(self) -> list[ReplyRow]:
        return await self.run(replies.unsent)

    async def claim_replies(self, dead: Collection[str] = ()) -> list[ReplyRow]:
        """Take a batch of pending replies no live instance sends (see storage.claims)."""
        return await self.run(claims.replies, self.owner, self._clock(), dead)

    async def owned_replies(self, ids: Collection[int]) -> set[int]:
        """Of the replies `ids`, those still this instance's to send (storage.claims)."""
        return await self.run_urgent(claims.owned_replies, list(ids), self.owner)

    async def reply_facts(
        self, ids: Sequence[int] | None = None
    ) -> dict[int, tuple[str, datetime]]:
        """Kind and creation time of the replies `ids`, or of every pending reply."""
        return await self.run(replies.facts, ids)

    async def mark_replies(self, marks: Sequence[ReplyMark]) -> None:
        """Record the outcome of several tries in one transaction, in order."""
        if marks:
            # Urgent: senders wait for it (services/recorder.py), not for a burst's deciding.
            await self._unit(lambda conn, _after: replies.mark(conn, marks), urgent=True)

    async def mark_blocked(self, channel: str, recipients: Iterable[str]) -> None:
        """The recipients refused our messages (Telegram 403) as of now."""
        await self.run(replies.mark_blocked, channel, list(recipients), self._clock())

    async def record_delivery(
        self, channel: str, reports: Sequence[DeliveryReport]
    ) -> delivery.Recorded:
        """What the platform reported of the channel's replies (see storage.delivery)."""
        return await self.run(delivery.record, channel, reports, self._clock())

    # -- inspection (tests, demo, status) ---------------------------------------------------

    async def rows(self, table: str, **where: Any) -> list[dict[str, Any]]:
        t = schema.metadata.tables[table]
        query = select(t)
        for key, value in where.items():
            query = query.where(t.c[key] == value)
        order = t.c[t.primary_key.columns.keys()[0]]

        def read(conn: Tx) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(query.order_by(order))]

        return await self.run(read)
