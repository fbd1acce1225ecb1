"""The outbox: sends recorded replies, retries transient failures, parks permanent ones."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from responder.channels.base import Channel
from responder.errors import PermanentError, TransientError
from responder.models import OutboundReply
from responder.retry import backoff
from responder.storage.records import ReplyRow
from responder.storage.store import Store
from responder.tasks import TaskGroup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=30)
    max_attempts: int = 12


class Outbox:
    """One sending worker per channel; every state change is recorded before the next step."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        tasks: TaskGroup,
        clock: Callable[[], datetime],
        policy: RetryPolicy = RetryPolicy(),
    ) -> None:
        self._store = store
        self._channels = channels
        self._tasks = tasks
        self._clock = clock
        self._policy = policy
        self._queues: dict[str, asyncio.Queue[int]] = {name: asyncio.Queue() for name in channels}
        self._unknown: set[int] = set()

    def start(self) -> None:
        for name in self._channels:
            self._tasks.spawn(self._worker(name), name=f"outbox:{name}")

    def submit(self, reply_id: int, channel: str) -> None:
        self._queues[channel].put_nowait(reply_id)

    async def resume(self) -> int:
        """Queue what a previous run left unsent; a reply caught mid-send goes out again with
        the same Message-ID, so the rare duplicate is one mail clients fold together."""
        rows = await self._store.unsent_replies()
        for row in rows:
            if row.state == "sending":
                log.warning(
                    "reply %d to %s may have been sent before the last stop; "
                    "sending again with the same Message-ID",
                    row.id,
                    row.recipient,
                )
            self._schedule(row)
        return len(rows)

    def _schedule(self, row: ReplyRow) -> None:
        if row.channel not in self._queues:
            log.error(
                "reply %d belongs to channel %r, which is not configured; left unsent",
                row.id,
                row.channel,
            )
            return
        delay = 0.0
        if row.next_attempt_at is not None:
            delay = max(0.0, (row.next_attempt_at - self._clock()).total_seconds())
        if delay <= 0:
            self._queues[row.channel].put_nowait(row.id)
        else:
            self._tasks.spawn(self._later(row.channel, row.id, delay), name=f"retry:{row.id}")

    async def _later(self, channel: str, reply_id: int, delay: float) -> None:
        await asyncio.sleep(delay)
        self._queues[channel].put_nowait(reply_id)

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued reply had its try, or the deadline passes."""
        joins = [asyncio.ensure_future(q.join()) for q in self._queues.values()]
        _done, pending = await asyncio.wait(joins, timeout=timeout) if joins else (set(), set())
        for task in pending:
            task.cancel()
        return not pending

    async def _worker(self, name: str) -> None:
        queue = self._queues[name]
        while True:
            reply_id = await queue.get()
            try:
                await self._attempt(reply_id)
            except Exception:
                log.exception(
                    "reply %d: unexpected failure in the outbox; retrying later", reply_id
                )
                self._tasks.spawn(
                    self._later(name, reply_id, self._policy.base.total_seconds()),
                    name=f"retry:{reply_id}",
                )
            finally:
                queue.task_done()

    async def _attempt(self, reply_id: int) -> None:
        row = await self._store.reply(reply_id)
        if row is None or row.state in ("sent", "parked"):
            return
        attempts = row.attempts + 1
        await self._store.mark_reply(row.id, "sending", attempts=attempts)
        try:
            await self._channels[row.channel].send(
                OutboundReply(
                    row.id,
                    row.channel,
                    row.envelope_from,
                    (row.recipient,),
                    row.message,
                    row.message_id,
                )
            )
        except PermanentError as exc:
            await self._park(row, f"permanent failure: {exc}")
        except TransientError as exc:
            if attempts >= self._policy.max_attempts:
                await self._park(row, f"gave up after {attempts} attempts: {exc}")
                return
            delay = exc.retry_after or backoff(
                attempts, self._policy.base.total_seconds(), self._policy.cap.total_seconds()
            )
            retry_at = self._clock() + timedelta(seconds=delay)
            await self._store.mark_reply(
                row.id, "pending", last_error=str(exc), next_attempt_at=retry_at
            )
            log.warning(
                "reply %d to %s: %s; retry %d in %.0fs",
                row.id,
                row.recipient,
                exc,
                attempts + 1,
                delay,
            )
            self._tasks.spawn(self._later(row.channel, row.id, delay), name=f"retry:{row.id}")
        else:
            await self._store.mark_reply(row.id, "sent", last_error=None)
            log.info("reply %d sent to %s (%s)", row.id, row.recipient, row.message_id)

    async def _park(self, row: ReplyRow, why: str) -> None:
        await self._store.mark_reply(row.id, "parked", last_error=why)
        log.error(
            "reply %d to %s PARKED, not sent: %s. It stays in the database "
            "(replies table, state 'parked') for a person to look at.",
            row.id,
            row.recipient,
            why,
        )
