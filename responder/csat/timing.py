"""When a ticket's survey should go, pure: after resolution or quiet, at a decent local hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from responder.business_hours import Period
from responder.config_csat import CsatConfig

# Reply kinds that answer nobody's question: a ticket with only these was never answered.
NOT_ANSWERS = frozenset(
    {
        "acknowledgement",
        "out_of_hours",
        "staff_notification",
        "staff_relay",
        "staff_notice",
        "welcome",
        "csat_survey",
        "csat_low",
        "csat_thanks",
    }
)


@dataclass(frozen=True)
class SurveyFacts:
    """What deciding a ticket's survey looks at, read in one go for many tickets."""

    ticket_id: int
    channel: str
    customer: str
    status: str  # open | resolved
    resolved_at: datetime | None
    last_staff: datetime | None  # the latest staff reply or \\Answered
    last_customer: datetime | None  # the latest customer follow-up
    answered: bool  # staff replied, or a rule's own answer went out
    utc_offset: int | None  # minutes east of UTC, from the customer's mail; None: unknown


def wanted_at(facts: SurveyFacts, csat: CsatConfig, zone: tzinfo) -> datetime | None:
    """When the survey should go, or None while there is nothing to ask about yet.

    A resolved ticket is surveyed `after_resolved` after resolution; with `after_quiet`, an
    open ticket is surveyed that long after the last staff reply if the customer has not
    written since (they seem content). A ticket nobody answered is never surveyed: there is
    no service to rate. The time then moves into the customer's `send_between` hours.
    """
    if csat.channels and facts.channel not in csat.channels:
        return None
    if not facts.answered:
        return None
    base: datetime | None = None
    if facts.status == "resolved" and facts.resolved_at is not None:
        base = facts.resolved_at + csat.after_resolved
    elif csat.after_quiet is not None and facts.last_staff is not None:
        customer = facts.last_customer
        # Quiet means the customer has not written since the last staff reply.
        base = (
            facts.last_staff + csat.after_quiet
            if not customer or customer <= facts.last_staff
            else None
        )
    if base is None:
        return None
    return decent_hour(base, csat.send_between, customer_zone(facts.utc_offset, zone))


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
