"""The business_hours config section (closed days, special hours) and building a
BusinessCalendar from it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from pydantic import Field, PlainValidator, model_validator

from responder.config.public_holidays import HolidaysConfig
from responder.config.types import FrozenModel, Text, TimezoneName, fail
from responder.config.weekly_hours import WeeklyConfig
from responder.domain.calendar import BusinessCalendar, DateRange, SpecialHours

__all__ = ["BusinessHoursConfig", "SpecialHoursConfig", "build_calendar"]

_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
_DATE_HINT = "a date like 2026-12-24"


def _date(value: object, at: tuple[str, ...] = ()) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    got = f'"{value}"' if isinstance(value, str) else "nothing" if value is None else str(value)
    raise fail("date", f"expected {_DATE_HINT}, got {got}", at, show_input=False)


def _known_keys(data: Mapping[Any, Any], known: Sequence[str]) -> None:
    # Our own check (not extra="forbid") so the message names "from", not the field from_.
    for key in data:
        if key not in known:
            message = f'unknown key "{key}" (expected one of: {", ".join(known)})'
            raise fail("unknown_key", message, (str(key),), show_input=False)


def _closed(value: object) -> DateRange:
    """ "2026-12-24", "2026-12-24..2026-12-26" or {from: 2026-12-24, to: ..., name: ...}."""
    if isinstance(value, DateRange):
        return value
    if isinstance(value, str):
        first, _, last = value.partition("..")
        found = DateRange(_date(first), _date(last) if last else _date(first))
        at: tuple[str, ...] = ()
    elif isinstance(value, dict):
        _known_keys(value, ("from", "to", "name"))
        if "from" not in value:
            raise fail("missing", 'missing required key "from"', show_input=False)
        name = value.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise fail("name", "expected a name (text)", ("name",), show_input=False)
        first_day = _date(value["from"], ("from",))
        last_day = _date(value["to"], ("to",)) if "to" in value else first_day
        found, at = DateRange(first_day, last_day, name), ("to",)
    else:
        message = f"expected {_DATE_HINT}, a range like 2026-12-24..2026-12-26 or a mapping"
        raise fail("closed", message)
    if found.last < found.first:
        raise fail("range", "the range ends before it starts", at)
    return found


DayOff = Annotated[DateRange, PlainValidator(_closed)]
Day = Annotated[date, PlainValidator(_date)]


class SpecialHoursConfig(FrozenModel):
    """Hours replacing `weekly` from `from` to `to` (both included), e.g. during Ramadan."""

    name: Text
    from_: Day = Field(alias="from")
    to: Day
    weekly: WeeklyConfig

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: object) -> object:
        if isinstance(data, dict):
            _known_keys(data, ("name", "from", "to", "weekly"))
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to < self.from_:
            raise fail("range", f"ends before it starts ({self.from_})", ("to",), show_input=False)
        return self


class BusinessHoursConfig(FrozenModel):
    """When the desk is staffed. Absent from the config: always open.

    timezone defaults to the top-level one. closed: dates ("2026-12-24"), ranges
    ("2026-12-24..2026-12-26") or {from:, to:, name:}; a closed or holiday date shuts every
    period starting on it. special: named date ranges whose `weekly` replaces the usual one.
    """

    timezone: TimezoneName | None = None
    weekly: WeeklyConfig
    holidays: HolidaysConfig | None = None
    closed: tuple[DayOff, ...] = ()
    special: tuple[SpecialHoursConfig, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not any(self.weekly.week()) and not any(any(s.weekly.week()) for s in self.special):
            message = "no open hours on any day: list periods under a day such as mon"
            raise fail("no_hours", message, ("weekly",), show_input=False)
        for index, later in enumerate(self.special):
            for earlier in self.special[:index]:
                if later.from_ <= earlier.to and earlier.from_ <= later.to:
                    message = f'overlaps special hours "{earlier.name}"'
                    message += f" ({earlier.from_}..{earlier.to})"
                    raise fail("overlap", message, ("special", index, "from"), show_input=False)
        return self


def build_calendar(cfg: BusinessHoursConfig | None, default_tz: str) -> BusinessCalendar:
    """The calendar cfg describes, in its timezone or default_tz; None: always open."""
    zone = ZoneInfo(cfg.timezone if cfg is not None and cfg.timezone else default_tz)
    if cfg is None:
        return BusinessCalendar.always_open(zone)
    special = [SpecialHours(DateRange(s.from_, s.to, s.name), s.weekly.week()) for s in cfg.special]
    return BusinessCalendar(
        zone,
        cfg.weekly.week(),
        special=special,
        closed=cfg.closed,
        holidays=cfg.holidays.lookup() if cfg.holidays is not None else None,
    )
