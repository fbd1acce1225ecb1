"""What a survey sends: the question by email or with Telegram buttons, confirmations, and
the notice to staff of a low rating."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from responder.core.settings import CSAT_LOW, CSAT_SURVEY, ChannelProfile, Settings
from responder.domain.csat import SurveyInfo
from responder.domain.records import NewReply
from responder.domain.sla_policy import Audience
from responder.services.chat.buttons import rating_buttons, survey_context
from responder.services.mail_outcomes import staff_mail
from responder.services.sla.notices import mailer, recipients
from responder.storage.survey_sends import DueSurvey
from responder.wire.email.compose import ReplySpec, build_reply, new_message_id
from responder.wire.telegram.post import Post, Topic, post_id
from responder.wire.telegram.text import escape

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
    if profile.kind == "telegram":
        rendered = settings.templates.render_markup(CSAT_SURVEY, chain, context, "telegram", escape)
        post = Post(
            chat_id=int(out.recipient), text=rendered.html, buttons=rating_buttons(out.survey_id)
        )
        return NewReply(CSAT_SURVEY, out.recipient, "", post_id(profile.name), post.to_bytes())
    rendered = settings.templates.render(CSAT_SURVEY, chain, context)
    message_id = new_message_id(profile.domain)
    spec = ReplySpec(
        from_addr=profile.address,
        from_name=profile.display_name,
        to_addr=out.recipient,
        to_name=out.customer_name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id,
        date=now,
        parent_id=parent_id,
        parent_references=(),
        parent_in_reply_to=(),
        # RFC 3834 section 5: not an answer to the customer's message; and it keeps their
        # own auto-responder from answering it.
        auto_submitted="auto-generated",
    )
    return NewReply(
        CSAT_SURVEY, out.recipient, profile.envelope_from, message_id, build_reply(spec)
    )


def low_rating_sends(
    settings: Settings, info: SurveyInfo, now: datetime, told: int = 0
) -> list[Send]:
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
    # One notice per (survey, time told): a comment after the rating is told again, with it.
    kind = f"{CSAT_LOW}_{info.id}" + (f"_{told}" if told else "")
    sender = mailer(settings, home)
    if emails and sender is not None:
        context = survey_context(
            sender, info.ref, info.subject, info.customer_name, info.recipient, **survey
        )
        rendered = settings.templates.render(CSAT_LOW, [sender.language, "en"], context)
        ticket = info.ticket_id if sender is home else None
        sends += [
            (sender.name, ticket, staff_mail(sender, to, rendered, now, kind)) for to in emails
        ]
    for profile in groups:
        assert profile.staff_chat is not None
        context = survey_context(
            profile, info.ref, info.subject, info.customer_name, info.recipient, **survey
        )
        rendered = settings.templates.render_markup(
            CSAT_LOW, [profile.language, "en"], context, "telegram", escape
        )
        mine = profile is home
        topic = Topic(info.ref, f"#{info.ref} {info.customer_name}".strip()[:128]) if mine else None
        post = Post(chat_id=profile.staff_chat, text=rendered.html, topic=topic)
        reply = NewReply(kind, str(profile.staff_chat), "", post_id(profile.name), post.to_bytes())
        sends.append((profile.name, info.ticket_id if mine else None, reply))
    return sends
