"""The business_hours config section and building a BusinessCalendar from it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Annotated, Any, Self
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    field_validator,
    model_validator,
)

from responder.config.types import FrozenModel, Text, TimezoneName, fail
from responder.domain.calendar import (
    DAY_MINUTES,
    BusinessCalendar,
    DateRange,
    HolidayLookup,
    Period,
    SpecialHours,
    Week,
)

if TYPE_CHECKING:
    import holidays

__all__ = [
    "BusinessHoursConfig",
    "HolidaysConfig",
    "PeriodValue",
    "SpecialHoursConfig",
    "WeeklyConfig",
    "build_calendar",
]

_PERIOD = re.compile(r"\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*", re.ASCII)
_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
_DATE_HINT = "a date like 2026-12-24"


def _period(value: object) -> Period:
    if isinstance(value, Period):
        return value
    found = _PERIOD.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise fail("period", "expected a period like 08:00-12:00")
    sh, sm, eh, em = map(int, found.groups())
    if sh > 23 or sm > 59 or em > 59 or eh > 24 or (eh == 24 and em):
        raise fail("period", "expected times 00:00-23:59 (or 24:00 as an end), like 08:00-12:00")
    start, end = sh * 60 + sm, eh * 60 + em
    if start == end:
        raise fail(
            "period", "a period cannot start and end at the same time (whole day: 00:00-24:00)"
        )
    # An end at or before the start runs past midnight: "20:00-02:00" closes at 02:00 next day.
    return Period(start, end if end > start else end + DAY_MINUTES)


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value  # sat: "09:00-14:00" reads naturally


def _apart(periods: tuple[Period, ...]) -> tuple[Period, ...]:
    ordered = sorted(periods)
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise fail("overlap", f"periods {before} and {after} overlap", show_input=False)
    return periods


PeriodValue = Annotated[Period, PlainValidator(_period)]
DayHours = Annotated[
    tuple[PeriodValue, ...],
    BeforeValidator(_one_or_many),
    AfterValidator(_apart),
]


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


class WeeklyConfig(FrozenModel):
    """Open periods per weekday ("08:00-12:00"; "20:00-02:00" runs past midnight; "24:00" may
    end one). A day left out is closed."""

    mon: DayHours = ()
    tue: DayHours = ()
    wed: DayHours = ()
    thu: DayHours = ()
    fri: DayHours = ()
    sat: DayHours = ()
    sun: DayHours = ()

    def week(self) -> Week:
        return (self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun)


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


class HolidaysConfig(FrozenModel):
    """Public holidays from the `holidays` package; each one closes its whole day.

    country: an ISO 3166 code (ID, NL, US); subdivision: a province or state code of it, for
    regional holidays. language: the holiday names' language (id, en_US; default: the
    country's own), never the server's locale. cuti_bersama (country ID only): also close
    Indonesia's joint leave days, which the package lists as its "government" category.
    """

    country: Text
    subdivision: Text | None = None
    cuti_bersama: bool = Field(default=False, strict=True)
    language: Text | None = None

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        # Imported here, not at the top: the package costs ~4 MB of RSS in every daemon, and
        # only a config with a holidays: section needs it (the 80 MB budget, issue 15).
        import holidays

        if value.upper() not in holidays.list_supported_countries():
            message = f'unknown country "{value}" (use an ISO 3166 code like ID, NL or US)'
            raise fail("country", message, show_input=False)
        return value.upper()

    @model_validator(mode="after")
    def _supported(self) -> Self:
        import holidays  # only with a holidays: section (see _known_country)

        found = holidays.country_holidays(self.country)
        if self.subdivision is not None:
            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision)
            except NotImplementedError:
                codes = holidays.list_supported_countries(include_aliases=False)[found.country]
                known = f"one of: {', '.join(codes)}" if codes else "none: leave it out"
                message = f'unknown subdivision "{self.subdivision}" of {self.country}'
                at = ("subdivision",)
                raise fail("subdivision", f"{message} (expected {known})", at) from None
        if self.language is not None and _language(self.language, found) is None:
            known = ", ".join(found.supported_languages) or "only its own"
            message = f'holiday names for {self.country} are not in "{self.language}"'
            raise fail("language", f"{message} (expected one of: {known})", ("language",))
        if self.cuti_bersama and found.country != "ID":
            message = "cuti_bersama (joint leave days) exists for country ID only"
            raise fail("cuti_bersama", message, ("cuti_bersama",), show_input=False)
        return self

    def lookup(self) -> HolidayLookup:
        """A date -> holiday name function (names of one date joined with "; ")."""
        import holidays  # only with a holidays: section (see _known_country)
        from holidays.constants import GOVERNMENT, PUBLIC

        base = holidays.country_holidays(self.country)
        options: dict[str, Any] = {}
        if "islamic_show_estimated" in base.get_supported_options():
            # Names reach customers: "Hari Raya Idul Fitri (perkiraan)" reads as a doubt.
            options["islamic_show_estimated"] = False
        days = holidays.country_holidays(
            self.country,
            subdiv=self.subdivision,
            # Always explicit: left unset, the package follows the server's locale.
            language=_language(self.language, base) or base.default_language or "en_US",
            categories=(PUBLIC, GOVERNMENT) if self.cuti_bersama else (PUBLIC,),
            **options,
        )

        def name(day: date) -> str | None:
            found = days.get(day)  # fills in the day's year on first use
            return found if isinstance(found, str) else None

        return name


def _language(wanted: str | None, found: holidays.HolidayBase) -> str | None:
    if wanted is None:
        return None
    supported = found.supported_languages
    if wanted in supported:
        return wanted
    # "en" (as channels write it) means the one English the package has, en_US.
    return next((lang for lang in supported if lang.split("_")[0] == wanted), None)


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
