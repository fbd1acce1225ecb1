"""Pure SLA clocks: a ticket's marks, counted in business or calendar minutes, to due times."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from responder.domain.calendar import BusinessCalendar
from responder.domain.records import MERGED_FROM, MERGED_INTO
from responder.domain.sla_policy import Clock, Policy, WaitOn

# "asked": a merged duplicate's first message (issue 18's /merge), a question that may still
# want its first response although the ticket already had one.
MarkKind = Literal["responded", "waiting", "customer", "resolved", "reopened", "asked"]


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got {t!r}")
    return t


@dataclass(frozen=True)
class Mark:
    """A fact in a ticket's life that moves its clocks."""

    at: datetime  # aware
    kind: MarkKind

    def __post_init__(self) -> None:
        # Naive and aware times do not compare: fail where the mark is made, not mid-count.
        _aware(self.at)


def marks_from_events(
    events: Iterable[tuple[str, datetime, str | None]], wait_on: WaitOn
) -> list[Mark]:
    """Ticket events (kind, created_at, detail) -> marks, in time order (stable for ties).

    "staff_reply" -> responded, plus "waiting" at the same moment when wait_on == "reply", or
    when wait_on == "question" and the detail (the reply's text) asks a question (has "?");
    "answered" (a mail client's \\Answered flag) -> responded, never waiting (the text is
    unknown); "customer_reply" -> customer; "closed", "done" and "merged_into" -> resolved;
    "reopened" -> reopened; "merged_from" -> asked; anything else (note, sla_breach, ...) is
    ignored.
    """
    marks: list[Mark] = []
    for kind, at, detail in events:
        if kind == "staff_reply":
            marks.append(Mark(at, "responded"))
            asks = detail is not None and "?" in detail
            if wait_on == "reply" or (wait_on == "question" and asks):
                marks.append(Mark(at, "waiting"))
        elif kind == "answered":
            marks.append(Mark(at, "responded"))
        elif kind == "customer_reply":
            marks.append(Mark(at, "customer"))
        elif kind in ("closed", "done", MERGED_INTO):
            marks.append(Mark(at, "resolved"))
        elif kind == MERGED_FROM:
            marks.append(Mark(at, "asked"))
        elif kind == "reopened":
            marks.append(Mark(at, "reopened"))
    # sorted() is stable, so "responded" stays before its "waiting" and same-time events
    # keep the order the store gave them.
    return sorted(marks, key=lambda m: m.at.astimezone(UTC))


class Span(Protocol):
    """How a policy counts clock minutes: open business time, or all of it."""

    def add(self, t: datetime, minutes: float) -> datetime: ...

    def between(self, start: datetime, end: datetime) -> float: ...


@dataclass(frozen=True)
class BusinessSpan:
    """Counts the open minutes of a business calendar."""

    calendar: BusinessCalendar

    def add(self, t: datetime, minutes: float) -> datetime:
        return self.calendar.add_business_minutes(t, minutes)

    def between(self, start: datetime, end: datetime) -> float:
        return self.calendar.open_minutes(start, end)


@dataclass(frozen=True)
class CalendarSpan:
    """Counts every minute, nights and holidays included."""

    def add(self, t: datetime, minutes: float) -> datetime:
        # Through UTC: same-zone datetime arithmetic is wall-clock arithmetic, which gains or
        # loses an hour across a DST change.
        moment = _aware(t).astimezone(UTC) + timedelta(minutes=minutes)
        return moment.astimezone(t.tzinfo)

    def between(self, start: datetime, end: datetime) -> float:
        gap = _aware(end).astimezone(UTC) - _aware(start).astimezone(UTC)
        return max(0.0, gap / timedelta(minutes=1))


def span_for(policy: Policy, calendar: BusinessCalendar) -> Span:
    return BusinessSpan(calendar) if policy.business_time else CalendarSpan()


@dataclass(frozen=True)
class ClockState:
    """Where one clock of a ticket stands at some moment."""

    running: bool  # counting now
    stopped: bool  # first response given / ticket resolved: nothing falls due
    elapsed: float  # clock minutes counted from opened up to now
    since: datetime | None  # running only: when the current running stretch began
    base: float  # minutes counted before since (all of them when not running)

    def due(self, at: float, span: Span) -> datetime | None:
        """When the clock reaches `at` minutes: None unless running; a stage whose point was
        already passed before `since` is due at `since` (so overdue stages fire at once, never
        in the future)."""
        if not self.running or self.since is None:
            return None
        if at <= self.base:
            # Not span.add(since, 0): from a closed `since` that is the next opening, which
            # would hold back a stage that is already overdue.
            return self.since
        # From since and base rather than now, so the answer does not move as time passes.
        return span.add(self.since, at - self.base)


def clock_state(
    clock: Clock, opened: datetime, marks: Sequence[Mark], now: datetime, span: Span
) -> ClockState:
    """The state of `clock` at `now` for a ticket opened at `opened`, given its marks.

    Marks after now are ignored; marks before opened count as at opened. A first-response
    clock stops at the first "responded" or "resolved", for good unless an "asked" (a merged
    duplicate's first message) starts it again from that message. A resolution clock pauses
    on "waiting", resumes on "customer" or "asked" (unless resolved), stops on "resolved"
    and runs again on "reopened", keeping the minutes counted before.
    """
    opened_utc, now_utc = _aware(opened).astimezone(UTC), _aware(now).astimezone(UTC)
    counted = 0.0
    since: datetime | None = opened
    stopped = False
    for mark in sorted(marks, key=lambda m: m.at.astimezone(UTC)):
        if mark.at.astimezone(UTC) > now_utc:
            break
        at = opened if mark.at.astimezone(UTC) < opened_utc else mark.at
        if clock == "first_response":
            # It never pauses; a response is given only once, but for a message merged in
            # later that nobody has answered yet (issue 18).
            if mark.kind in ("responded", "resolved") and since is not None:
                counted, since, stopped = span.between(since, at), None, True
            elif mark.kind == "asked" and since is None:
                counted, since, stopped = 0.0, at, False
        elif mark.kind in ("waiting", "resolved"):
            if since is not None:
                counted += span.between(since, at)
                since = None
            stopped = stopped or mark.kind == "resolved"
        elif mark.kind in ("customer", "asked") and since is None and not stopped:
            since = at
        elif mark.kind == "reopened" and since is None:
            # A reopen also ends a pause: the ticket is active again, whatever came before.
            since, stopped = at, False
    if since is None:
        return ClockState(running=False, stopped=stopped, elapsed=counted, since=None, base=counted)
    elapsed = counted + span.between(since, now)
    return ClockState(running=True, stopped=False, elapsed=elapsed, since=since, base=counted)
