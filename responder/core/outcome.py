"""A decided message, ready to be recorded, and the word its inbound row keeps for it."""

from __future__ import annotations

from dataclasses import dataclass

from responder.core.contacts import ContactLink
from responder.core.decisions import (
    Decision,
    FollowUp,
    Record,
    StaffCommand,
    StaffReply,
    Suppress,
    SurveyNote,
    SurveyVote,
    Welcome,
)
from responder.domain.csat import SurveyAnswer
from responder.domain.records import NewEvent, NewReply, NewTicket, TicketMerge

# Decisions about a ticket that already exists (found by its reference).
ON_A_TICKET = (FollowUp, StaffReply, StaffCommand, SurveyVote, SurveyNote)


@dataclass(frozen=True)
class Outcome:
    """One decided message, ready to be recorded."""

    inbound_id: int
    channel: str
    sender: str | None
    subject: str
    message_ids: tuple[str, ...]  # the message's own ids, joined to its ticket's thread
    decision: Decision
    ticket: NewTicket | None = None  # with Acknowledge and Record
    reply: NewReply | None = None  # to the customer
    # Why `reply` is recorded but not sent: it would go past the channel's reply window with
    # no template for it (core/window.py); kept as an expired reply with this reason.
    unsent: str | None = None
    notices: tuple[NewReply, ...] = ()  # to staff: rule notices, Telegram relays and answers
    period: str | None = None  # the closed period an out-of-hours reply was sent in
    events: tuple[NewEvent, ...] = ()  # what staff did to the ticket
    status: str | None = None  # the ticket's new status (staff closed or reopened it)
    returned: str | None = None  # a customer who wrote, so has not blocked us (any more)
    survey: SurveyAnswer | None = None  # the message answered the ticket's survey
    # Sent by another channel than the message came in on: (channel, reply). A mail's post in
    # the Telegram staff desk; a staff answer there that goes to a mail customer by email.
    elsewhere: tuple[tuple[str, NewReply], ...] = ()
    contacts: tuple[ContactLink, ...] = ()  # identities seen or linked (issue 18)
    merge: TicketMerge | None = None  # /merge: a duplicate joins its older ticket (issue 18)
    # The chat customer whose ticket this opens or reopens, decided on a view where they had
    # none open: recorded only if that still holds, as another instance deciding their
    # other message at the same moment may have opened one since (issue 19).
    starts: str | None = None


def outcome_word(decision: Decision) -> str:
    """What the inbound row says was decided: replied, suppressed, follow-up..."""
    if isinstance(decision, Suppress):
        return "suppressed"
    if isinstance(decision, Welcome):
        return "welcomed"
    if isinstance(decision, StaffReply):
        return "staff-reply"
    if isinstance(decision, StaffCommand):
        return f"staff-{decision.command}"
    if isinstance(decision, SurveyVote | SurveyNote):
        return "survey-answer"
    if isinstance(decision, Record):
        return "recorded"
    return "follow-up" if isinstance(decision, FollowUp) else "replied"
