"""A survey button pressed in a chat: recorded and confirmed in place, or, when the survey
has closed or is unknown, at least answered, so the button stops spinning."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from responder.chat.decide import ChatView, SurveyVote
from responder.chat.update import ChatMessage
from responder.csat.buttons import CLOSED, confirmation, press_answered
from responder.csat.model import SurveyAnswer
from responder.decide import Suppress
from responder.planning import ChannelProfile
from responder.storage.decisions import Outcome

if TYPE_CHECKING:
    from responder.settings import Settings


def vote_outcome(
    settings: Settings,
    profile: ChannelProfile,
    now: datetime,
    base: Outcome,
    msg: ChatMessage,
    vote: SurveyVote,
    view: ChatView,
) -> Outcome:
    """Recorded and confirmed in place while the survey is open (csat.answer_within)."""
    csat, info = settings.csat, view.surveys[vote.survey_id]
    sent = info.sent_at
    if csat is None or sent is None or now > sent + csat.answer_within:
        closed = Suppress("survey-closed", "a survey button pressed after the survey closed")
        if not msg.callback_id:
            return dataclasses.replace(base, decision=closed)
        toast = CLOSED.get(info.language, CLOSED["en"])
        told = press_answered(profile, int(info.recipient), msg.callback_id, toast)
        return dataclasses.replace(base, decision=closed, reply=told)
    rating = vote.value if vote.field == "r" else None
    nps = vote.value if vote.field == "n" else None
    answer = SurveyAnswer(vote.survey_id, rating, nps, "", "telegram")
    press = (vote.field, vote.value)
    reply = confirmation(settings, profile, info, press, msg.message_id, msg.callback_id)
    # The view follows, so a second press in the same batch builds on this one.
    view.surveys[vote.survey_id] = dataclasses.replace(
        info, rating=rating or info.rating, nps=info.nps if nps is None else nps
    )
    return dataclasses.replace(base, reply=reply, survey=answer)


def unknown_press(profile: ChannelProfile, base: Outcome, msg: ChatMessage) -> Outcome:
    """A press on a button we do not know (another survey's, a forged one): answered with
    nothing to say, recorded as suppressed."""
    if not msg.callback_id or msg.chat_id is None:
        return base
    return dataclasses.replace(base, reply=press_answered(profile, msg.chat_id, msg.callback_id))
