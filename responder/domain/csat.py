"""The plain records of a survey that deciding, storage and the web pages pass around."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PREFIX = "csat:"  # Telegram callback data: csat:<survey id>:r<1-5> or csat:<survey id>:n<0-10>


@dataclass(frozen=True)
class SurveyAnswer:
    """A customer's answer to a survey, from any of the ways they can give it."""

    survey_id: int
    rating: int | None  # None: this answer only adds the NPS score (a second button press)
    nps: int | None
    comment: str
    via: str  # email, telegram, link


@dataclass(frozen=True)
class SurveyInfo:
    """A survey with its ticket, as answering it and telling staff of it needs."""

    id: int
    ticket_id: int
    ref: str
    channel: str
    recipient: str
    state: str
    sent_at: datetime | None
    rating: int | None
    nps: int | None
    comment: str
    via: str | None
    notified: bool
    language: str
    customer_name: str
    subject: str
    post: int | None  # the Telegram message the survey went out as


def read_press(data: str) -> tuple[int, str, int] | None:
    """(survey id, "r" or "n", value) from a button's callback data, if it is ours and sane."""
    if not data.startswith(PREFIX):
        return None
    survey, _, choice = data[len(PREFIX) :].partition(":")
    field, number = choice[:1], choice[1:]
    if not (survey.isascii() and survey.isdigit() and number.isascii() and number.isdigit()):
        return None
    value = int(number)
    if (field == "r" and 1 <= value <= 5) or (field == "n" and 0 <= value <= 10):
        return int(survey), field, value
    return None
