"""Weekly opening hours as the admin writes them: periods like "08:00-12:00" per weekday."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainValidator

from responder.config.types import FrozenModel, fail
from responder.domain.calendar import DAY_MINUTES, Period, Week

__all__ = ["PeriodValue", "WeeklyConfig"]

_PERIOD = re.compile(r"\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*", re.ASCII)


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
