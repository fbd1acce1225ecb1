"""Pure figures from report rows: volume, business-time durations, SLA, FCR, rules alone.

Durations are business minutes counted by the calendar (open hours only); percentiles are
nearest-rank and shares None when there is nothing to divide by (see stats.py).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from responder.core.reply_kinds import is_canned_answer
from responder.core.sla.plan import clock_views
from responder.domain.calendar import BusinessCalendar
from responder.domain.closing import AUTO_ACTOR
from responder.domain.sla_policy import SlaPolicies
from responder.report.csat import Csat, csat_figures
from responder.report.period import Period
from responder.report.rows import EventRow, ReportData, TicketRow
from responder.report.stats import percentile, share

RESPONSES = ("staff_reply", "answered")
CLOCKS = ("first_response", "resolution")
# First-response histogram, in business minutes: (label, upper bound exclusive).
BUCKETS = (
    ("<15m", 15),
    ("15–30m", 30),
    ("30m–1h", 60),
    ("1–2h", 120),
    ("2–4h", 240),
    ("4–8h", 480),
    ("8–24h", 1440),
    ("24–48h", 2880),
    (">48h", math.inf),
)


@dataclass(frozen=True)
class Durations:
    measured: int  # tickets with a value
    pending: int  # tickets without one yet (no response / not resolved)
    median: float | None  # business minutes
    p90: float | None


@dataclass(frozen=True)
class ChannelVolume:
    channel: str
    tickets: int
    messages_in: int
    suppressed: int


@dataclass(frozen=True)
class SlaClock:
    """One clock over the tickets whose policy sets a target for it."""

    clock: str
    met: int  # stopped within the target
    breached: int  # past the target, stopped or still running
    running: int  # not stopped, still within the target
    notices: int  # sla_breach events sent for this clock

    @property
    def compliance(self) -> float | None:
        return share(self.met, self.met + self.breached)


@dataclass(frozen=True)
class Figures:
    period: Period
    generated_at: datetime
    tickets: int
    channels: tuple[ChannelVolume, ...]
    days: tuple[tuple[date, int], ...]  # tickets opened per local day, every day listed
    # The same per channel: (day, counts in the order of `channels`).
    channel_days: tuple[tuple[date, tuple[int, ...]], ...]
    week_hours: tuple[tuple[int, ...], ...]  # 7 x 24: Monday first, local hours
    first_response: Durations
    response_buckets: tuple[tuple[str, int], ...]
    resolution: Durations
    sla: tuple[SlaClock, ...]
    csat: Csat
    resolved: int
    first_contact: int  # resolved with exactly one reply
    rules_alone: int  # answered only by a rule's canned reply
    auto_closed: int = 0  # resolved by close_after, not by staff (issue 18)
    merged: int = 0  # duplicates merged into another ticket, not counted above (issue 18)

    @property
    def messages_in(self) -> int:
        return sum(c.messages_in for c in self.channels)

    @property
    def suppressed(self) -> int:
        return sum(c.suppressed for c in self.channels)

    @property
    def first_contact_rate(self) -> float | None:
        return share(self.first_contact, self.resolved)


def compute(
    data: ReportData,
    period: Period,
    calendar: BusinessCalendar,
    policies: SlaPolicies,
    now: datetime,
) -> Figures:
    """Every figure of the report; `now` is when running clocks are read."""
    zone = calendar.timezone
    events: dict[int, list[EventRow]] = defaultdict(list)
    for event in data.events:
        events[event.ticket_id].append(event)
    waits, resolutions = [], []
    for ticket in data.tickets:
        first = next((e for e in events[ticket.id] if e.kind in RESPONSES), None)
        if first is not None:
            waits.append(calendar.open_minutes(ticket.created_at, first.created_at))
        if ticket.resolved_at is not None:
            resolutions.append(calendar.open_minutes(ticket.created_at, ticket.resolved_at))
    local = [t.created_at.astimezone(zone) for t in data.tickets]
    per_day = Counter(t.date() for t in local)
    per_channel_day = Counter(
        (ticket.channel, t.date()) for ticket, t in zip(data.tickets, local, strict=True)
    )
    channels = _channels(data)
    grid = [[0] * 24 for _ in range(7)]
    for t in local:
        grid[t.weekday()][t.hour] += 1
    resolved = [t for t in data.tickets if t.resolved_at is not None]
    return Figures(
        period=period,
        generated_at=now,
        tickets=len(data.tickets),
        channels=channels,
        days=tuple((day, per_day[day]) for day in period.days()),
        channel_days=tuple(
            (day, tuple(per_channel_day[c.channel, day] for c in channels)) for day in period.days()
        ),
        week_hours=tuple(tuple(row) for row in grid),
        first_response=_durations(waits, len(data.tickets)),
        response_buckets=_buckets(waits),
        resolution=_durations(resolutions, len(data.tickets)),
        sla=_sla(data.tickets, events, calendar, policies, now),
        csat=csat_figures(data.surveys, {t.id: t.ref for t in data.tickets}, zone),
        resolved=len(resolved),
        first_contact=sum(1 for t in resolved if _replies(events[t.id]) == 1),
        rules_alone=_rules_alone(data, events),
        auto_closed=sum(1 for t in resolved if _closed_by(events[t.id]) == AUTO_ACTOR),
        merged=data.merged,
    )


def _closed_by(events: list[EventRow]) -> str | None:
    """Who closed the ticket last: a staff member, or auto-close."""
    return next((e.actor for e in reversed(events) if e.kind == "closed"), None)


def _durations(values: list[float], tickets: int) -> Durations:
    return Durations(
        len(values), tickets - len(values), percentile(values, 0.5), percentile(values, 0.9)
    )


def _buckets(waits: list[float]) -> tuple[tuple[str, int], ...]:
    counts = Counter(next(label for label, top in BUCKETS if w < top) for w in waits)
    return tuple((label, counts[label]) for label, _ in BUCKETS)


def _channels(data: ReportData) -> tuple[ChannelVolume, ...]:
    tickets = Counter(t.channel for t in data.tickets)
    names = sorted(set(tickets) | set(data.messages_in) | set(data.suppressed))
    return tuple(
        ChannelVolume(n, tickets[n], data.messages_in.get(n, 0), data.suppressed.get(n, 0))
        for n in names
    )


def _replies(events: list[EventRow]) -> int:
    """Staff replies; \\Answered flags count only without any, as they may mark the same one."""
    staff = sum(1 for e in events if e.kind == "staff_reply")
    return staff or sum(1 for e in events if e.kind == "answered")


def _rules_alone(data: ReportData, events: dict[int, list[EventRow]]) -> int:
    canned = {ticket for ticket, kind in data.reply_kinds if is_canned_answer(kind)}
    return sum(
        1
        for t in data.tickets
        if t.id in canned and not any(e.kind in RESPONSES for e in events[t.id])
    )


def _sla(
    tickets: tuple[TicketRow, ...],
    events: dict[int, list[EventRow]],
    calendar: BusinessCalendar,
    policies: SlaPolicies,
    now: datetime,
) -> tuple[SlaClock, ...]:
    tally: dict[str, Counter[str]] = {clock: Counter() for clock in CLOCKS}
    for ticket in tickets:
        for e in events[ticket.id]:
            if e.kind == "sla_breach" and e.detail and (clock := e.detail.split()[0]) in tally:
                tally[clock]["notices"] += 1
        policy = policies.for_ticket(ticket.sla_policy)
        if policy is None:
            continue
        marks = [(e.kind, e.created_at, e.detail) for e in events[ticket.id]]
        for clock, view in clock_views(policy, ticket.created_at, marks, now, calendar).items():
            if view.state.elapsed > view.target.minutes:
                tally[clock]["breached"] += 1
            elif view.state.stopped:
                tally[clock]["met"] += 1
            else:
                tally[clock]["running"] += 1
    return tuple(
        SlaClock(clock, c["met"], c["breached"], c["running"], c["notices"])
        for clock, c in tally.items()
    )
