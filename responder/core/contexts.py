"""What templates see: the message, the business, its hours, and the samples `check` uses."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from responder.core.channel import ChannelProfile
from responder.core.decisions import OPEN, Acknowledge, Moment, Record
from responder.core.formatting import format_opening
from responder.domain.calendar import BusinessCalendar, Period
from responder.domain.message import Message

EXCERPT_CHARS = 300
DAY_NAMES = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def moment_at(calendar: BusinessCalendar, now: datetime) -> tuple[Moment, datetime | None]:
    if calendar.is_open(now):
        return OPEN, None
    closure = calendar.closed_because(now)
    holiday = closure.name if closure is not None and closure.kind == "holiday" else None
    return Moment(False, holiday, calendar.period_key(now)), calendar.next_open(now)


def opening(calendar: BusinessCalendar, language: str, now: datetime) -> tuple[bool, str | None]:
    """Whether the business is open at `now` and, if not, when it opens next in `language`'s
    words, as the out-of-hours reply says it (None: no opening ahead)."""
    if calendar.is_open(now):
        return True, None
    next_open = calendar.next_open(now)
    if next_open is None:
        return False, None
    return False, format_opening(next_open.astimezone(calendar.timezone), language, now)


def render_context(
    profile: ChannelProfile, msg: Message | None, ref: str, subject: str
) -> dict[str, Any]:
    """The data a template sees. Customer text is only ever a value here, never source."""
    return {
        "ticket": {"ref": ref},
        "customer": {
            "name": msg.sender.name if msg else "",
            "address": msg.sender.address if msg else "",
        },
        "message": {"subject": subject, "excerpt": msg.text[:EXCERPT_CHARS] if msg else ""},
        "business": {"name": profile.display_name or profile.address, "address": profile.address},
        "channel": {"name": profile.name, "address": profile.address},
    }


def calendar_context(
    calendar: BusinessCalendar,
    language: str,
    now: datetime,
    moment: Moment,
    next_open: datetime | None,
) -> dict[str, Any]:
    opening = None
    if next_open is not None:
        local = next_open.astimezone(calendar.timezone)
        opening = {"text": format_opening(local, language, now), "iso": local.isoformat()}
    return {
        "next_open": opening,
        "holiday": {"name": moment.holiday} if moment.holiday else None,
        "hours": hours_rows(calendar, language),
    }


def hours_rows(calendar: BusinessCalendar, language: str) -> list[dict[str, str]]:
    """The weekly hours as a canned answer shows them; Indonesian writes 08.00, English 08:00."""
    return [dict(row) for row in _hours_rows(calendar.week, language)]


@functools.lru_cache(maxsize=32)
def _hours_rows(
    week: tuple[tuple[Period, ...], ...], language: str
) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Every template context carries the hours: worked out once per week and language."""
    names = DAY_NAMES.get(language, DAY_NAMES["en"])
    rows = []
    for day, periods in enumerate(week):
        text = ", ".join(str(p) for p in periods)
        if language == "id":
            text = text.replace(":", ".")
        closed = "Tutup" if language == "id" else "Closed"
        rows.append((("day", names[day]), ("periods", text or closed)))
    return tuple(rows)


def sample_context(
    profile: ChannelProfile, calendar: BusinessCalendar, now: datetime
) -> dict[str, Any]:
    """What `responder check` renders every template with."""
    context = render_context(profile, None, "ABC234", "Sample")
    _, next_open = moment_at(calendar, now)
    closed = Moment(False, "Tahun Baru", "sample")
    context.update(calendar_context(calendar, profile.language, now, closed, next_open or now))
    context["language"] = profile.language
    context["rule"] = {"name": "sample", "priority": "high", "tags": ["sample"]}
    context["sla"] = {
        "stage": "reminder",
        "clock": "first_response",
        "clock_name": "first response",
        "policy": "standard",
        "target": "4 h",
        "waited": "3 h",
        "left": "1 h",
        "over": "",
        "due": "Monday 08:30 WIB",
        "business_time": True,
    }
    context["survey"] = {
        "stage": "ask",
        "nps": True,
        "links": [
            {"rating": n, "url": f"https://help.example/s/sample?r={n}"} for n in range(1, 6)
        ],
        "rating": 2,
        "score": 6,
        "comment": "Sample comment",
        "via": "email",
    }
    context["history"] = {
        "earlier": 2,
        "last": {
            "ref": "XYZ789",
            "subject": "Sample",
            "date": "2026-01-02",
            "channel": "support-mail",
            "kind": "email",
            "status": "resolved",
            "rating": 4,
        },
        "open": ["DEF567 (shop-bot)"],
        "vip": True,
    }
    return context


def staff_context(
    profile: ChannelProfile, msg: Message, decision: Acknowledge | Record
) -> dict[str, Any]:
    """What a notice to staff shows: the customer's message and why a rule flagged it."""
    context = render_context(profile, msg, decision.ref, msg.title)
    action = decision.action
    context["rule"] = {
        "name": decision.rule,
        "priority": action.priority,
        "tags": list(action.tags),
    }
    context["language"] = profile.language
    # The resolved ticket this one follows up, past its reopen window (issue 18).
    context["ticket"]["follows"] = decision.follows
    return context
