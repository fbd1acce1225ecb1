"""What deciding can conclude about a message, and the calendar moment it is decided in."""

from __future__ import annotations

from dataclasses import dataclass

from responder.config.rules import Action

ACKNOWLEDGEMENT = "acknowledgement"
OUT_OF_HOURS = "out_of_hours"
STAFF_NOTIFICATION = "staff_notification"
WELCOME = "welcome"
AUTO = "auto"
NONE = "none"


@dataclass(frozen=True)
class Suppress:
    rule: str
    reason: str


@dataclass(frozen=True)
class FollowUp:
    ref: str
    reopen: bool = False  # to a resolved ticket within the reopen window (issue 18)


@dataclass(frozen=True)
class Acknowledge:
    """Open a ticket and reply with `template`: the acknowledgement, the out-of-hours reply
    or a canned answer."""

    target: str
    ref: str
    template: str
    rule: str
    action: Action
    follows: str = ""  # the resolved ticket this one follows up, past its reopen window


@dataclass(frozen=True)
class Record:
    """Open a ticket and send nothing (a rule said so, the sender already heard we are closed
    in this closed period, or a reply cap holds the reply back)."""

    target: str
    ref: str
    rule: str
    action: Action
    reason: str
    follows: str = ""


@dataclass(frozen=True)
class Welcome:
    """/start: greet, open nothing; the customer's first question opens the ticket."""

    target: str


@dataclass(frozen=True)
class StaffReply:
    """A staff member answered a ticket: from the staff group (copy it to `target`, the
    customer), or from their own mail client (`target` empty: the customer has it already)."""

    ref: str
    target: str


@dataclass(frozen=True)
class StaffCommand:
    ref: str
    command: str  # close, reopen, note
    text: str = ""


@dataclass(frozen=True)
class SurveyVote:
    """A customer pressed a survey button (issue 6): record it, confirm it in place."""

    ref: str
    survey_id: int
    field: str  # "r": the 1-5 rating; "n": the 0-10 recommendation
    value: int


@dataclass(frozen=True)
class SurveyNote:
    """A customer replied to their survey's message: a rating in words, or a comment."""

    ref: str
    survey_id: int


Decision = (
    Suppress
    | FollowUp
    | Acknowledge
    | Record
    | Welcome
    | StaffReply
    | StaffCommand
    | SurveyVote
    | SurveyNote
)


@dataclass(frozen=True)
class Moment:
    """The business calendar at the moment of deciding."""

    is_open: bool
    holiday: str | None = None
    period: str | None = None  # which closed period this is; None while open


OPEN = Moment(is_open=True)
