"""Keeps every ticket's survey in step with it, sends it once when due, and tells staff of
low ratings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.core.csat.replan import replan_surveys
from responder.core.csat.tokens import new_secret, sign
from responder.core.settings import Settings
from responder.core.window import Skipped
from responder.domain.csat import DueSurvey, SentSurvey, SurveyAnswer, SurveyInfo
from responder.domain.models import OutboundReply
from responder.domain.records import Queued, Send
from responder.domain.timers import Armed
from responder.errors import log_fault
from responder.services.csat.compose import low_rating_sends, read_raw, survey_message
from responder.services.sla.wakeups import Wakeups, catch_up
from responder.storage import inbound, meta, replies, survey_answers, survey_sends, surveys
from responder.storage.store import AfterCommit, Store, Tx

log = logging.getLogger(__name__)

SLACK = timedelta(milliseconds=10)
CHUNK = 200
SECRET_KEY = "survey_secret"


class SurveyService:
    """Plans surveys inside the transaction that changed a ticket (Store.on_change), sends
    the due ones, records answers given through the survey pages, and tells staff of low
    ratings however they were given."""

    def __init__(
        self,
        store: Store,
        settings: Callable[[], Settings],
        submit: Callable[[OutboundReply], None],
        clock: Callable[[], datetime],
        tasks: TaskGroup,
        secret: bytes | None = None,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._store, self._settings, self._submit, self._clock = store, settings, submit, clock
        self._tasks = tasks
        self.secret = secret or b""
        self.wakeups = Wakeups(self._earliest, self._fire, tasks, name="csat")
        self._low = asyncio.Event()
        self._metrics = metrics or Metrics()

    async def start(self) -> None:
        if not self.secret:
            self.secret = await self._stored_secret()
        self._store.on_change.append(self._on_change)
        await self.wakeups.start()
        self._low.set()  # low ratings answered just before a crash are told now
        self._tasks.spawn(self._tell_staff(), name="csat:low")

    def stop(self) -> None:
        if self._on_change in self._store.on_change:
            self._store.on_change.remove(self._on_change)
        self.wakeups.stop()

    async def _stored_secret(self) -> bytes:
        """The config gives none: one made at first start and kept with the data it signs."""

        def stored(tx: Tx) -> str:
            known = meta.get_meta(tx, SECRET_KEY)
            if known is None:
                known = new_secret().hex()
                meta.set_meta(tx, SECRET_KEY, known)
            return known

        return bytes.fromhex(await self._store.run(stored))

    def _on_change(self, tx: Tx, ticket_ids: set[int], now: datetime) -> AfterCommit | None:
        s = self._settings()
        if s.csat is None:
            return None
        armed = replan(tx, ticket_ids, s, now)
        low = bool(survey_answers.unnotified_low(tx, s.csat.low, ticket_ids))

        def after() -> None:
            self.wakeups.arm(armed)
            if low:
                self._low.set()  # told once this transaction has committed

        return after

    async def _earliest(self, after: tuple[datetime, int] | None, limit: int) -> list[Armed]:
        if self._settings().csat is None:
            return []  # surveys turned off: planned ones wait, unarmed, for a reload
        return await self._store.run(surveys.earliest, after, limit)

    async def reconfigured(self) -> None:
        """The csat section changed on reload: re-plan the surveys not yet sent (new delays,
        hours; turned off or on), then arm them afresh."""
        s = self._settings()
        if s.csat is not None:

            def again(tx: Tx) -> None:
                replan(tx, surveys.planned_tickets(tx), s, self._clock())

            await self._store.run(again)
        await self.wakeups.rebuild()

    async def _fire(self, survey_ids: list[int]) -> list[Armed]:
        if self._settings().csat is None:
            return []
        armed = await self._send_due(await self._store.run(surveys.tickets_of, survey_ids))
        return armed + await self._store.run(surveys.pending, survey_ids)

    async def run_due(self) -> int:
        """Send every survey due by now (a test's injected clock); returns how many tickets."""

        async def overdue() -> Collection[int]:
            if self._settings().csat is None:
                return ()
            return await self._store.run(surveys.overdue_tickets, self._clock() + SLACK, CHUNK)

        return await catch_up(overdue, self._send_due, self.wakeups.arm)

    async def _send_due(self, ticket_ids: Iterable[int]) -> list[Armed]:
        s, now = self._settings(), self._clock()
        csat = s.csat
        if csat is None:
            return []

        # Channels that take free messages only for a while after the customer's last one.
        windowed = {name for name, p in s.profiles.items() if p.wire.reply_window is not None}

        def read(tx: Tx) -> tuple[list[Armed], list[DueSurvey], dict[tuple[str, str], datetime]]:
            # Re-checked first: a ticket reopened a second ago gets no survey.
            armed = replan(tx, ticket_ids, s, now)
            due = survey_sends.due(tx, ticket_ids, now + SLACK, windowed)
            who = {(d.channel, d.recipient) for d in due}
            return armed, due, surveys.recently_surveyed(tx, who, now - csat.once_per)

        armed, due, recent = await self._store.run(read)
        parents, written = await asyncio.to_thread(read_raw, s, due)
        sends, skipped = [], {}
        for d in due:
            profile = s.profiles.get(d.channel)
            last = recent.get((d.channel, d.recipient))
            # Each reason a fixed sentence, its particulars in parentheses (the report counts
            # skips by the sentence).
            if profile is None:
                skipped[d.survey_id] = "the channel is gone"
            elif d.first_inbound is None:
                skipped[d.survey_id] = "the ticket has no message to answer"
            elif last is not None:
                skipped[d.survey_id] = f"surveyed within once_per (on {last:%Y-%m-%d})"
            elif d.blocked:
                skipped[d.survey_id] = "the customer blocked the bot"
            else:
                link = self._linker(s, d.survey_id, now, csat.answer_within)
                parent, wrote = parents.get(d.survey_id), written.get(d.survey_id)
                reply = survey_message(s, profile, d, parent, link, now, wrote)
                if isinstance(reply, Skipped):
                    skipped[d.survey_id] = reply.reason
                    continue
                recent[d.channel, d.recipient] = now  # two tickets due at once: one survey
                sends.append(
                    SentSurvey(d.survey_id, d.ticket_id, d.first_inbound, d.channel, reply)
                )

        def record(tx: Tx) -> list[Queued]:
            surveys.skip(tx, skipped, now)
            return survey_sends.record_sent(tx, sends, now, self._store.owner)

        queued = await self._store.run(record)
        for survey_id, reason in skipped.items():
            log.info("survey %d not sent: %s", survey_id, reason)
        self._send(queued)
        if queued:
            log.info("%d survey(s) sent", len(queued))
        return armed

    def _linker(
        self, s: Settings, survey_id: int, now: datetime, ttl: timedelta
    ) -> Callable[[int], str] | None:
        base = s.survey_links
        if base is None:
            return None
        token = sign(self.secret, survey_id, now + ttl)
        return lambda rating: f"{base}/s/{token}?r={rating}"

    async def survey(self, survey_id: int) -> SurveyInfo | None:
        """A survey that was sent (and so can be answered), for its page."""
        return (await self._store.run(survey_answers.load, ids=[survey_id])).get(survey_id)

    async def answer(self, answer: SurveyAnswer) -> bool:
        """An answer given on a survey page; False if the survey cannot take one."""
        changed = await self._store.run(survey_answers.record, [answer], self._clock())
        for _, channel in changed:
            self._low.set()
            self._metrics.survey_answered(channel, answer.via)
        return bool(changed)

    async def _tell_staff(self) -> None:
        while True:
            await self._low.wait()
            self._low.clear()
            try:
                await self.notify_low()
            except Exception as exc:
                log_fault(log, exc, "could not tell staff of low survey ratings; trying again soon")
                asyncio.get_running_loop().call_later(30.0, self._low.set)

    async def notify_low(self) -> int:
        """One notice per low rating, claimed in the transaction that queues it."""
        s, now = self._settings(), self._clock()
        if s.csat is None:
            return 0
        csat = s.csat

        def work(tx: Tx) -> tuple[int, list[Queued]]:
            ids = survey_answers.unnotified_low(tx, csat.low)
            infos = survey_answers.load(tx, ids=ids)
            firsts = inbound.first_of(tx, [i.ticket_id for i in infos.values()])
            claimed = survey_answers.mark_notified(tx, list(infos), now)
            told = [i for i in infos.values() if i.id in claimed and i.ticket_id in firsts]
            rows = [
                Send(firsts[info.ticket_id], channel, ticket_id, replace(reply, survey_id=info.id))
                for info in told
                for channel, ticket_id, reply in low_rating_sends(s, info, now)
            ]
            return len(told), replies.queue(tx, rows, now, self._store.owner)

        told, queued = await self._store.run(work)
        self._send(queued)
        return told

    def _send(self, queued: Sequence[Queued]) -> None:
        for q in queued:
            self._submit(q.outbound())


def replan(tx: Tx, ticket_ids: Iterable[int], s: Settings, now: datetime) -> list[Armed]:
    """Bring the tickets' survey rows in line with them; returns the rows newly due at a
    (new) time, for the scheduler."""
    assert s.csat is not None
    found = surveys.facts(tx, ticket_ids)
    if not found:
        return []
    plan = replan_surveys(found, surveys.existing(tx, found), s.csat, s.calendar.timezone, now)
    return surveys.save(tx, plan, now)
