"""WhatsApp's wire module for the core: recorded webhook messages in, Graph API requests out."""

from __future__ import annotations

import dataclasses
import html
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from responder.core.channel import ChannelProfile, Desk, Draft, Threading
from responder.core.templates import Rendered, Templates
from responder.domain.message import Message
from responder.domain.records import NewReply
from responder.wire.whatsapp import inbound
from responder.wire.whatsapp.outbound import build, template
from responder.wire.whatsapp.text import from_chat_html

CHAT_PART = "telegram"  # the part written for chat apps

# The label of the button that opens a list of choices (a survey's ratings), by language.
MENU = {"id": "Pilih", "en": "Choose"}


class WhatsAppWire:
    """A customer's chat with the shop's number is one conversation; staff answer from the
    desk of another channel (WhatsApp has no staff group of ours)."""

    kind = "whatsapp"
    threading: Threading = "conversation"
    # A chat's wording: the template's .telegram.j2 part (written for chats: "reply here",
    # not "reply to this email"), in WhatsApp's own markup; else its text part.
    template_part = None
    reaches_addresses = False
    desk: Desk | None = None
    # WhatsApp Business Platform, "customer service window": free-form messages reach a
    # customer only within 24 hours of their last message; templates after that.
    reply_window: timedelta | None = timedelta(hours=24)

    def parse(
        self, raw: bytes, received_at: datetime | None = None, external_id: str = ""
    ) -> Message:
        return inbound.parse(raw)

    def content(
        self, templates: Templates, name: str, chain: Sequence[str], context: Mapping[str, Any]
    ) -> Rendered:
        """The template's chat part as WhatsApp text, else its text part; customer words stay
        words (escaped in the markup, unescaped once as text)."""
        rendered = templates.render_markup(name, chain, context, CHAT_PART, html.escape)
        text = from_chat_html(rendered.html)
        return dataclasses.replace(rendered, text=text, html=text)

    def render(self, draft: Draft, channel: ChannelProfile, now: datetime) -> NewReply:
        parent = draft.parent.message_id if draft.parent else None
        menu = MENU.get(channel.language, MENU["en"])
        if draft.template is not None:
            out = template(draft.to, draft.template)
        else:
            out = build(
                draft.to,
                draft.text,
                buttons=draft.buttons,
                context=parent,
                menu=menu,
                files=draft.attach,
            )
        return NewReply(draft.kind, draft.to, "", message_id(channel.name), out.to_bytes())


def message_id(channel: str) -> str:
    """A unique id for the replies row; WhatsApp's wamid is known only once sent."""
    return f"<{uuid.uuid4().hex}@{channel}.whatsapp>"


WHATSAPP = WhatsAppWire()
