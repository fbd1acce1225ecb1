"""Survey answers in a message: a button pressed, a reply to the survey, a rating by mail."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from responder.core.channel import ChannelProfile, Draft, Parent
from responder.core.csat.answer import read_answer
from responder.core.decisions import Suppress, SurveyNote, SurveyVote
from responder.core.outcome import Outcome
from responder.core.reply_kinds import CSAT_THANKS
from responder.core.settings import Settings
from responder.core.survey_buttons import CLOSED, confirmation, press_answered
from responder.core.view import View
from responder.domain.csat import SurveyAnswer, SurveyInfo
from responder.domain.message import Message


def vote_outcome(
    settings: Settings,
    profile: ChannelProfile,
    now: datetime,
    base: Outcome,
    msg: Message,
    vote: SurveyVote,
    view: View,
) -> Outcome:
    """Recorded and confirmed in place while the survey is open (csat.answer_within)."""
    csat, info = settings.csat, view.surveys[vote.survey_id]
    sent = info.sent_at
    query = msg.signals.press.query if msg.signals.press else None
    if csat is None or sent is None or now > sent + csat.answer_within:
        closed = Suppress("survey-closed", "a survey button pressed after the survey closed")
        if not query:
            return dataclasses.replace(base, decision=closed)
        toast = CLOSED.get(info.language, CLOSED["en"])
        told = press_answered(profile, info.recipient, query, now, toast)
        return dataclasses.replace(base, decision=closed, reply=told)
    rating = vote.value if vote.field == "r" else None
    nps = vote.value if vote.field == "n" else None
    answer = SurveyAnswer(vote.survey_id, rating, nps, "", profile.wire.kind)
    press = (vote.field, vote.value)
    reply = confirmation(settings, profile, info, press, msg.thread.post, query, now)
    # The view follows, so a second press in the same batch builds on this one.
    view.surveys[vote.survey_id] = dataclasses.replace(
        info, rating=rating or info.rating, nps=info.nps if nps is None else nps
    )
    return dataclasses.replace(base, reply=reply, survey=answer)


NOTED = {
    "id": "Terima kasih atas masukan Anda, sudah kami sampaikan ke tim.",
    "en": "Thank you for your feedback; we have passed it on to the team.",
}


def open_surveys(
    settings: Settings, surveys: dict[int, SurveyInfo], now: datetime
) -> dict[int, SurveyInfo]:
    csat = settings.csat
    if csat is None:
        return {}
    return {
        post: info
        for post, info in surveys.items()
        if info.sent_at is not None and now <= info.sent_at + csat.answer_within
    }


def note_outcome(
    settings: Settings,
    profile: ChannelProfile,
    now: datetime,
    base: Outcome,
    msg: Message,
    note: SurveyNote,
    view: View,
) -> Outcome:
    """A reply to the survey message: "4, cepat sekali" rates it; after a rating, any text
    is the comment (the confirmation invites one)."""
    assert settings.csat is not None
    info = view.survey_posts[msg.thread.reply_to or 0]
    found = read_answer(msg.text, nps_asked=settings.csat.nps)
    if found is not None:
        answer = SurveyAnswer(
            note.survey_id, found.rating, found.nps, found.comment, profile.wire.kind
        )
    else:
        answer = SurveyAnswer(note.survey_id, None, None, msg.text.strip(), profile.wire.kind)
    words = NOTED.get(info.language, NOTED["en"])
    draft = Draft(CSAT_THANKS, info.recipient, text=words, parent=Parent(post=msg.thread.post))
    reply = profile.wire.render(draft, profile, now)
    return dataclasses.replace(base, reply=reply, survey=answer, returned=msg.thread.conversation)


def unknown_press(profile: ChannelProfile, now: datetime, base: Outcome, msg: Message) -> Outcome:
    """A press on a button we do not know (another survey's, a forged one): answered with
    nothing to say, recorded as suppressed."""
    query = msg.signals.press.query if msg.signals.press else None
    if not query or msg.thread.chat is None:
        return base
    answered = press_answered(profile, str(msg.thread.chat), query, now)
    return dataclasses.replace(base, reply=answered)


def mail_answer(
    settings: Settings, profile: ChannelProfile, view: View, ref: str, msg: Message, now: datetime
) -> SurveyAnswer | None:
    """The ticket's survey answered in a reply by its customer, while it is open: "4, terima
    kasih" (mail, where the survey is found by the ticket the reply joins)."""
    info, csat = view.surveys_by_ref.get(ref), settings.csat
    if (
        info is None
        or csat is None
        or info.sent_at is None
        or now > info.sent_at + csat.answer_within
    ):
        return None
    wanted = info.recipient.lower()
    # From, or the Reply-To the survey went to: someone else in the thread is not rating.
    if wanted not in {(msg.sender.address or "").lower(), (msg.sender.reply_to or "").lower()}:
        return None
    found = read_answer(msg.text, nps_asked=csat.nps)
    if found is None:
        return None
    return SurveyAnswer(info.id, found.rating, found.nps, found.comment, profile.wire.kind)
