"""How an SLA policy's times are written: remind points, durations in the config's notation,
and the rule that business time is given in hours, never in days."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainValidator, TypeAdapter, ValidationError

from responder.config.types import PositiveDuration, fail
from responder.config.yamlload import KeyPath

__all__ = ["RemindPoint", "Reminder", "format_duration", "no_days_in_business_time", "reminder"]

_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%", re.ASCII)
_BEFORE = re.compile(r"(.+?)\s+before", re.ASCII)
# In the duration grammar "d" only ever follows a number of days.
_DAYS = re.compile(r"\d\s*d", re.ASCII)
_POSITIVE = TypeAdapter(PositiveDuration)
_REMIND_HINT = 'expected a share of the target like "80%", or a time before it like "15m before"'


def format_duration(value: timedelta) -> str:
    """A duration in the config's own notation, largest units first: 1d2h, 15m, 4s."""
    seconds = value.total_seconds()
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    parts = [f"{n:g}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) + (f"{rest:g}s" if rest or not parts else "")


@dataclass(frozen=True)
class Reminder:
    """One `remind:` point: a share of the target, or a fixed time before it."""

    text: str  # normalised, so stage names stay stable: "50%", "12.5%", "15m before"
    percent: float | None = None
    before: timedelta | None = None

    def at(self, target: float) -> float:
        """The clock minute this reminder falls due for a target of `target` minutes."""
        if self.before is not None:
            return target - self.before.total_seconds() / 60
        return target * (self.percent or 0) / 100


def reminder(value: object) -> Reminder:
    """A `remind:` point as written ("80%", "15m before"), checked and normalised."""
    if isinstance(value, Reminder):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if found := _PERCENT.fullmatch(text):
        number = Decimal(found.group(1))
        if not 0 < number < 100:
            raise fail("remind", "a percentage must be more than 0% and less than 100%")
        return Reminder(f"{format(number.normalize(), 'f')}%", percent=float(number))
    if found := _BEFORE.fullmatch(text):
        try:
            before = _POSITIVE.validate_python(found.group(1))
        except ValidationError as exc:
            raise fail("remind", f"{exc.errors()[0]['msg']} before the target") from None
        return Reminder(f"{format_duration(before)} before", before=before)
    raise fail("remind", _REMIND_HINT)


RemindPoint = Annotated[Reminder, PlainValidator(reminder)]


def no_days_in_business_time(data: Mapping[Any, Any]) -> None:
    """A policy in business time (its raw mapping) writes no duration in days."""
    # Parsed, "1d" is 24 hours; an admin writing it in business time means a working day.
    for at, value in _raw_durations(data):
        if isinstance(value, str) and _DAYS.search(value):
            message = (
                f'in business time "{value.strip()}" is ambiguous; write open hours, '
                "e.g. 8h for one 8-hour working day"
            )
            raise fail("business_days", message, at, show_input=False)


def _raw_durations(data: Mapping[Any, Any]) -> Iterator[tuple[KeyPath, object]]:
    """The policy's durations as written, with where each sits in the policy."""
    for key in ("first_response", "resolution"):
        yield (key,), data.get(key)
    remind = data.get("remind")
    for index, point in enumerate(remind if isinstance(remind, list) else ()):
        if isinstance(point, str) and (found := _BEFORE.fullmatch(point.strip())):
            yield ("remind", index), found.group(1)
    escalate = data.get("escalate")
    for index, entry in enumerate(escalate if isinstance(escalate, list) else ()):
        if isinstance(entry, dict):
            yield ("escalate", index, "after"), entry.get("after")
