"""Keeps every ticket's SLA timers in step with it, and sends what falls due, once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, timedelta

from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.core.settings import Settings
from responder.core.sla.plan import clock_views
from responder.core.sla.replan import replan_timers
from responder.domain.models import OutboundReply
from responder.domain.records import NewEvent
from responder.domain.sla_policy import Stage
from responder.domain.timers import Armed, Firing, TicketFacts
from responder.services.sla.notices import Due, alert_sends
from responder.services.sla.wakeups import Wakeups, catch_up
from responder.storage import alerts, inbound, meta, replies, timers
from responder.storage.store import AfterCommit, Store, Tx

log = logging.getLogger(__name__)

# A timer this close to due counts as due: APScheduler wakes at (not before) the due time,
# but the clock we re-check with may be read a hair apart from its.
SLACK = timedelta(milliseconds=10)
CHUNK = 500  # tickets re-planned per transaction when the policies change
EXCERPT_CHARS = 300


class SlaService:
    """Re-plans a ticket's timers inside the transaction that changed it (Store.on_change),
    and fires due timers: re-check the ticket, skip reminders a later stage superseded,
    record the alerts and mark the timer done in one transaction, then send."""

    def __init__(
        self,
        store: Store,
        settings: Callable[[], Settings],
        submit: Callable[[OutboundReply], None],
        clock: Callable[[], datetime],
        tasks: TaskGroup,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._store, self._settings, self._submit, self._clock = store, settings, submit, clock
        self._tasks = tasks
        self._metrics = metrics or Metrics()
        self.wakeups = Wakeups(self._earliest, self._fire, tasks)

    async def start(self) -> None:
        self._store.on_change.append(self._on_change)
        await self.wakeups.start()
        # In the background: after a policy change, re-planning 100,000 open tickets takes
        # tens of seconds, and the timers already planned stay right meanwhile.
        self._tasks.spawn(self.replan_if_changed(), name="sla:replan")

    def stop(self) -> None:
        if self._on_change in self._store.on_change:
            self._store.on_change.remove(self._on_change)
        self.wakeups.stop()

    def _on_change(self, tx: Tx, ticket_ids: set[int], now: datetime) -> AfterCommit | None:
        s = self._settings()
        if not s.sla.policies:
            # No promises: nothing to plan, and reading every batch's tickets again would
            # halve a backlog's pace. Rows left from earlier policies are stopped by the
            # re-plan that a changed fingerprint starts (at start or on reload).
            return None
        armed = replan(tx, ticket_ids, s, now)
        return lambda: self.wakeups.arm(armed)

    async def replan_if_changed(self) -> bool:
        """Re-plan every open ticket when the policies or hours differ from the last run's."""
        fingerprint = self._settings().sla_fingerprint
        if await self._store.run(meta.get_meta, "sla_fingerprint") == fingerprint:
            return False
        await self.replan_open()
        await self._store.run(meta.set_meta, "sla_fingerprint", fingerprint)
        return True

    async def replan_open(self) -> int:
        """Re-plan every open ticket (a reload changed the policies), a chunk at a time so
        intake is never held up for long; returns how many tickets."""

        def chunk(tx: Tx, after: int) -> list[int]:
            ids = timers.open_tickets(tx, after, CHUNK)
            if ids:
                replan(tx, ids, self._settings(), self._clock())
            return ids

        after, count = 0, 0
        while ids := await self._store.run(chunk, after):
            after, count = ids[-1], count + len(ids)
        if self.wakeups.armed or count:
            await self.wakeups.rebuild()
        return count

    async def run_due(self) -> int:
        """Fire every timer due by now (start-up catch-up, or a test's injected clock)."""

        async def overdue() -> Collection[int]:
            return await self._store.run(timers.overdue_tickets, self._clock() + SLACK, CHUNK)

        return await catch_up(overdue, self._fire_tickets, self.wakeups.arm)

    async def _earliest(self, after: tuple[datetime, int] | None, limit: int) -> list[Armed]:
        return await self._store.run(timers.earliest, after, limit)

    async def _fire(self, timer_ids: list[int]) -> list[Armed]:
        armed = await self._fire_tickets(await self._store.run(timers.tickets_of, timer_ids))
        # A job that woke early (or whose timer did not move) still needs waking later.
        return armed + await self._store.run(timers.pending, timer_ids)

    async def _fire_tickets(self, ticket_ids: Iterable[int]) -> list[Armed]:
        s, now = self._settings(), self._clock()
        facts, armed, due, raws, topics = await self._store.run(_read_due, ticket_ids, s, now)
        firings, skipped = [], []
        stage_of: dict[int, tuple[str, str]] = {}  # timer id: (clock, stage kind)
        # Parsing is CPU work a crafted message can make slow: off the event loop, in one go.
        found = {
            t: raws.get(f.first_inbound) if f.first_inbound else None for t, f in facts.items()
        }
        excerpts = await asyncio.to_thread(_excerpts, s, found)
        for ticket_id, rows in due.items():
            ticket = facts[ticket_id]
            policy = s.sla.for_ticket(ticket.policy)
            if policy is None or ticket.first_inbound is None:
                skipped += [timer_id for timer_id, _, _ in rows]
                continue
            views = clock_views(policy, ticket.opened, ticket.events, now, s.calendar)
            stages: dict[tuple[str, str], Stage] = {
                (t.clock, st.name): st for t in policy.targets for st in t.stages
            }
            excerpt = excerpts.get(ticket_id, "")
            for index, (timer_id, clock, name) in enumerate(rows):
                stage = stages.get((clock, name))
                later = [
                    st for _, c, n in rows[index + 1 :] if c == clock and (st := stages.get((c, n)))
                ]
                # After downtime several stages may be due at once: a reminder that a later
                # stage of the same clock supersedes is skipped; breaches and escalations,
                # which may go to different people, all go.
                if stage is None or clock not in views or (stage.kind == "reminder" and later):
                    skipped.append(timer_id)
                    continue
                alert = Due(
                    timer_id, ticket, policy, stage, views[clock], excerpt, topics.get(ticket_id)
                )
                event = NewEvent(f"sla_{stage.kind}", "responder", f"{clock} {name}")
                stage_of[timer_id] = (clock, stage.kind)
                firings.append(
                    Firing(
                        timer_id, ticket.first_inbound, alert_sends(s, alert, now), event, ticket_id
                    )
                )
        done: set[int] = set()
        queued = await self._store.run(
            alerts.record_fired, firings, skipped, now, self._store.owner, done
        )
        # Counted after the commit, and only timers this call marked done: one re-planned or
        # fired elsewhere meanwhile sent nothing.
        for timer_id in done:
            self._metrics.sla_alert(*stage_of[timer_id])
        for q in queued:
            self._submit(q.outbound())
        for firing in firings:
            log.info(
                "SLA timer %d fired: %s",
                firing.timer_id,
                firing.event.detail if firing.event else "",
            )
        return armed


def replan(tx: Tx, ticket_ids: Iterable[int], s: Settings, now: datetime) -> list[Armed]:
    """Bring the tickets' timer rows in line with their policies and events as of now;
    returns the rows that became pending or moved, for the scheduler."""
    return replan_known(tx, timers.facts(tx, ticket_ids), s, now)


def replan_known(
    tx: Tx, facts: Mapping[int, TicketFacts], s: Settings, now: datetime
) -> list[Armed]:
    """replan, for tickets whose facts were already read."""
    if not facts:
        return []
    plan = replan_timers(facts, timers.existing(tx, facts), s.sla, s.calendar, now)
    return timers.save(tx, plan, now)


DueRead = tuple[
    dict[int, TicketFacts],
    list[Armed],
    dict[int, list[tuple[int, str, str]]],
    dict[int, tuple[str, bytes]],
    dict[int, int],
]


def _read_due(tx: Tx, ticket_ids: Iterable[int], s: Settings, now: datetime) -> DueRead:
    """The tickets re-checked (one read serves the re-plan and the alerts), their due
    timers, first messages and forum topics."""
    facts = timers.facts(tx, ticket_ids)
    armed = replan_known(tx, facts, s, now)
    due = timers.due(tx, facts, now + SLACK)
    firsts = [i for t in due if (i := facts[t].first_inbound) is not None]
    return facts, armed, due, inbound.raw_of(tx, firsts), replies.topics(tx, list(due))


def _excerpts(settings: Settings, raws: dict[int, tuple[str, bytes] | None]) -> dict[int, str]:
    """The first lines of each ticket's first message, by ticket id."""
    out = {}
    for ticket_id, found in raws.items():
        if found is None:
            out[ticket_id] = ""
            continue
        channel, raw = found
        profile = settings.profiles.get(channel)
        # Read by the ticket's own channel's wire; a channel since removed shows none.
        out[ticket_id] = profile.wire.parse(raw).text[:EXCERPT_CHARS] if profile else ""
    return out
