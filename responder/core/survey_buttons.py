"""A survey's buttons, the confirmation that replaces them, and what its templates see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from responder.core.channel import ChannelProfile, Draft, Keyboard
from responder.core.contexts import render_context
from responder.core.reply_kinds import CSAT_THANKS
from responder.core.settings import CSAT_SURVEY, Settings
from responder.domain.csat import PREFIX, SurveyInfo
from responder.domain.records import NewReply

# The toast a chat app shows over the chat when a button press is answered.
TOAST = {"id": "Terima kasih!", "en": "Thank you!"}
CLOSED = {"id": "Survei ini sudah ditutup.", "en": "This survey has closed."}


def rating_buttons(survey_id: int) -> Keyboard:
    return (tuple((str(n), f"{PREFIX}{survey_id}:r{n}") for n in range(1, 6)),)


def nps_buttons(survey_id: int) -> Keyboard:
    row = [(str(n), f"{PREFIX}{survey_id}:n{n}") for n in range(11)]
    return (tuple(row[:6]), tuple(row[6:]))


def survey_context(
    profile: ChannelProfile, ref: str, subject: str, name: str, address: str, **survey: Any
) -> dict[str, Any]:
    context = render_context(profile, None, ref, subject)
    context["customer"] = {"name": name, "address": address}
    # Every key `responder check` renders the templates with, so an admin's template that
    # uses one never fails at send time.
    context["survey"] = {
        "stage": "ask",
        "nps": False,
        "links": [],
        "rating": None,
        "score": None,
        "comment": "",
        "via": "",
    }
    context["survey"].update(survey)
    return context


def confirmation(
    settings: Settings,
    profile: ChannelProfile,
    info: SurveyInfo,
    press: tuple[str, int],
    message_id: int | None,
    callback_id: str | None,
    now: datetime,
) -> NewReply:
    """The survey message edited in place: the NPS question next, if asked, or thanks."""
    assert settings.csat is not None
    field, value = press
    rating = value if field == "r" else info.rating
    score = value if field == "n" else info.nps
    ask_nps = settings.csat.nps and field == "r" and info.nps is None
    context = survey_context(
        profile,
        info.ref,
        info.subject,
        info.customer_name,
        info.recipient,
        stage="nps" if ask_nps else "thanks",
        nps=settings.csat.nps,
        rating=rating,
        score=score,
    )
    chain = list(dict.fromkeys([info.language, profile.language, "en"]))
    rendered = profile.wire.content(settings.templates, CSAT_SURVEY, chain, context)
    draft = Draft.of(
        CSAT_THANKS,
        info.recipient,
        rendered,
        buttons=nps_buttons(info.id) if ask_nps else None,
        edit=message_id,
        press=callback_id,
        toast=TOAST.get(rendered.language, TOAST["en"]),
    )
    return profile.wire.render(draft, profile, now)


def press_answered(
    profile: ChannelProfile, to: str, callback_id: str, now: datetime, toast: str = ""
) -> NewReply:
    """Only the answer to a button press (no edit): chat apps show a spinner on the button
    until the bot answers (Bot API answerCallbackQuery)."""
    draft = Draft(CSAT_THANKS, to, press=callback_id, toast=toast or None)
    return profile.wire.render(draft, profile, now)
