"""What a survey sends: the question by email or with Telegram buttons, confirmations, and
the notice to staff of a low rating."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from responder.core.channel import ChannelProfile, Draft, Parent, Topic
from responder.core.settings import CSAT_LOW, CSAT_SURVEY, Settings
from responder.core.survey_buttons import rating_buttons, survey_context
from responder.domain.csat import DueSurvey, SurveyInfo
from responder.domain.records import NewReply
from responder.domain.sla_policy import Audience
from responder.services.sla.notices import is_desk, mailer, recipients

Send = tuple[str, int | None, NewReply]  # (channel, ticket id or None, reply)


def survey_message(
    settings: Settings,
    profile: ChannelProfile,
    out: DueSurvey,
    parent_id: str | None,
    link: Callable[[int], str] | None,
    now: datetime,
) -> NewReply:
    """The question, in the customer's language, on the ticket's own channel."""
    assert settings.csat is not None
    chain = list(dict.fromkeys([out.language, profile.language, "en"]))
    links = [{"rating": n, "url": link(n)} for n in range(1, 6)] if link else []
    context = survey_context(
        profile,
        out.ref,
        out.subject,
        out.customer_name,
        out.recipient,
        nps=settings.csat.nps,
        links=links,
    )
    rendered = profile.wire.content(settings.templates, CSAT_SURVEY, chain, context)
    # Under the ticket's first message where the channel threads (mail); buttons where it has
    # them (a chat; mail's survey carries links instead). RFC 3834 section 5: a survey answers
    # nobody's message, and it keeps the customer's own auto-responder quiet.
    draft = Draft.of(
        CSAT_SURVEY,
        out.recipient,
        rendered,
        to_name=out.customer_name,
        parent=Parent(message_id=parent_id) if parent_id else None,
        notice=True,
        buttons=rating_buttons(out.survey_id),
    )
    return profile.wire.render(draft, profile, now)


def low_rating_sends(settings: Settings, info: SurveyInfo, now: datetime) -> list[Send]:
    """One email per staff address, one post per staff group, with the customer's comment."""
    assert settings.csat is not None
    home = settings.profiles.get(info.channel)
    notify = settings.csat.notify
    audience = notify.audience() if notify is not None else Audience()
    emails, groups = recipients(settings, home, audience)
    sends: list[Send] = []
    survey = {
        "rating": info.rating,
        "score": info.nps,
        "comment": info.comment,
        "via": info.via or "",
    }
    kind = CSAT_LOW  # the survey's id goes in its own column (issue 15)
    sender = mailer(settings, home)
    if emails and sender is not None:
        context = survey_context(
            sender, info.ref, info.subject, info.customer_name, info.recipient, **survey
        )
        rendered = sender.wire.content(
            settings.templates, CSAT_LOW, [sender.language, "en"], context
        )
        ticket = info.ticket_id if sender is home else None
        for to in emails:
            draft = Draft.of(kind, to, rendered, notice=True)
            sends.append((sender.name, ticket, sender.wire.render(draft, sender, now)))
    for profile in groups:
        assert profile.staff_chat is not None
        context = survey_context(
            profile, info.ref, info.subject, info.customer_name, info.recipient, **survey
        )
        rendered = profile.wire.content(
            settings.templates, CSAT_LOW, [profile.language, "en"], context
        )
        mine = is_desk(profile, home)
        topic = Topic(info.ref, f"#{info.ref} {info.customer_name}".strip()[:128]) if mine else None
        draft = Draft.of(kind, str(profile.staff_chat), rendered, notice=True, topic=topic)
        sends.append(
            (
                profile.name,
                info.ticket_id if mine else None,
                profile.wire.render(draft, profile, now),
            )
        )
    return sends
