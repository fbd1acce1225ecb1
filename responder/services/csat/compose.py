"""What a survey sends: the question by email, with chat buttons, or as WhatsApp's approved
template past its 24-hour window; confirmations; the notice to staff of a low rating."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from responder.core.channel import ChannelProfile, Draft, Parent, Topic
from responder.core.settings import CSAT_LOW, CSAT_SURVEY, Settings
from responder.core.survey_buttons import rating_buttons, survey_context
from responder.core.window import Skipped, fit
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
    last: datetime | None = None,
) -> NewReply | Skipped:
    """The question, in the customer's language, on the ticket's own channel; past the
    channel's reply window (the customer last wrote at `last`), its approved template or
    nothing (core/window.py)."""
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
    buttons = rating_buttons(out.survey_id)
    draft = Draft.of(
        CSAT_SURVEY,
        out.recipient,
        rendered,
        to_name=out.customer_name,
        parent=Parent(message_id=parent_id) if parent_id else None,
        notice=True,
        buttons=buttons,
    )
    # A template's rating buttons answer as the list's rows do: the same data, pressed.
    ratings = {int(label): data for row in buttons for label, data in row}
    fitted = fit(draft, profile, out.language, last, now, ref=out.ref, ratings=ratings)
    if isinstance(fitted, Skipped):
        return fitted
    return profile.wire.render(fitted, profile, now)


def read_raw(
    settings: Settings, due: Sequence[DueSurvey]
) -> tuple[dict[int, str], dict[int, datetime]]:
    """Read by the ticket's own channel's wire: the Message-ID of each ticket's first message,
    where its channel threads by them (mail), so the survey threads under it; and when the
    customer last wrote, by the channel's own timestamp, where it has a reply window."""
    parents, written = {}, {}
    for d in due:
        profile = settings.profiles.get(d.channel)
        if profile is None:
            continue
        if d.raw is not None:
            message_id = profile.wire.parse(d.raw).thread.message_id
            if message_id:
                parents[d.survey_id] = message_id
        if d.last_raw is not None:
            date = profile.wire.parse(d.last_raw).date
            if date is not None:
                written[d.survey_id] = date
    return parents, written


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
