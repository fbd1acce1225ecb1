"""The admin's `tickets:` section: auto-close a ticket that waits on the customer, and the
window in which a customer's reply reopens a resolved ticket (issue 18 item 5)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import Field, PlainValidator, TypeAdapter, ValidationError, model_validator

from responder.config.sla_durations import format_duration
from responder.config.types import FrozenModel, PositiveDuration, fail
from responder.domain.closing import ClosePolicy, WaitSpan

__all__ = ["TicketsConfig", "close_policy"]

_POSITIVE = TypeAdapter(PositiveDuration)
_DAYS = re.compile(r"\s*(\d+)d(.*)", re.ASCII | re.DOTALL)


def wait_span(value: object) -> WaitSpan:
    """`close_after` as written: its whole days kept apart, as in business time a day is an
    open day (the SLA's "1d" is refused there as ambiguous; here it is what admins write)."""
    if isinstance(value, WaitSpan):
        return value
    try:
        total = _POSITIVE.validate_python(value)
    except ValidationError as exc:
        raise fail("duration", exc.errors()[0]["msg"]) from None
    found = _DAYS.fullmatch(value) if isinstance(value, str) else None
    days = int(found.group(1)) if found else 0
    return WaitSpan(format_duration(total), days, total - timedelta(days=days))


CloseAfter = Annotated[WaitSpan, PlainValidator(wait_span)]


class TicketsConfig(FrozenModel):
    """Absent: tickets stay open until staff close them, and a reply to a resolved ticket is
    treated as it always was (mail joins it, a chat opens a new one)."""

    # A ticket whose last word is a staff answer (the SLA's "waiting"), with no customer
    # message since, is resolved after this long; absent: never.
    close_after: CloseAfter | None = None
    # Counted in open hours and open days of business_hours, or around the clock.
    close_time: Literal["business", "calendar"] = "business"
    # The customer is told, in their language, on their channel (templates auto_closed.*).
    closing_message: bool = Field(default=True, strict=True)
    # A customer message this soon after resolution reopens the ticket; a later one opens a
    # new ticket that names the old. Absent: as without the section.
    reopen_within: PositiveDuration | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.close_after is None and self.reopen_within is None:
            message = "give close_after, reopen_within or both (or leave the section out)"
            raise fail("tickets", message, show_input=False)
        return self


def close_policy(config: TicketsConfig | None) -> ClosePolicy | None:
    if config is None:
        return None
    return ClosePolicy(
        config.close_after,
        config.close_time == "business",
        config.closing_message,
        config.reopen_within,
    )
