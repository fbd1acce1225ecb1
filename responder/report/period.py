"""The report's period: whole local days in the business timezone, both ends included."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 30
_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)


@dataclass(frozen=True)
class Period:
    """The local days first..last in zone; start and end are the UTC instants around them."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return _midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """Exclusive: the local midnight after the last day, so --until means the whole day."""
        return _midnight(self.last + timedelta(days=1), self.zone)

    def days(self) -> list[date]:
        count = (self.last - self.first).days + 1
        return [self.first + timedelta(days=n) for n in range(count)]

    def covers(self, t: datetime) -> bool:
        return self.start <= t.astimezone(UTC) < self.end


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _parse(option: str, value: str) -> date:
    # fromisoformat alone also takes "20260501" and week dates; ask for one spelling only.
    try:
        if _DATE.fullmatch(value.strip()):
            return date.fromisoformat(value.strip())
    except ValueError:
        pass
    raise ValueError(f"{option}: expected a date like 2026-05-01, got {value!r}")


def parse_period(since: str | None, until: str | None, zone: ZoneInfo, now: datetime) -> Period:
    """The period --since/--until name; by default the last DEFAULT_DAYS local days up to today.

    Raises ValueError with a message for the user when a date is malformed or the
    period is backwards.
    """
    today = now.astimezone(zone).date()
    last = _parse("--until", until) if until is not None else None
    first = _parse("--since", since) if since is not None else None
    if last is None:
        last = today if first is None or first <= today else first
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValueError(f"--since {first} is after --until {last}")
    return Period(first, last, zone)
