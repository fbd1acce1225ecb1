"""How figures read: business durations as "1h 05m", shares as "87.5%", nothing as "–"."""

from __future__ import annotations

import unicodedata
from datetime import date

NONE = "–"  # a figure with nothing to measure yet: no division by zero, no misleading 0


def duration(minutes: float | None) -> str:
    """Whole minutes, rounded half up: "45m", "1h 05m", "26h 00m"."""
    if minutes is None:
        return NONE
    total = int(minutes + 0.5)
    hours, rest = divmod(total, 60)
    return f"{rest}m" if not hours else f"{hours}h {rest:02d}m"


def percent(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}%"


def rating(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f}"


def signed(value: int | None) -> str:
    if value is None:
        return NONE
    return f"{value:+d}" if value else "0"


def day(value: date) -> str:
    """ "Mon 2026-06-01": the weekday matters when reading business-hour figures."""
    return f"{value:%a} {value.isoformat()}"


def clock(name: str) -> str:
    return name.replace("_", " ").capitalize()


def plain(text: str, limit: int = 300) -> str:
    """Customer text on one line, without control characters: an ESC could drive a
    terminal, and a newline would break a table row."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
