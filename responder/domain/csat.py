"""The plain records of a survey that deciding, storage and the web pages pass around."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from responder.domain.records import NewReply

# planned and cancelled surveys follow the ticket; once sent (or skipped) a survey is final.
MOVABLE = ("planned", "cancelled")
# The ticket events that say staff answered: a reply, or \\Answered set in a mail client.
STAFF_EVENTS = ("staff_reply", "answered")
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


@dataclass(frozen=True)
class SurveyTicket:
    """A ticket as planning its survey reads it, in one go for many tickets."""

    ticket_id: int
    channel: str
    customer: str
    status: str  # open | resolved
    resolved_at: datetime | None
    last_staff: datetime | None  # the latest staff reply or \\Answered
    last_customer: datetime | None  # the latest customer follow-up
    reply_kinds: frozenset[str]  # the kinds of what we sent on it (not parked)
    utc_offset: int | None  # minutes east of UTC, from the customer's mail; None: unknown
    waiting_elsewhere: bool = False  # the customer has a newer ticket open on the channel


@dataclass(frozen=True)
class SurveyRow:
    """A survey row as stored, as re-planning it needs."""

    id: int
    ticket_id: int
    state: str  # planned | cancelled | sent | skipped | answered
    due_at: datetime | None


@dataclass(frozen=True)
class SurveyChange:
    id: int
    state: str  # planned | cancelled
    due_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class NewSurvey:
    ticket_id: int
    channel: str
    recipient: str
    due_at: datetime


@dataclass(frozen=True)
class SurveyPlan:
    """What re-planning some tickets changes in their survey rows."""

    changes: Sequence[SurveyChange] = ()
    inserts: Sequence[NewSurvey] = ()


@dataclass(frozen=True)
class DueSurvey:
    """A survey that fell due, with what its message needs."""

    survey_id: int
    ticket_id: int
    ref: str
    channel: str
    recipient: str
    customer_name: str
    subject: str
    language: str
    first_inbound: int | None
    raw: bytes | None  # the customer's first message, for threading the email
    blocked: bool  # the customer blocked the bot (Telegram 403)
    # Their latest message on the channel, where it has a reply window (WhatsApp): its own
    # timestamp says whether the survey may still go as it is.
    last_raw: bytes | None = None


@dataclass(frozen=True)
class SentSurvey:
    """A survey's message, to record as sent and queue if the survey is still planned."""

    survey_id: int
    ticket_id: int
    inbound_id: int
    channel: str
    reply: NewReply
