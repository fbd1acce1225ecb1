"""Auto-close and the reopen window, pure (issue 18 item 5): when a ticket that waits on the
customer closes itself, and what a customer's message to a resolved ticket does."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from responder.core.sla.clock import BusinessSpan, CalendarSpan, Span, marks_from_events
from responder.core.sla.wording import format_span
from responder.domain.calendar import BusinessCalendar
from responder.domain.closing import CLOSE_CLOCK, CLOSE_STAGE, ClosePolicy, WaitSpan
from responder.domain.sla_policy import WaitOn
from responder.domain.timers import NewTimer, TicketEvent, TimerChange, TimerRow

# A calendar that opens on no day within this many days cannot close anything.
SEARCH_DAYS = 400


def waiting_since(events: Iterable[TicketEvent], wait_on: WaitOn) -> datetime | None:
    """Since when the ticket has waited on the customer: its last staff answer that made it
    wait (the SLA's "waiting" mark, by the ticket's policy's wait_on; "reply" without one),
    with no customer message, resolution or reopening after it. None: not waiting."""
    since: datetime | None = None
    for mark in marks_from_events(events, wait_on):
        if mark.kind == "waiting":
            since = mark.at
        elif mark.kind == "responded" and since is not None:
            since = mark.at  # staff wrote again meanwhile: the customer was just spoken to
        elif mark.kind in ("customer", "asked", "resolved", "reopened"):
            since = None
    return since


def close_due(
    since: datetime, wait: WaitSpan, business: bool, calendar: BusinessCalendar
) -> datetime | None:
    """When a ticket waiting since `since` closes: in business time its days are open days
    (the same time of day, on the n-th open day after the wait began, or the next opening)
    and the rest open time; in calendar time, all of it. None: the calendar never opens."""
    if not business:
        return CalendarSpan().add(since, wait.total / timedelta(minutes=1))
    span: Span = BusinessSpan(calendar)
    at = since
    if wait.days:
        found = _open_day_after(since, wait.days, calendar)
        if found is None:
            return None
        at = found
    try:
        return span.add(at, wait.rest / timedelta(minutes=1))
    except ValueError:
        return None


def _open_day_after(since: datetime, days: int, calendar: BusinessCalendar) -> datetime | None:
    zone = calendar.timezone
    local = since.astimezone(zone)
    day, counted = local.date(), 0
    for _ in range(SEARCH_DAYS):
        day += timedelta(days=1)
        if _is_open_day(day, calendar):
            counted += 1
            if counted == days:
                wanted = datetime.combine(day, local.timetz().replace(tzinfo=None), zone)
                return calendar.next_open(wanted)
    return None


def _is_open_day(day: date, calendar: BusinessCalendar) -> bool:
    zone = calendar.timezone
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return calendar.open_minutes(start, end) > 0


def close_at(
    policy: ClosePolicy | None,
    status: str,
    events: Iterable[TicketEvent],
    wait_on: WaitOn,
    calendar: BusinessCalendar,
) -> datetime | None:
    """When an open ticket that waits on the customer should close; None: it should not."""
    if policy is None or policy.close_after is None or status != "open":
        return None
    since = waiting_since(events, wait_on)
    if since is None:
        return None
    return close_due(since, policy.close_after, policy.business_time, calendar)


def reopens(policy: ClosePolicy | None, resolved_at: datetime | None, now: datetime) -> bool:
    """A customer message at `now` to a ticket resolved at `resolved_at` reopens it."""
    within = policy.reopen_within if policy is not None else None
    if within is None or resolved_at is None:
        return False
    return now - resolved_at <= within


def follows_up(policy: ClosePolicy | None, resolved_at: datetime | None, now: datetime) -> bool:
    """A customer message to a resolved ticket opens a new one that names it: past the window."""
    if policy is None or policy.reopen_within is None or resolved_at is None:
        return False
    return not reopens(policy, resolved_at, now)


def replan_close(
    ticket_id: int, due: datetime | None, row: TimerRow | None
) -> TimerChange | NewTimer | None:
    """The change that brings a ticket's close timer to `due` (None: not closing): armed,
    moved, or stopped. A fired one stays fired until the ticket waits again (reopened and
    answered), when the same row is armed anew."""
    if row is None:
        if due is None:
            return None
        return NewTimer(ticket_id, CLOSE_CLOCK, CLOSE_STAGE, "pending", due)
    if due is None:
        return None if row.state in ("done", "stopped") else TimerChange(row.id, "stopped", None)
    if (row.state, row.due_at) == ("pending", due):
        return None
    return TimerChange(row.id, "pending", due)


_DAYS_WORDS = {
    "en": ("day", "days", "working day", "working days"),
    "id": ("hari", "hari", "hari kerja", "hari kerja"),
}


def wait_words(wait: WaitSpan, business: bool, language: str) -> str:
    """close_after for staff: "3 working days", "2 hari kerja 4 jam", "36 h"."""
    words = _DAYS_WORDS.get(language, _DAYS_WORDS["en"])
    parts = []
    if wait.days:
        parts.append(f"{wait.days} {words[(2 if business else 0) + (wait.days != 1)]}")
    if wait.rest:
        parts.append(format_span(wait.rest / timedelta(minutes=1), language))
    return " ".join(parts)
