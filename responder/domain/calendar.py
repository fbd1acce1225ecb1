"""A pure business calendar: open hours in one timezone's wall-clock time, holidays, closures."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DAY_MINUTES = 24 * 60
# How far next_open looks ahead, and how long add_business_minutes tolerates finding no open
# time: more than a year, so an annual shutdown or a long special range cannot end the search.
SEARCH_DAYS = 400

HolidayLookup = Callable[[date], str | None]
Interval = tuple[datetime, datetime]  # UTC, half-open [start, end)


@dataclass(frozen=True, order=True)
class Period:
    """Open from start to end, in minutes after the local midnight of the day it starts on.

    An end past DAY_MINUTES runs into the next day ("20:00-02:00" is 1200 to 1560); a period
    lasts at most 24 hours.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        longest = self.start + DAY_MINUTES
        if not 0 <= self.start < DAY_MINUTES or not self.start < self.end <= longest:
            raise ValueError(f"not a period: {self.start}-{self.end} minutes")

    def __str__(self) -> str:
        end = self.end if self.end == DAY_MINUTES else self.end % DAY_MINUTES
        return f"{self.start // 60:02}:{self.start % 60:02}-{end // 60:02}:{end % 60:02}"


# Days of intervals kept (about 27 years); past it the cache starts again, never grows.
DAY_CACHE = 10_000
Week = tuple[tuple[Period, ...], ...]  # seven days, Monday first; a day without periods is shut
ALWAYS = tuple((Period(0, DAY_MINUTES),) for _ in range(7))


@dataclass(frozen=True)
class DateRange:
    """The days first..last, both included, optionally named."""

    first: date
    last: date
    name: str | None = None

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class SpecialHours:
    """Hours that replace the weekly ones on the days of a range (Ramadan, say)."""

    dates: DateRange
    week: Week


@dataclass(frozen=True)
class Closure:
    """Why the calendar is closed at some moment."""

    kind: Literal["holiday", "closed", "outside-hours"]
    name: str | None = None


def _sorted(week: Week) -> Week:
    # Each day's periods in start order keep every interval stream in start order.
    return tuple(tuple(sorted(day)) for day in week)


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got {t!r}")
    # Compared in UTC: same-tzinfo comparisons ignore fold, so they misorder the repeated hour.
    return t.astimezone(UTC)


class BusinessCalendar:
    """Open hours in a timezone; every method takes an aware `t` and never reads the clock.

    Periods are wall-clock times. On a spring-forward day a time inside the skipped hour
    means the moment the clocks jump; on a fall-back day an ambiguous start means its first
    occurrence and an ambiguous end its second, so the repeated hour never shortens a period.
    A holiday or closed date shuts every period starting on it, past-midnight ones included.
    """

    def __init__(
        self,
        timezone: ZoneInfo,
        week: Week,
        *,
        special: Sequence[SpecialHours] = (),
        closed: Sequence[DateRange] = (),
        holidays: HolidayLookup | None = None,
    ) -> None:
        if len(week) != 7 or any(len(s.week) != 7 for s in special):
            raise ValueError("a week has seven days, Monday first")
        self._zone = timezone
        self._week = _sorted(week)
        self._special = tuple(SpecialHours(s.dates, _sorted(s.week)) for s in special)
        self._closed = tuple(closed)
        self._holidays = holidays
        self._never = not any(self._week) and not any(any(s.week) for s in self._special)
        # A day's intervals never change once built, and counting business time over many
        # tickets (SLA re-plans, the report) asks for the same few days again and again.
        self._day_cache: dict[tuple[date, bool], tuple[Interval, ...]] = {}

    @classmethod
    def always_open(cls, timezone: ZoneInfo) -> BusinessCalendar:
        return cls(timezone, ALWAYS)

    @property
    def timezone(self) -> ZoneInfo:
        return self._zone

    @property
    def week(self) -> Week:
        """The usual hours, Monday first (special ranges aside); str(period) is "08:00-12:00"."""
        return self._week

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on day (from the holidays package), or None."""
        return self._holidays(day) if self._holidays is not None else None

    def is_open(self, t: datetime) -> bool:
        now = _utc(t)
        today = self._local_date(now)
        days = (today - timedelta(days=1), today)  # yesterday's periods may run past midnight
        return any(s <= now < e for d in days for s, e in self._intervals(d))

    def next_open(self, t: datetime) -> datetime | None:
        """t itself when open at t; else the start of the next open period (strictly after t).

        None when no period opens within SEARCH_DAYS (a calendar without any hours).
        """
        now = _utc(t)
        for start, end in self._stream(now):
            if end > now:
                return t if start <= now else start.astimezone(self._zone)
        return None

    def closed_because(self, t: datetime) -> Closure | None:
        """None when open at t; else the holiday or closed range, or "outside-hours"."""
        if self.is_open(t):
            return None
        now = _utc(t)
        today = self._local_date(now)
        # A closure that cut a period covering t (yesterday's past-midnight one, say) is why.
        for day in (today - timedelta(days=1), today):
            closure = self._closure(day)
            if closure and any(s <= now < e for s, e in self._intervals(day, closures=False)):
                return closure
        return self._closure(today) or Closure("outside-hours")

    def add_business_minutes(self, t: datetime, minutes: float) -> datetime:
        """The moment `minutes` of open time after t; from a closed t, counting starts at
        next_open. Raises ValueError if the calendar stops opening before they are used up."""
        if not (minutes >= 0 and math.isfinite(minutes)):
            raise ValueError(f"expected a number of minutes >= 0, got {minutes}")
        left = timedelta(minutes=minutes)
        cursor = _utc(t)
        for start, end in self._stream(cursor):
            if end <= cursor:
                continue
            start = max(start, cursor)  # periods may overlap across midnight
            if left <= end - start:
                return (start + left).astimezone(self._zone)
            left -= end - start
            cursor = end
        raise ValueError(f"the calendar has no open time for {SEARCH_DAYS} days after {t}")

    def open_minutes(self, start: datetime, end: datetime) -> float:
        """The open minutes in [start, end), 0.0 when end <= start: the inverse of
        add_business_minutes, so open_minutes(t, add_business_minutes(t, m)) == m."""
        cursor, stop = _utc(start), _utc(end)
        total = timedelta()
        if stop <= cursor:
            return 0.0
        for first, last in self._stream(cursor):
            if first >= stop:
                break
            if last <= cursor:
                continue
            first = max(first, cursor)  # periods may overlap across midnight
            total += min(last, stop) - first
            cursor = last
            if cursor >= stop:
                break
        return total / timedelta(minutes=1)

    def period_key(self, t: datetime) -> str:
        """Names the closed period containing t: the ISO time it ends (next_open).

        All moments of one closed period share a key, so one out-of-hours reply per sender
        per period is easy to enforce. "open" when open at t; "never" if it never opens.
        """
        if self.is_open(t):
            return "open"
        reopens = self.next_open(t)
        return reopens.isoformat() if reopens is not None else "never"

    def _local_date(self, now: datetime) -> date:
        return now.astimezone(self._zone).date()

    def _closure(self, day: date) -> Closure | None:
        # The admin's own closed entries first: their names are the ones customers should see.
        for closed in self._closed:
            if closed.covers(day):
                return Closure("closed", closed.name)
        name = self.holiday_name(day)
        return Closure("holiday", name) if name is not None else None

    def _stream(self, now: datetime) -> Iterator[Interval]:
        """Intervals in start order from the day before now's date, until SEARCH_DAYS pass
        without any."""
        if self._never:
            return
        day, idle = self._local_date(now) - timedelta(days=1), 0
        while idle <= SEARCH_DAYS:
            found = self._intervals(day)
            idle = 0 if found else idle + 1
            yield from found
            day += timedelta(days=1)

    def _intervals(self, day: date, *, closures: bool = True) -> tuple[Interval, ...]:
        """The open intervals of the periods starting on day, as UTC instants."""
        key = (day, closures)
        found = self._day_cache.get(key)
        if found is None:
            if len(self._day_cache) > DAY_CACHE:
                self._day_cache.clear()
            found = self._day_cache[key] = tuple(self._build_intervals(day, closures))
        return found

    def _build_intervals(self, day: date, closures: bool) -> list[Interval]:
        if closures and self._closure(day) is not None:
            return []
        week = next((s.week for s in self._special if s.dates.covers(day)), self._week)
        out = []
        for period in week[day.weekday()]:
            start = self._instant(day, period.start, end=False)
            end = self._instant(day, period.end, end=True)
            if start < end:  # a period inside a skipped hour does not happen
                out.append((start, end))
        return out

    def _instant(self, day: date, minute: int, *, end: bool) -> datetime:
        day += timedelta(days=minute // DAY_MINUTES)
        minute %= DAY_MINUTES
        wall = datetime.combine(day, time(minute // 60, minute % 60))
        first = wall.replace(tzinfo=self._zone).astimezone(UTC)
        second = wall.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        if first <= second:  # equal, or a fall-back time that happens twice
            return second if end else first
        return self._jump(second, first)  # a spring-forward time that never happens

    def _jump(self, before: datetime, after: datetime) -> datetime:
        """The moment the UTC offset changes, between before (old offset) and after (new)."""
        offset = after.astimezone(self._zone).utcoffset()
        while after - before > timedelta(seconds=1):
            # Whole seconds: transitions fall on them, so the search lands exactly.
            mid = before + timedelta(seconds=int((after - before).total_seconds()) // 2)
            if mid.astimezone(self._zone).utcoffset() == offset:
                after = mid
            else:
                before = mid
        return after
