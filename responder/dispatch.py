"""The pipeline: recorded inbound messages become suppressions, follow-ups, tickets and replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from responder import tickets
from responder.chat.plan import ChatPlanner
from responder.chat.update import parse_update
from responder.decide import (
    Acknowledge,
    FollowUp,
    Moment,
    Record,
    Suppress,
    lookup_keys,
)
from responder.mail.parse import parse_message
from responder.mail_outcomes import decide_mail
from responder.metrics import Metrics
from responder.models import OutboundReply
from responder.planning import ChannelProfile, moment_at
from responder.settings import Settings
from responder.storage.decisions import Outcome, outcome_word
from responder.storage.records import InboundRow
from responder.storage.store import Store

log = logging.getLogger(__name__)

BATCH = 100


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
    ) -> None:
        self._store = store
        self.settings = settings
        self._submit = submit
        self._clock = clock
        # Bounded: when deciding falls behind, intake waits instead of memory growing.
        self.queue: asyncio.Queue[int] = asyncio.Queue(queue_size)
        self._metrics = metrics or Metrics()
        self._metrics.watch_queue(self.queue.qsize)

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._handle_or_split(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _handle_or_split(self, batch: list[int]) -> None:
        """One message that cannot be recorded must not hold up the others in its batch."""
        try:
            await self.handle(batch)
            return
        except Exception:
            if len(batch) == 1:
                # Left in state "new": decided again at the next start, never dropped.
                log.exception("inbound %d could not be handled; left for the next start", batch[0])
                return
            log.exception("a batch of %d failed; deciding its messages one by one", len(batch))
        for inbound_id in batch:
            await self._handle_or_split([inbound_id])

    async def handle(self, ids: Sequence[int]) -> dict[int, str]:
        """Decide and record a batch; returns {inbound id: outcome} for those decided now."""
        settings, now = self.settings, self._clock()
        rows = await self._store.inbound_many(ids)
        if not rows:
            return {}
        hours = moment_at(settings.calendar, now)
        by_channel: dict[str, list[InboundRow]] = {}
        mail_rows = []
        for row in rows:
            profile = settings.profiles.get(row.channel)
            if profile is not None and profile.kind == "telegram":
                by_channel.setdefault(row.channel, []).append(row)
            else:
                mail_rows.append(row)
        outcomes = await self._mail_outcomes(settings, mail_rows, now, hours) if mail_rows else []
        for channel, chat_rows in by_channel.items():
            outcomes += await self._chat_outcomes(
                settings, settings.profiles[channel], chat_rows, now, hours
            )
        queued = await self._store.apply(outcomes)
        first_reply = {q.inbound_id: q.reply_id for q in reversed(queued)}
        for outcome in outcomes:
            _log(outcome, first_reply.get(outcome.inbound_id))
            if isinstance(outcome.decision, Suppress):
                self._metrics.message_suppressed(outcome.channel, outcome.decision.rule)
            if outcome.survey is not None:
                self._metrics.survey_answered(outcome.channel, outcome.survey.via)
        for q in queued:
            self._submit(q.outbound())
        return {o.inbound_id: outcome_word(o.decision) for o in outcomes}

    async def _chat_outcomes(
        self,
        settings: Settings,
        profile: ChannelProfile,
        rows: list[InboundRow],
        now: datetime,
        hours: tuple[Moment, datetime | None],
    ) -> list[Outcome]:
        planner = ChatPlanner(settings, profile, now)
        msgs = [parse_update(row.raw) for row in rows]
        candidates = _candidates(len(rows))
        period = hours[0].period
        view = await self._store.chat_view(
            planner.keys(msgs, candidates), now - settings.cap.window, [period] if period else []
        )
        return planner.outcomes(rows, msgs, view, hours, _unused(candidates, view.existing_refs))

    async def _mail_outcomes(
        self,
        settings: Settings,
        rows: list[InboundRow],
        now: datetime,
        hours: tuple[Moment, datetime | None],
    ) -> list[Outcome]:
        # Parsing is CPU work, and a crafted message can make it slow: off the event loop.
        mails = await asyncio.to_thread(lambda: [parse_message(row.raw) for row in rows])
        message_ids, refs, targets = lookup_keys(mails)
        candidates = _candidates(len(rows))
        period = hours[0].period
        view = await self._store.view(
            message_ids,
            refs | set(candidates),
            targets,
            now - settings.cap.window,
            [period] if period else [],
        )
        new_ref = _unused(candidates, view.existing_refs)
        outcomes = []
        for row, mail in zip(rows, mails, strict=True):
            try:
                outcome = decide_mail(settings, row, mail, view, now, hours, new_ref)
            except Exception:
                log.exception("inbound %d could not be decided; left for the next start", row.id)
                continue
            outcomes.append(outcome)
        return outcomes


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
