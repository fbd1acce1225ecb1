"""What an auto-close sends: the closing message to the customer, and a line in the desk."""

from __future__ import annotations

from datetime import datetime

from responder.core.channel import Draft, Parent, Topic
from responder.core.closing import wait_words
from responder.core.contexts import render_context
from responder.core.forget import is_forgotten
from responder.core.reply_kinds import STAFF_NOTICE
from responder.core.settings import Settings
from responder.core.window import Skipped, fit
from responder.domain.calendar import ALWAYS
from responder.domain.closing import AUTO_CLOSED
from responder.domain.timers import TicketFacts
from responder.services.sla.notices import Send


def closing_message(
    settings: Settings,
    ticket: TicketFacts,
    parent_id: str | None,
    last: datetime | None,
    now: datetime,
) -> Send | Skipped | None:
    """The customer told, in their language, on the ticket's own channel, threaded under its
    first message (mail); past a reply window (WhatsApp, the customer last wrote at `last`),
    the approved template named for auto_closed, or nothing (core/window.py)."""
    closing, profile = settings.closing, settings.profiles.get(ticket.channel)
    if closing is None or not closing.closing_message or profile is None or not ticket.customer:
        return None
    if is_forgotten(ticket.customer):
        return None  # erased on request (issue 18): nobody to tell
    chain = list(dict.fromkeys([ticket.language or profile.language, profile.language, "en"]))
    language = settings.templates.languages_for(AUTO_CLOSED, chain) or chain[0]
    context = render_context(profile, None, ticket.ref, ticket.subject)
    context["customer"] = {"name": ticket.customer_name, "address": ticket.customer}
    context["language"] = language
    rendered = profile.wire.content(settings.templates, AUTO_CLOSED, chain, context)
    parent = Parent(message_id=parent_id) if parent_id else None
    # RFC 3834 section 5: it answers nobody's message; the customer's autoresponder keeps quiet.
    draft = Draft.of(
        AUTO_CLOSED,
        ticket.customer,
        rendered,
        to_name=ticket.customer_name,
        parent=parent,
        notice=True,
    )
    fitted = fit(draft, profile, language, last, now, ref=ticket.ref)
    if isinstance(fitted, Skipped):
        return fitted
    return (profile.name, ticket.id, profile.wire.render(fitted, profile, now))


def desk_line(
    settings: Settings, ticket: TicketFacts, topic: int | None, now: datetime
) -> Send | None:
    """ "#REF closed automatically after 3 working days waiting on the customer", in the
    ticket's staff group (its forum topic there), if its channel has one."""
    closing, home = settings.closing, settings.profiles.get(ticket.channel)
    desk = settings.profiles.get(home.desk) if home is not None and home.desk else None
    if closing is None or closing.close_after is None or desk is None:
        return None
    words = desk.wire.desk
    if words is None or desk.staff_chat is None:
        return None
    business = closing.business_time and settings.calendar.week != ALWAYS
    waited = wait_words(closing.close_after, business, desk.language)
    markup = words.say(desk.language, "auto_closed", ref=ticket.ref, waited=waited)
    name = f"#{ticket.ref} {ticket.customer_name}".strip()[:128]
    draft = Draft(
        STAFF_NOTICE,
        str(desk.staff_chat),
        markup=markup,
        notice=True,
        topic=Topic(ticket.ref, name, topic),
    )
    return (desk.name, ticket.id, desk.wire.render(draft, desk, now))
