"""Keeps every ticket's survey in step with it, sends it once when due, and tells staff of
low ratings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.core.csat.tokens import new_secret, sign
from responder.core.settings import CSAT_LOW, Settings
from responder.domain.csat import SurveyAnswer, SurveyInfo
from responder.domain.models import OutboundReply
from responder.errors import log_fault
from responder.services.csat.compose import low_rating_sends, survey_message
from responder.services.sla.wakeups import Wakeups, catch_up
from responder.storage import meta, schema, survey_answers, survey_sends, surveys
from responder.storage.decisions import Queued
from responder.storage.sends import Send, queue_sends
from responder.storage.store import Store
from responder.storage.timers import Armed

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
        async with self._store.transaction() as conn:
            known = await meta.get_meta(conn, SECRET_KEY)
            if known is None:
                known = new_secret().hex()
                await meta.set_meta(conn, SECRET_KEY, known)
        return bytes.fromhex(known)

    async def _on_change(self, conn: AsyncConnection, ticket_ids: set[int], now: datetime) -> None:
        s = self._settings()
        if s.csat is None:
            return
        self.wakeups.arm(await surveys.plan(conn, ticket_ids, s.csat, s.calendar.timezone, now))
        if await survey_answers.unnotified_low(conn, s.csat.low, ticket_ids):
            self._low.set()  # told once this transaction has committed

    async def _earliest(self, after: tuple[datetime, int] | None, limit: int) -> list[Armed]:
        if self._settings().csat is None:
            return []  # surveys turned off: planned ones wait, unarmed, for a reload
        async with self._store.transaction() as conn:
            return await surveys.earliest(conn, after, limit)

    async def reconfigured(self) -> None:
        """The csat section changed on reload: re-plan the surveys not yet sent (new delays,
        hours; turned off or on), then arm them afresh."""
        s = self._settings()
        if s.csat is not None:
            async with self._store.transaction() as conn:
                tickets = await surveys.planned_tickets(conn)
                now = self._clock()
                await surveys.plan(conn, tickets, s.csat, s.calendar.timezone, now)
        await self.wakeups.rebuild()

    async def _fire(self, survey_ids: list[int]) -> list[Armed]:
        if self._settings().csat is None:
            return []
        async with self._store.transaction() as conn:
            tickets = await surveys.tickets_of(conn, survey_ids)
        armed = await self._send_due(tickets)
        async with self._store.transaction() as conn:
            return armed + await surveys.pending(conn, survey_ids)

    async def run_due(self) -> int:
        """Send every survey due by now (a test's injected clock); returns how many tickets."""

        async def overdue() -> Collection[int]:
            if self._settings().csat is None:
                return ()
            async with self._store.transaction() as conn:
                return await surveys.overdue_tickets(conn, self._clock() + SLACK, CHUNK)

        return await catch_up(overdue, self._send_due, self.wakeups.arm)

    async def _send_due(self, ticket_ids: Iterable[int]) -> list[Armed]:
        s, now = self._settings(), self._clock()
        csat = s.csat
        async with self._store.transaction() as conn:
            if csat is None:
                return []
            # Re-checked first: a ticket reopened a second ago gets no survey.
            armed = await surveys.plan(conn, ticket_ids, csat, s.calendar.timezone, now)
            due = await survey_sends.due(conn, ticket_ids, now + SLACK)
            recent = await surveys.recently_surveyed(
                conn, {(d.channel, d.recipient) for d in due}, now - csat.once_per
            )
        parents = await asyncio.to_thread(_parents, s, due)
        sends, skipped = [], {}
        for d in due:
            profile = s.profiles.get(d.channel)
            last = recent.get((d.channel, d.recipient))
            if profile is None:
                skipped[d.survey_id] = "the channel is gone"
            elif d.first_inbound is None:
                skipped[d.survey_id] = "the ticket has no message to answer"
            elif last is not None:
                skipped[d.survey_id] = f"surveyed on {last:%Y-%m-%d}, within once_per"
            elif d.blocked:
                skipped[d.survey_id] = "the customer blocked the bot"
            else:
                recent[d.channel, d.recipient] = now  # two tickets due at once: one survey
                link = self._linker(s, d.survey_id, now, csat.answer_within)
                reply = survey_message(s, profile, d, parents.get(d.survey_id), link, now)
                sends.append(
                    survey_sends.Sent(d.survey_id, d.ticket_id, d.first_inbound, d.channel, reply)
                )
        async with self._store.transaction() as conn:
            await surveys.skip(conn, skipped, now)
            queued = await survey_sends.record_sent(conn, sends, now)
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
        async with self._store.transaction() as conn:
            return (await survey_answers.load(conn, ids=[survey_id])).get(survey_id)

    async def answer(self, answer: SurveyAnswer) -> bool:
        """An answer given on a survey page; False if the survey cannot take one."""
        async with self._store.transaction() as conn:
            changed = await survey_answers.record(conn, [answer], self._clock())
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
        async with self._store.transaction() as conn:
            ids = await survey_answers.unnotified_low(conn, s.csat.low)
            infos = await survey_answers.load(conn, ids=ids)
            firsts = await _first_inbound(conn, [i.ticket_id for i in infos.values()])
            claimed = await survey_answers.mark_notified(conn, list(infos), now)
            told = [i for i in infos.values() if i.id in claimed and i.ticket_id in firsts]
            before = await _times_told(conn, [info.id for info in told])
            rows = [
                Send(firsts[info.ticket_id], channel, ticket_id, reply)
                for info in told
                for channel, ticket_id, reply in low_rating_sends(
                    s, info, now, before.get(info.id, 0)
                )
            ]
            queued = await queue_sends(conn, rows, now)
        self._send(queued)
        return len(told)

    def _send(self, queued: Sequence[Queued]) -> None:
        for q in queued:
            self._submit(q.outbound())


async def _first_inbound(conn: AsyncConnection, ticket_ids: list[int]) -> dict[int, int]:
    i = schema.inbound
    if not ticket_ids:
        return {}
    rows = await conn.execute(
        select(i.c.ticket_id, func.min(i.c.id).label("first"))
        .where(i.c.ticket_id.in_(ticket_ids))
        .group_by(i.c.ticket_id)
    )
    return {row.ticket_id: row.first for row in rows}


async def _times_told(conn: AsyncConnection, survey_ids: list[int]) -> dict[int, int]:
    """How many low-rating notices each survey has had (a comment after the rating adds one)."""
    r = schema.replies
    told: dict[int, set[str]] = {}
    for survey_id in survey_ids:
        rows = await conn.execute(
            select(r.c.kind).where(r.c.kind.like(f"{CSAT_LOW}\\_{survey_id}%", escape="\\"))
        )
        kinds = {row.kind for row in rows}
        told[survey_id] = {k for k in kinds if k.split("_")[2] == str(survey_id)}
    return {survey_id: len(kinds) for survey_id, kinds in told.items()}


def _parents(settings: Settings, due: Sequence[survey_sends.DueSurvey]) -> dict[int, str]:
    """The Message-ID of each ticket's first message, where its channel threads by them
    (mail), so the survey threads under it; read by the ticket's own channel's wire."""
    out = {}
    for d in due:
        profile = settings.profiles.get(d.channel)
        if d.raw is not None and profile is not None:
            message_id = profile.wire.parse(d.raw).thread.message_id
            if message_id:
                out[d.survey_id] = message_id
    return out
