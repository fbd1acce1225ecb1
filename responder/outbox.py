"""The outbox: sends recorded replies, retries transient failures, parks permanent ones."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from responder.channels.base import Channel
from responder.errors import PermanentError, RecipientBlocked, TransientError
from responder.metrics import Metrics
from responder.models import OutboundReply
from responder.recorder import Recorder
from responder.retry import backoff
from responder.storage.records import ReplyMark
from responder.storage.store import Store
from responder.tasks import TaskGroup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=30)
    max_attempts: int = 12


@dataclass(frozen=True)
class Job:
    reply: OutboundReply
    attempts: int  # tries made before this one


class Outbox:
    """One sending worker per channel. A reply arrives fully built and already recorded as
    pending; each try's result is recorded right after it (`sent` straight after the
    server's 250), and that is the only write a sent reply costs."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        tasks: TaskGroup,
        clock: Callable[[], datetime],
        policy: RetryPolicy = RetryPolicy(),
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._channels = channels
        self._tasks = tasks
        self._clock = clock
        self._policy = policy
        self._queues: dict[tuple[str, str], asyncio.Queue[Job]] = {
            (name, lane): asyncio.Queue() for name, c in channels.items() for lane in c.lanes
        }
        workers = sum(sum(c.lanes.values()) for c in channels.values())
        self._recorder = Recorder(store, ahead=workers)
        self._sending = 0  # taken off a queue, try not finished
        self._waiting = 0  # sleeping until their retry time
        self._metrics = metrics or Metrics()
        self._metrics.watch_outbox(lambda: self.pending)

    @property
    def pending(self) -> int:
        """Replies not yet sent or parked that this run holds: queued, sending, or waiting
        to retry."""
        return sum(q.qsize() for q in self._queues.values()) + self._sending + self._waiting

    def start(self) -> None:
        self._tasks.spawn(self._recorder.run(), name="outbox:recorder")
        for name, channel in self._channels.items():
            for lane, concurrency in channel.lanes.items():
                for n in range(concurrency):
                    self._tasks.spawn(self._worker((name, lane)), name=f"outbox:{name}:{lane}:{n}")

    def _queue(self, reply: OutboundReply) -> asyncio.Queue[Job]:
        return self._queues[(reply.channel, self._channels[reply.channel].lane(reply))]

    def submit(self, reply: OutboundReply, attempts: int = 0) -> None:
        self._queue(reply).put_nowait(Job(reply, attempts))

    async def resume(self) -> int:
        """Queue what a previous run left pending. A reply the SMTP server took just before
        the process died goes again with the same Message-ID, a repeat mail clients fold."""
        rows = await self._store.unsent_replies()
        for row in rows:
            if row.channel not in self._channels:
                log.error(
                    "reply %d belongs to channel %r, which is not configured; left unsent",
                    row.id,
                    row.channel,
                )
                continue
            job = Job(
                OutboundReply(
                    row.id,
                    row.channel,
                    row.envelope_from,
                    (row.recipient,),
                    row.message,
                    row.message_id,
                ),
                row.attempts,
            )
            delay = 0.0
            if row.next_attempt_at is not None:
                delay = (row.next_attempt_at - self._clock()).total_seconds()
            self._later(job, delay)
        return len(rows)

    def _later(self, job: Job, delay: float) -> None:
        if delay <= 0:
            self._queue(job.reply).put_nowait(job)
        else:
            self._waiting += 1
            self._tasks.spawn(
                self._sleep_then_queue(job, delay), name=f"retry:{job.reply.reply_id}"
            )

    async def _sleep_then_queue(self, job: Job, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        finally:
            self._waiting -= 1
        self._queue(job.reply).put_nowait(job)

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued reply had its try and its outcome is recorded, or the
        deadline passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(
                asyncio.gather(*(q.join() for q in self._queues.values())), timeout
            )
            await asyncio.wait_for(self._recorder.flushed(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            return False
        return True

    async def _worker(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        while True:
            job = await queue.get()
            self._sending += 1
            try:
                await self._attempt(job)
            except Exception:
                log.exception(
                    "reply %d: unexpected failure in the outbox; retrying later", job.reply.reply_id
                )
                self._metrics.send_failed(job.reply.channel, "transient")
                self._later(Job(job.reply, job.attempts + 1), self._policy.base.total_seconds())
            finally:
                self._sending -= 1
                queue.task_done()

    async def _attempt(self, job: Job) -> None:
        reply, attempts = job.reply, job.attempts + 1
        try:
            delivered = await self._channels[reply.channel].send(reply)
        except RecipientBlocked as exc:
            self._metrics.send_failed(reply.channel, "permanent")
            await self._park(reply, attempts, f"blocked: {exc}")
            await self._store.mark_blocked(reply.channel, reply.recipients)
        except PermanentError as exc:
            self._metrics.send_failed(reply.channel, "permanent")
            await self._park(reply, attempts, f"permanent failure: {exc}")
        except TransientError as exc:
            self._metrics.send_failed(reply.channel, "transient")
            if attempts >= self._policy.max_attempts:
                await self._park(reply, attempts, f"gave up after {attempts} attempts: {exc}")
                return
            delay = exc.retry_after or backoff(
                attempts, self._policy.base.total_seconds(), self._policy.cap.total_seconds()
            )
            retry_at = self._clock() + timedelta(seconds=delay)
            await self._recorder.record(
                ReplyMark(reply.reply_id, "pending", attempts, str(exc), retry_at)
            )
            log.warning(
                "reply %d to %s: %s; retry %d in %.1fs",
                reply.reply_id,
                ", ".join(reply.recipients),
                exc,
                attempts + 1,
                delay,
            )
            self._later(Job(reply, attempts), delay)
        else:
            self._metrics.message_sent(reply.channel)
            sent = ReplyMark(
                reply.reply_id, "sent", attempts, sent_at=self._clock(), delivered=delivered
            )
            await self._recorder.record(sent)
            log.info(
                "reply %d sent to %s (%s)",
                reply.reply_id,
                ", ".join(reply.recipients),
                reply.message_id,
            )

    async def _park(self, reply: OutboundReply, attempts: int, why: str) -> None:
        self._metrics.send_failed(reply.channel, "parked")
        await self._recorder.record(ReplyMark(reply.reply_id, "parked", attempts, why))
        log.error(
            "reply %d to %s PARKED, not sent: %s. It stays in the database "
            "(replies table, state 'parked') for a person to look at.",
            reply.reply_id,
            ", ".join(reply.recipients),
            why,
        )
