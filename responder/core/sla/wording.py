"""People-facing SLA wording: durations ("1 h 20 min", "1 jam 20 menit") and clock names."""

from __future__ import annotations

import math

CLOCK_NAMES: dict[str, dict[str, str]] = {
    "en": {"first_response": "first response", "resolution": "resolution"},
    "id": {"first_response": "respons pertama", "resolution": "penyelesaian"},
}

# (day, hour, minute, under a minute) per language; unknown languages use English.
_UNITS: dict[str, tuple[str, str, str, str]] = {
    "en": ("d", "h", "min", "less than a minute"),
    "id": ("hari", "jam", "menit", "kurang dari semenit"),
}


def format_span(minutes: float, language: str) -> str:
    """A duration for people, in at most two adjacent units, zero parts dropped.

    Rounded half up to whole minutes; anything under one minute (or negative) reads as "less
    than a minute"; days appear only from 24 h on, and then with hours and no minutes.
    """
    if math.isnan(minutes) or math.isinf(minutes):
        raise ValueError(f"not a duration: {minutes!r}")
    day, hour, minute, tiny = _UNITS.get(language, _UNITS["en"])
    if minutes < 1:
        return tiny
    total = math.floor(minutes + 0.5)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [(days, day), (hours, hour)] if days else [(hours, hour), (mins, minute)]
    return " ".join(f"{count} {unit}" for count, unit in parts if count)


def clock_name(clock: str, language: str) -> str:
    """The clock's name in `language` (English when the language is unknown)."""
    names = CLOCK_NAMES.get(language, CLOCK_NAMES["en"])
    return names.get(clock) or CLOCK_NAMES["en"].get(clock) or clock.replace("_", " ")
