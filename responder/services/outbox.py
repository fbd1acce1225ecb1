"""The outbox: sends recorded replies, retries transient failures for their lifetime (all at
once when a channel's server is back), parks permanent ones, drops stale acknowledgements."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from responder.channels.base import Channel, Probing
from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.domain.models import Delivered, OutboundReply
from responder.domain.records import ReplyMark
from responder.errors import SignInRefused
from responder.services.delivery_policy import (
    Expire,
    Park,
    ReplyFacts,
    RetryPolicy,
    after_failure,
    stale,
)
from responder.services.outbox_fence import Fence
from responder.services.outbox_jobs import Job, classify, known_facts, leftovers
from responder.services.presence import Presence
from responder.services.recorder import Recorder
from responder.services.recovery import ChannelRecovery
from responder.storage import claims
from responder.storage.store import Store

__all__ = ["Job", "Outbox", "RetryPolicy"]

log = logging.getLogger(__name__)
DEFAULT_POLICY = RetryPolicy()


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
        policy: RetryPolicy = DEFAULT_POLICY,
        *,
        metrics: Metrics | None = None,
        presence: Presence | None = None,
    ) -> None:
        self._store = store
        self._channels = channels
        self._tasks = tasks
        self._clock = clock
        self._policy = policy
        self._queues: dict[tuple[str, str], asyncio.Queue[Job]] = {
            (name, lane): asyncio.Queue() for name, c in channels.items() for lane in c.lanes
        }
        # Probing more often than a reply would retry on its own gains nothing.
        interval = min(policy.probe_interval, policy.cap).total_seconds()
        self._recovery = {
            name: ChannelRecovery(
                name, c.probe if isinstance(c, Probing) else None, tasks, interval
            )
            for name, c in channels.items()
        }
        workers = sum(sum(c.lanes.values()) for c in channels.values())
        self._recorder = Recorder(store, ahead=workers)
        self._sending = 0  # taken off a queue, try not finished
        self._waiting = 0  # sleeping until their retry time
        self._metrics = metrics or Metrics()
        self._metrics.watch_outbox(lambda: self.pending)
        # Issue 19: every reply this run holds (queued, sending, waiting to retry), the
        # retry sleepers by reply, and those found adopted by another instance, to drop.
        self._held: set[int] = set()
        self._sleepers: dict[int, asyncio.Task[None]] = {}
        self._disowned: set[int] = set()
        self.fence = Fence(presence, store, lambda: set(self._held), self._drop, clock)

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
        # Recorded a moment ago; its kind is looked up only if a try fails.
        self._held.add(reply.reply_id)
        self._queue(reply).put_nowait(Job(reply, attempts, ReplyFacts(None, self._clock())))

    async def resume(self, dead: Collection[str] = ()) -> int:
        """Take and queue the pending replies no live instance sends: at start what a
        previous run left, while running what an instance that died left (issue 19; `dead`:
        see storage.claims). A reply the SMTP server took just before its process died goes
        again with the same Message-ID, a repeat mail clients fold. Returns how many."""
        count = 0
        while True:
            jobs, taken = await leftovers(self._store, set(self._channels), self._clock, dead)
            for job, delay in jobs:
                if job.reply.reply_id in self._held:
                    continue  # held since before a lapse, adopted by another and back
                self._held.add(job.reply.reply_id)
                if delay > 0:
                    # Waiting for a server that may be back by now: a probe tells at once.
                    recovery = self._recovery[job.reply.channel]
                    recovery.check()
                    self._later(job, delay, recovery)
                else:
                    self._later(job, 0.0)
            count += taken
            if taken < claims.BATCH:
                return count

    def _later(self, job: Job, delay: float, recovery: ChannelRecovery | None = None) -> None:
        if delay <= 0:
            self._queue(job.reply).put_nowait(replace(job, released=False))
            return
        self._waiting += 1
        # Held from this moment, so a recovery right after the failure is not missed.
        held = None if recovery is None else recovery.hold(delay, strict=job.released)
        reply_id = job.reply.reply_id
        sleeper = self._tasks.spawn(
            self._sleep_then_queue(job, delay, held), name=f"retry:{reply_id}"
        )
        self._sleepers[reply_id] = sleeper
        # Counted off when it ends, however: even cancelled before it ever ran (_drop).
        sleeper.add_done_callback(lambda ended: self._woken(reply_id, ended))

    def _woken(self, reply_id: int, sleeper: asyncio.Task[None]) -> None:
        self._waiting -= 1
        if self._sleepers.get(reply_id) is sleeper:  # not a later try's, already waiting
            del self._sleepers[reply_id]

    async def _sleep_then_queue(
        self, job: Job, delay: float, held: asyncio.Future[bool] | None
    ) -> None:
        if held is None:
            await asyncio.sleep(delay)
            released = False
        else:
            released = await held
        self._queue(job.reply).put_nowait(replace(job, released=released))

    def _drop(self, gone: set[int]) -> None:
        """Another instance adopted these (the fence asked): forget them, sending none."""
        for reply_id in gone:
            sleeper = self._sleepers.pop(reply_id, None)
            if sleeper is not None and not sleeper.done():
                sleeper.cancel()  # never queued now: gone at once
                self._held.discard(reply_id)
            else:
                self._disowned.add(reply_id)  # queued or in a sender's hands: dropped there

    def reconfigured(self, channel: str) -> None:
        """`channel` took new settings: if replies wait for it, probe it now."""
        self._recovery[channel].retry_now()

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued reply had its try and its outcome is recorded, or the
        deadline passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):  # not wait_for: see services.leases
                await asyncio.gather(*(q.join() for q in self._queues.values()))
                await self._recorder.flushed()
        except TimeoutError:
            return False
        return True

    async def _worker(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        while True:
            job = await queue.get()
            self._sending += 1
            try:
                await self.fence.ready()
                reply_id = job.reply.reply_id
                if reply_id in self._disowned:
                    self._disowned.discard(reply_id)
                    self._held.discard(reply_id)
                    continue
                await self._attempt(job)
            except Exception:
                # Raised before the reply was handed on (sent, or scheduled): retried.
                log.exception(
                    "reply %d: unexpected failure in the outbox; retrying later", job.reply.reply_id
                )
                self._later(
                    Job(job.reply, job.attempts + 1, job.facts), self._policy.base.total_seconds()
                )
            finally:
                self._sending -= 1
                queue.task_done()

    async def _attempt(self, job: Job) -> None:
        expired = stale(self._policy, job.facts, self._clock())
        if expired is not None:
            await self._expire(job, expired.why)
            return
        try:
            delivered = await self._channels[job.reply.channel].send(job.reply)
        except Exception as exc:
            await self._failed(job, exc)
        else:
            await self._sent(job, delivered)

    async def _sent(self, job: Job, delivered: Delivered | None) -> None:
        """From here on nothing may put the reply back on a queue: it went."""
        reply = job.reply
        self._held.discard(reply.reply_id)
        try:
            self._recovery[reply.channel].succeeded()
            self._metrics.message_sent(reply.channel)
            sent = ReplyMark(
                reply.reply_id, "sent", job.attempts + 1, sent_at=self._clock(), delivered=delivered
            )
            await self._recorder.record(sent)
            log.info(
                "reply %d sent to %s (%s)",
                reply.reply_id,
                ", ".join(reply.recipients),
                reply.message_id,
            )
        except Exception:
            log.exception("reply %d was sent; recording it failed", reply.reply_id)

    async def _failed(self, job: Job, exc: Exception) -> None:
        reply, attempts, failure = job.reply, job.attempts + 1, classify(exc)
        if failure.outcome != "transient":
            self._metrics.send_failed(reply.channel, "permanent")
            await self._park(reply, attempts, failure.reason)
            if failure.outcome == "blocked":
                await self._blocked(reply)
            return
        if failure.unexpected:
            log.error("reply %d: unexpected failure in the channel", reply.reply_id, exc_info=exc)
        self._metrics.send_failed(reply.channel, "transient")
        facts = await known_facts(self._store, job)
        job, now = replace(job, attempts=attempts, facts=facts), self._clock()
        decision = after_failure(
            self._policy, facts, now, attempts, failure.reason, failure.retry_after
        )
        if isinstance(decision, Expire):
            await self._expire(job, decision.why)
            return
        if isinstance(decision, Park):
            await self._park(reply, attempts, decision.why)
            return
        delay = decision.delay
        await self._recorder.record(
            ReplyMark(
                reply.reply_id, "pending", attempts, failure.reason, now + timedelta(seconds=delay)
            )
        )
        # An outage is logged once by the channel's recovery; each reply's try in it is detail.
        log.log(
            logging.INFO if failure.down else logging.WARNING,
            "reply %d to %s: %s; retry %d in %.1fs%s",
            reply.reply_id,
            ", ".join(reply.recipients),
            failure.reason,
            attempts + 1,
            delay,
            " or as soon as the server is back" if failure.down else "",
        )
        recovery = self._recovery[reply.channel]
        if failure.down:
            recovery.failed(failure.reason, refused=isinstance(exc, SignInRefused))
        self._later(job, delay, recovery if failure.down else None)

    async def _blocked(self, reply: OutboundReply) -> None:
        try:
            await self._store.mark_blocked(reply.channel, reply.recipients)
        except Exception as exc:  # the reply is parked all the same
            log.warning("could not mark %s blocked: %s", ", ".join(reply.recipients), exc)

    async def _park(self, reply: OutboundReply, attempts: int, why: str) -> None:
        self._held.discard(reply.reply_id)
        self._metrics.send_failed(reply.channel, "parked")
        await self._recorder.record(ReplyMark(reply.reply_id, "parked", attempts, why))
        log.error(
            "reply %d to %s PARKED, not sent: %s. It stays in the database "
            "(replies table, state 'parked') for a person to look at.",
            reply.reply_id,
            ", ".join(reply.recipients),
            why,
        )

    async def _expire(self, job: Job, why: str) -> None:
        reply = job.reply
        self._held.discard(reply.reply_id)
        self._metrics.send_failed(reply.channel, "expired")
        await self._recorder.record(ReplyMark(reply.reply_id, "expired", job.attempts, why))
        log.warning(
            "reply %d to %s %s (replies table, state 'expired')",
            reply.reply_id,
            ", ".join(reply.recipients),
            why,
        )
