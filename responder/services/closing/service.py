"""Keeps every ticket's close timer in step with it (armed while it waits on the customer,
stopped when they write), and resolves the due ones once, as /close does (issue 18)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from responder.common.tasks import TaskGroup
from responder.core.closing import close_at, replan_close, wait_words
from responder.core.settings import Settings
from responder.core.window import Skipped
from responder.domain.closing import AUTO_ACTOR
from responder.domain.models import OutboundReply
from responder.domain.records import NewEvent, Queued
from responder.domain.timers import Armed, Firing, NewTimer, TicketFacts, TimerChange, TimerPlan
from responder.services.closing.compose import closing_message, desk_line
from responder.services.sla.wakeups import Wakeups, catch_up
from responder.storage import alerts, inbound, meta, replies, timers
from responder.storage.store import AfterCommit, Store, Tx

log = logging.getLogger(__name__)

SLACK = timedelta(milliseconds=10)
CHUNK = 200
FINGERPRINT = "close_fingerprint"


def closes(s: Settings) -> bool:
    return s.closing is not None and s.closing.close_after is not None


class CloseService:
    """Plans close timers inside the transaction that changed a ticket (Store.on_change); a
    due one is re-checked, claimed (pending -> done), its ticket resolved with a "closed"
    event by auto-close and its messages queued, all in one transaction, then sent."""

    def __init__(
        self,
        store: Store,
        settings: Callable[[], Settings],
        submit: Callable[[OutboundReply], None],
        clock: Callable[[], datetime],
        tasks: TaskGroup,
    ) -> None:
        self._store, self._settings, self._submit, self._clock = store, settings, submit, clock
        self._tasks = tasks
        self.wakeups = Wakeups(self._earliest, self._fire, tasks, name="close")

    async def start(self) -> None:
        self._store.on_change.append(self._on_change)
        await self.wakeups.start()
        # In the background, as the SLA's: re-planning many open tickets takes a while.
        self._tasks.spawn(self.replan_if_changed(), name="close:replan")

    async def replan_if_changed(self) -> bool:
        """Re-plan every open ticket when the section (or what waiting means: the SLA
        policies, the hours) differs from the last run's."""
        s = self._settings()
        fingerprint = repr((s.closing, s.sla_fingerprint))
        if await self._store.run(meta.get_meta, FINGERPRINT) == fingerprint:
            return False
        if closes(s):
            await self.replan_open()
            await self.wakeups.rebuild()
        await self._store.run(meta.set_meta, FINGERPRINT, fingerprint)
        return True

    def stop(self) -> None:
        if self._on_change in self._store.on_change:
            self._store.on_change.remove(self._on_change)
        self.wakeups.stop()

    def _on_change(self, tx: Tx, ticket_ids: set[int], now: datetime) -> AfterCommit | None:
        s = self._settings()
        if not closes(s):
            return None
        armed = replan(tx, timers.facts(tx, ticket_ids), s, now)
        return lambda: self.wakeups.arm(armed)

    async def replan_open(self) -> int:
        """Re-plan every open ticket's close (at start, and when a reload changed the
        section), a chunk at a time; returns how many tickets."""
        s = self._settings()

        def chunk(tx: Tx, after: int) -> list[int]:
            ids = timers.open_tickets(tx, after, CHUNK)
            replan(tx, timers.facts(tx, ids), s, self._clock())
            return ids

        after, count = 0, 0
        while ids := await self._store.run(chunk, after):
            after, count = ids[-1], count + len(ids)
        return count

    async def reconfigured(self) -> None:
        if not await self.replan_if_changed():
            await self.wakeups.rebuild()  # turned off and on again: arm what waits

    async def _earliest(self, after: tuple[datetime, int] | None, limit: int) -> list[Armed]:
        if not closes(self._settings()):
            return []  # turned off: armed rows wait, unfired, for a reload
        return await self._store.run(timers.earliest, after, limit, True)

    async def _fire(self, timer_ids: list[int]) -> list[Armed]:
        if not closes(self._settings()):
            return []
        armed = await self._close(await self._store.run(timers.tickets_of, timer_ids))
        return armed + await self._store.run(timers.pending, timer_ids, True)

    async def run_due(self) -> int:
        """Close every ticket due by now (a test's injected clock); returns how many."""

        async def overdue() -> Collection[int]:
            if not closes(self._settings()):
                return ()
            return await self._store.run(timers.overdue_tickets, self._clock() + SLACK, CHUNK, True)

        return await catch_up(overdue, self._close, self.wakeups.arm)

    async def _close(self, ticket_ids: Iterable[int]) -> list[Armed]:
        s, now = self._settings(), self._clock()
        read = await self._store.run(_read_due, ticket_ids, s, now)
        # The first message's Message-ID, to thread under: parsing is CPU work, off the loop.
        parents = await asyncio.to_thread(_parents, s, read.raws)
        firings = []
        for ticket_id, timer_id in read.due.items():
            ticket = read.facts[ticket_id]
            if ticket.first_inbound is None:
                continue
            sends = []
            last = _last_customer(ticket)
            told = closing_message(s, ticket, parents.get(ticket_id), last, now)
            if isinstance(told, Skipped):
                log.info("ticket %s: closing message not sent: %s", ticket.ref, told.reason)
            elif told is not None:
                sends.append(told)
            if (line := desk_line(s, ticket, read.topics.get(ticket_id), now)) is not None:
                sends.append(line)
            assert s.closing is not None and s.closing.close_after is not None
            waited = wait_words(s.closing.close_after, s.closing.business_time, "en")
            event = NewEvent("closed", AUTO_ACTOR, f"waited on the customer {waited}")
            firings.append(Firing(timer_id, ticket.first_inbound, sends, event, ticket_id))

        def record(tx: Tx) -> tuple[list[Queued], set[int]]:
            done: set[int] = set()
            queued = alerts.record_fired(tx, firings, [], now, self._store.owner, done)
            closed = {f.ticket_id for f in firings if f.timer_id in done and f.ticket_id}
            timers.resolve(tx, closed, now)
            return queued, closed

        queued = await self._store.changing(record)
        for q in queued:
            self._submit(q.outbound())
        if firings:
            log.info("%d ticket(s) closed after waiting on the customer", len(firings))
        return read.armed


@dataclass(frozen=True)
class DueRead:
    facts: dict[int, TicketFacts]
    armed: list[Armed]
    due: dict[int, int]  # ticket id: its due close timer
    raws: dict[int, tuple[str, bytes]]  # ticket id: its first message
    topics: dict[int, int]


def _read_due(tx: Tx, ticket_ids: Iterable[int], s: Settings, now: datetime) -> DueRead:
    """Re-checked first: a customer who wrote a second ago keeps their ticket open."""
    facts = timers.facts(tx, ticket_ids)
    armed = replan(tx, facts, s, now)
    due = {t: rows[0][0] for t, rows in timers.due(tx, facts, now + SLACK, True).items()}
    firsts = {t: i for t in due if (i := facts[t].first_inbound) is not None}
    raw = inbound.raw_of(tx, list(firsts.values()))
    raws = {t: raw[i] for t, i in firsts.items() if i in raw}
    return DueRead(facts, armed, due, raws, replies.topics(tx, list(due)))


def replan(tx: Tx, facts: Mapping[int, TicketFacts], s: Settings, now: datetime) -> list[Armed]:
    """Bring the tickets' close timers in line with them; returns the rows armed or moved."""
    if not facts:
        return []
    rows = timers.existing(tx, facts, close=True)
    status = timers.statuses(tx, facts)
    changes: list[TimerChange] = []
    inserts: list[NewTimer] = []
    for ticket_id, ticket in facts.items():
        policy = s.sla.for_ticket(ticket.policy)
        wait_on = policy.wait_on if policy is not None else "reply"
        due = close_at(s.closing, status.get(ticket_id, ""), ticket.events, wait_on, s.calendar)
        row = next(iter(rows.get(ticket_id, {}).values()), None)
        change = replan_close(ticket_id, due, row)
        if isinstance(change, NewTimer):
            inserts.append(change)
        elif change is not None:
            changes.append(change)
    return timers.save(tx, TimerPlan(changes, inserts), now)


def _last_customer(ticket: TicketFacts) -> datetime:
    """When the customer last wrote (for a reply window): their last reply, else the open."""
    replies_at = [at for kind, at, _ in ticket.events if kind == "customer_reply"]
    return max(replies_at, default=ticket.opened)


def _parents(s: Settings, raws: dict[int, tuple[str, bytes]]) -> dict[int, str]:
    out = {}
    for ticket_id, (channel, raw) in raws.items():
        profile = s.profiles.get(channel)
        if profile is not None and (found := profile.wire.parse(raw).thread.message_id):
            out[ticket_id] = found
    return out
