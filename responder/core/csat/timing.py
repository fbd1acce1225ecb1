"""When a ticket's survey should go, pure: after resolution or quiet, at a decent local hour."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

from responder.config.csat import CsatConfig
from responder.core.reply_kinds import is_canned_answer
from responder.domain.calendar import Period
from responder.domain.csat import SurveyTicket
from responder.domain.records import MERGED

# A survey this late (the daemon was down, or csat was turned on for old tickets) asks about
# something the customer has long forgotten: better not asked at all.
STALE = timedelta(days=7)


def answered(ticket: SurveyTicket) -> bool:
    """Staff replied, or a rule's own answer (not an acknowledgement) went out."""
    return ticket.last_staff is not None or any(map(is_canned_answer, ticket.reply_kinds))


def wanted_at(
    facts: SurveyTicket, csat: CsatConfig, zone: tzinfo, now: datetime
) -> datetime | None:
    """When the survey should go, or None while there is nothing to ask about yet.

    A resolved ticket is surveyed `after_resolved` after resolution; with `after_quiet`, an
    open ticket is surveyed that long after the last staff reply if the customer has not
    written since (they seem content). Never about a ticket nobody answered (there is no
    service to rate), nor while the customer is still waiting: they wrote after it was
    resolved, or opened a new ticket. The time moves into the customer's `send_between`
    hours, counted from now once it is past (after downtime it waits for the morning too).
    """
    if csat.channels and facts.channel not in csat.channels:
        return None
    if facts.status == MERGED:
        return None  # one survey, the ticket it joined's (issue 18's /merge)
    if not answered(facts) or facts.waiting_elsewhere:
        return None
    base: datetime | None = None
    if facts.status == "resolved" and facts.resolved_at is not None:
        written = facts.last_customer
        if written is not None and written > facts.resolved_at:
            return None  # "it still hasn't arrived" is no moment to ask how we did
        base = facts.resolved_at + csat.after_resolved
    elif csat.after_quiet is not None and facts.last_staff is not None:
        customer = facts.last_customer
        # Quiet means the customer has not written since the last staff reply.
        base = (
            facts.last_staff + csat.after_quiet
            if not customer or customer <= facts.last_staff
            else None
        )
    if base is None or base < now - STALE:
        return None
    return decent_hour(max(base, now), csat.send_between, customer_zone(facts.utc_offset, zone))


def customer_zone(utc_offset: int | None, zone: tzinfo) -> tzinfo:
    """The customer's own offset when their mail told us (RFC 5322 Date), else the shop's."""
    if utc_offset is None or not -14 * 60 <= utc_offset <= 14 * 60:
        return zone
    return timezone(timedelta(minutes=utc_offset))


def decent_hour(t: datetime, window: Period, zone: tzinfo) -> datetime:
    """The first moment at or after t that falls inside the daily window, local to `zone`
    (never at night: a survey due at 23:00 waits for the morning)."""
    local = t.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    for days in (-1, 0, 1, 2):
        day = midnight + timedelta(days=days)
        # Wall-clock arithmetic, then localised: correct across a DST change in `zone`.
        start = (day + timedelta(minutes=window.start)).replace(tzinfo=zone)
        end = (day + timedelta(minutes=window.end)).replace(tzinfo=zone)
        if local < end:
            return max(local, start).astimezone(t.tzinfo)
    raise AssertionError("a daily window always has a next opening")  # pragma: no cover
