"""The pipeline: recorded inbound messages become suppressions, follow-ups, tickets and replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from responder.common.membudget import MAIL_BUDGET, MailBytes, byte_chunks
from responder.common.metrics import Metrics
from responder.core import tickets
from responder.core.contexts import moment_at
from responder.core.decisions import Acknowledge, FollowUp, Record, Suppress
from responder.core.outcome import Outcome, outcome_word
from responder.core.reply_plan import ReplyPlanner
from responder.core.settings import Settings
from responder.domain.models import OutboundReply
from responder.errors import StorageUnavailable, TransientError, log_fault
from responder.services import batch
from responder.services.dispatch_retry import Retries, passing
from responder.storage.store import Store

log = logging.getLogger(__name__)

BATCH = 100
# Deciding lets the event loop run every this many messages (about a millisecond of work).
YIELD_EVERY = 2
# Raw message bytes loaded and parsed at once: a backlog of big mail is decided a few messages
# at a time (one bigger than this alone), so memory follows this, not the size of the backlog.
PARSE_BYTES = 8 * 1024 * 1024
# Of each message only this much is loaded and parsed: the headers and the text a reply needs
# (TEXT_LIMIT, HTML up to 2 MB) come first, attachments after them stay in the database.
PARSE_PREFIX = 4 * 1024 * 1024
# A message whose view another instance overtook (a chat customer's ticket opened there while
# this one decided their other message: issue 19) is decided again at once, on a fresh view,
# this many times at most; after that with the retries' backoff, so it can never spin.
REDECIDE = 3


class Overtaken(TransientError):
    """Another instance kept opening a ticket for the customer while this one decided."""


class Dispatcher:
    """Consumes inbound ids from the one bounded queue and decides them in arrival order.

    One consumer keeps threading exact: a follow-up is always decided after the message that
    opened its ticket, even within one batch. Whatever is queued is taken as a batch (up to
    BATCH): one read and one write transaction serve the whole batch, which is what lets a
    backlog go quickly. Sending happens in the outbox, so slow SMTP never holds up deciding.
    `settings` is replaced whole on reload; a batch uses the settings it started with.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        submit: Callable[[OutboundReply], None],
        clock: Callable[[], datetime],
        queue_size: int = 1000,
        *,
        metrics: Metrics | None = None,
        budget: MailBytes | None = None,
    ) -> None:
        self._store = store
        self.settings = settings
        self._submit = submit
        self._clock = clock
        # Bounded: when deciding falls behind, intake waits instead of memory growing.
        self.queue: asyncio.Queue[int] = asyncio.Queue(queue_size)
        self._metrics = metrics or Metrics()
        self._metrics.watch_queue(self.queue.qsize)
        self.retries = Retries()
        # Shared with intake, so both together keep to it.
        self.budget = budget or MailBytes(MAIL_BUDGET)

    async def run(self) -> None:
        while True:
            batch, taken = await self._next_batch()
            try:
                await self._handle_or_split(batch)
            finally:
                for _ in range(taken):
                    self.queue.task_done()

    async def _next_batch(self) -> tuple[list[int], int]:
        """Messages due for another try first (they are the older), then what is queued;
        returns the batch and how many of it came off the queue."""
        batch, taken = self.retries.due(), 0
        if not batch:
            try:
                # Not wait_for: see services.leases (a cancellation lost at the stop).
                async with asyncio.timeout(self.retries.wait()):
                    batch, taken = [await self.queue.get()], 1
            except TimeoutError:
                return self.retries.due(), 0
        while len(batch) < BATCH and not self.queue.empty():
            batch.append(self.queue.get_nowait())
            taken += 1
        return batch, taken

    async def _handle_or_split(self, batch: list[int]) -> None:
        """One message that cannot be recorded must not hold up the others in its batch, and
        none waits for a restart: what fails is tried again with backoff (issue 13)."""
        try:
            await self.handle(batch)
        except StorageUnavailable as exc:
            # The database, not a message: the whole batch waits for it.
            await self._failed(batch, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                await self._failed(batch, exc)
                return
            log.warning("a batch of %d failed (%s); deciding one by one", len(batch), exc)
            for inbound_id in batch:
                await self._handle_or_split([inbound_id])
            return
        self.retries.settled(batch)

    async def _failed(self, ids: list[int], exc: BaseException) -> None:
        first = not passing(exc) and not self.retries.attempts(ids[0])
        delay, report = self.retries.failed(ids, exc)
        what = f"inbound {ids[0]}" if len(ids) == 1 else f"{len(ids)} inbound messages"
        if first:
            # A bug shows its traceback once; the tries after it are one line each.
            log.error("%s could not be decided; trying again in %.0fs", what, delay, exc_info=exc)
        else:
            log_fault(log, exc, "%s could not be decided; trying again in %.0fs", what, delay)
        if report:
            try:
                await self._store.note_undecided(report)
            except Exception as note_exc:  # the database may be the very trouble
                log.debug("could not note the failing messages: %s", note_exc)

    async def handle(self, ids: Sequence[int]) -> dict[int, str]:
        """Decide and record a batch; returns {inbound id: outcome} for those decided now.
        Loaded and decided in runs of at most PARSE_BYTES (sizes first, no content read)."""
        settings = self.settings
        sizes = await self._store.inbound_sizes(ids)
        size = dict(sizes)
        decided: dict[int, str] = {}
        for run in byte_chunks(sizes, PARSE_BYTES, len(sizes)):
            # Held until applied: the state update rewrites each row, attachments and all.
            async with self.budget.hold(sum(size[i] for i in run)):
                decided |= await self._handle_run(settings, run)
        return decided

    async def _handle_run(
        self, settings: Settings, ids: Sequence[int], tries: int = 0
    ) -> dict[int, str]:
        now = self._clock()
        rows = await self._store.inbound_many(ids, prefix=PARSE_PREFIX)
        if not rows:
            return {}
        hours = moment_at(settings.calendar, now)
        # Parsing is CPU work, and a crafted message can make it slow: off the event loop.
        msgs = await asyncio.to_thread(batch.parse, settings, rows)
        planner = ReplyPlanner(settings, now, hours)
        outcomes: list[Outcome] = []
        for scope in batch.scopes(settings, rows):
            scope_rows, scope_msgs = [rows[i] for i in scope], [msgs[i] for i in scope]
            candidates = _candidates(len(scope))
            view = await batch.load_view(
                self._store, settings, scope_rows, scope_msgs, candidates, now, hours
            )
            new_ref = _unused(candidates, view.existing_refs)
            scope_decided = planner.begin(view)
            for n, (row, msg) in enumerate(zip(scope_rows, scope_msgs, strict=True)):
                if n and n % YIELD_EVERY == 0:
                    # Replies already queued take a step between messages: a burst's first
                    # answers go out while the rest of the batch is decided (issue 15).
                    await asyncio.sleep(0)
                planner.add(scope_decided, row, msg, view, new_ref)
            decided, failed = planner.finish(scope_decided, view)
            for inbound_id, exc in failed:
                await self._failed([inbound_id], exc)
            outcomes += decided
        del rows, msgs  # the messages' bytes: recording outcomes needs none
        queued, again = await self._store.apply(outcomes)
        outcomes = [o for o in outcomes if o.inbound_id not in again]
        first_reply = {q.inbound_id: q.reply_id for q in reversed(queued)}
        for outcome in outcomes:
            _log(outcome, first_reply.get(outcome.inbound_id))
            if isinstance(outcome.decision, Suppress):
                self._metrics.message_suppressed(outcome.channel, outcome.decision.rule)
            if outcome.survey is not None:
                self._metrics.survey_answered(outcome.channel, outcome.survey.via)
        for q in queued:
            self._submit(q.outbound())
        words = {o.inbound_id: outcome_word(o.decision) for o in outcomes}
        if again:
            words |= await self._again(settings, sorted(again), tries + 1)
        return words

    async def _again(self, settings: Settings, ids: list[int], tries: int) -> dict[int, str]:
        """Decide again what recording put back (storage.ticket_locks.overtaken)."""
        if tries > REDECIDE:
            await self._failed(ids, Overtaken(f"decided {REDECIDE} times on an overtaken view"))
            return {}
        log.info("inbound %s decided again: another instance opened their ticket", ids)
        return await self._handle_run(settings, ids, tries)


def _candidates(n: int) -> list[str]:
    """Fresh references for a batch of n, checked against the database in its one read."""
    return [tickets.new_ref() for _ in range(2 * n + 4)]


def _unused(candidates: list[str], existing: set[str]) -> Callable[[], str]:
    fresh = iter([c for c in candidates if c not in existing])
    return lambda: next(fresh, tickets.new_ref())


def _log(outcome: Outcome, reply_id: int | None) -> None:
    decision, who = outcome.decision, outcome.sender or "?"
    if isinstance(decision, Suppress):
        log.info(
            "inbound %d from %s not answered: %s (%s)",
            outcome.inbound_id,
            who,
            decision.rule,
            decision.reason,
        )
    elif isinstance(decision, FollowUp):
        log.info(
            "inbound %d from %s joins ticket %s (no second reply)",
            outcome.inbound_id,
            who,
            decision.ref,
        )
    elif isinstance(decision, Record):
        log.info(
            "inbound %d from %s: ticket %s opened by rule %s, no reply: %s",
            outcome.inbound_id,
            who,
            decision.ref,
            decision.rule,
            decision.reason,
        )
    elif isinstance(decision, Acknowledge):
        log.info(
            "inbound %d from %s: ticket %s opened by rule %s, %s %s queued",
            outcome.inbound_id,
            who,
            decision.ref,
            decision.rule,
            decision.template,
            reply_id,
        )
    else:
        ref = getattr(decision, "ref", None)
        log.info(
            "inbound %d from %s: %s%s",
            outcome.inbound_id,
            who,
            outcome_word(decision),
            f" on ticket {ref}" if ref else "",
        )
