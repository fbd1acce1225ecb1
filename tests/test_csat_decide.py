"""Deciding survey answers in a chat, pure: whose button press counts, and when a reply to the
survey message is feedback rather than a new question."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from responder.config.rules import DEFAULT_RULES
from responder.core.decide import Policy, decide
from responder.core.decisions import Acknowledge, Decision, Suppress, SurveyNote, SurveyVote
from responder.core.guards import GuardContext
from responder.core.view import TicketInfo, View
from responder.domain.csat import SurveyInfo
from responder.wire.telegram.message import to_message
from responder.wire.telegram.update import ChatMessage

CUSTOMER = 5001
SURVEY_POST = 40
POLICY = Policy(
    "shop-bot", GuardContext(frozenset(), frozenset()), 3, DEFAULT_RULES, staff_chat=-100123
)


def decide_chat(msg: ChatMessage, policy: Policy, view: View) -> Decision:
    """The one decide, given an update as Telegram's wire module reads it."""
    return decide(to_message(msg), policy, view)


def survey(rating: int | None = None) -> SurveyInfo:
    return SurveyInfo(
        id=7,
        ticket_id=1,
        ref="ABC234",
        channel="shop-bot",
        recipient=str(CUSTOMER),
        state="answered" if rating else "sent",
        sent_at=datetime(2030, 1, 7, 4, tzinfo=UTC),
        rating=rating,
        nps=None,
        comment="",
        via=None,
        notified=False,
        language="id",
        customer_name="Budi",
        subject="",
        post=SURVEY_POST,
    )


def view(info: SurveyInfo) -> View:
    found = View(surveys={info.id: info}, survey_posts={SURVEY_POST: info})
    found.tickets["ABC234"] = TicketInfo("ABC234", str(CUSTOMER), "resolved", "id", "Budi")
    return found


def press(data: str, chat: int = CUSTOMER, message: int = SURVEY_POST) -> ChatMessage:
    return ChatMessage(
        update_id=1,
        kind="callback_query",
        chat_id=chat,
        chat_type="private",
        message_id=message,
        user_id=chat,
        callback_id="q1",
        data=data,
    )


def reply(text: str) -> ChatMessage:
    return ChatMessage(
        update_id=2,
        kind="message",
        chat_id=CUSTOMER,
        chat_type="private",
        message_id=41,
        user_id=CUSTOMER,
        text=text,
        reply_to=SURVEY_POST,
    )


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (press("csat:7:r4"), SurveyVote("ABC234", 7, "r", 4)),
        # Someone else's chat, another message, a survey we do not know, a value out of range.
        (press("csat:7:r4", chat=CUSTOMER + 1), Suppress),
        (press("csat:7:r4", message=SURVEY_POST + 1), Suppress),
        (press("csat:8:r4"), Suppress),
        (press("csat:7:r6"), Suppress),
        (press("csat:7:x1"), Suppress),
        # A 0-10 answer before any rating is no button we ever sent.
        (press("csat:7:n9"), Suppress),
    ],
)
def test_button_presses(msg: ChatMessage, expected: object) -> None:
    found = decide_chat(msg, POLICY, view(survey()))
    if expected is Suppress:
        assert isinstance(found, Suppress) and found.rule == "button"
    else:
        assert found == expected


@pytest.mark.parametrize(
    ("rating", "text", "is_note"),
    [
        # Not rated yet: a rating in words is an answer; a new question is not.
        (None, "5, mantap", True),
        (None, "Kak, saya mau order lagi yang warna merah", False),
        # Rated: whatever they reply to the survey message is their comment.
        (2, "Kurirnya lama sekali", True),
    ],
)
def test_a_reply_to_the_survey_message(rating: int | None, text: str, is_note: bool) -> None:
    found = decide_chat(reply(text), POLICY, view(survey(rating)))
    if is_note:
        assert found == SurveyNote("ABC234", 7)
    else:
        assert isinstance(found, Acknowledge)  # a new ticket, answered as usual
