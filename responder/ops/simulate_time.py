"""The time `responder simulate` pretends it is: --at as a shop owner writes it, or the Date."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from responder.core.contexts import DAY_NAMES
from responder.core.formatting import zone_abbreviation

TimeSource = Literal["at", "date_header", "timestamp", "stated", "now"]

ACCEPTED_FORMS = (
    '"sun 10:00" or "Sunday 10:00" (the coming Sunday, today if it is Sunday), '
    '"10:00" (today), "tomorrow 9:00", "minggu 10.00", "besok 9.00", '
    'or ISO 8601 such as "2026-12-06T10:00" (read in the business timezone '
    "unless it ends with an offset such as +07:00)"
)

# English and Indonesian names and abbreviations, Monday = 0 as date.weekday() counts.
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            ("mon", "monday", "senin", "sen"),
            ("tue", "tues", "tuesday", "selasa", "sel"),
            ("wed", "wednesday", "rabu", "rab"),
            ("thu", "thur", "thurs", "thursday", "kamis", "kam"),
            ("fri", "friday", "jumat", "jum'at", "jum"),
            ("sat", "saturday", "sabtu", "sab"),
            ("sun", "sunday", "minggu", "ahad", "min"),
        ]
    )
    for name in names
}
_DAYS_FROM_TODAY = {"today": 0, "hari ini": 0, "tomorrow": 1, "besok": 1}
# "10:00", "sun 10:00", "besok 9.00": Indonesian writes the time with a dot.
_CLOCK = re.compile(r"(?:(?P<day>[a-z' ]+?) )?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def parse_at(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """--at as an aware time; ValueError (see ACCEPTED_FORMS) when it is none of the forms."""
    words = " ".join(text.lower().replace(",", " ").split())
    if words == "now":
        return now.astimezone(zone)
    if match := _CLOCK.fullmatch(words):
        hour, minute = int(match["hour"]), int(match["minute"])
        if hour > 23 or minute > 59:
            raise ValueError(f"no such time of day: {match['hour']}:{match['minute']}")
        day = _day(match["day"], now.astimezone(zone).date())
        return datetime.combine(day, time(hour, minute), tzinfo=zone)
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _day(word: str | None, today: date) -> date:
    if word is None:
        return today
    if word in _DAYS_FROM_TODAY:
        return today + timedelta(days=_DAYS_FROM_TODAY[word])
    if word in _WEEKDAYS:
        return today + timedelta(days=(_WEEKDAYS[word] - today.weekday()) % 7)
    raise ValueError(f"no such day: {word}")


def describe_time(
    moment: datetime, zone: ZoneInfo, source: TimeSource, stamp: str = "valid Date header"
) -> str:
    """ "Sunday 6 December 2026 10:00 WIB (Asia/Jakarta), from the message's Date header";
    `stamp` names what the message lacks when the time is now."""
    t = moment.astimezone(zone)
    shown = (
        f"{DAY_NAMES['en'][t.weekday()]} {t.day} {_MONTHS[t.month - 1]} {t.year} "
        f"{t:%H:%M} {zone_abbreviation(t)} ({zone.key})"
    )
    return (
        shown
        + {
            "at": ", from --at",
            "date_header": ", from the message's Date header",
            "timestamp": ", from the message's WhatsApp timestamp",
            "stated": ', from the message\'s "at"',
            "now": f", the time now: the message has no {stamp} (--at chooses another)",
        }[source]
    )
