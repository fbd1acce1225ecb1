"""WhatsApp's wire module for the core: recorded webhook messages in, Graph API requests out."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from responder.core.channel import ChannelProfile, Desk, Draft, Threading
from responder.core.templates import Rendered, Templates
from responder.domain.message import Message
from responder.domain.records import NewReply
from responder.wire.whatsapp import inbound
from responder.wire.whatsapp.outbound import build

# The label of the button that opens a list of choices (a survey's ratings), by language.
MENU = {"id": "Pilih", "en": "Choose"}


class WhatsAppWire:
    """A customer's chat with the shop's number is one conversation; staff answer from the
    desk of another channel (WhatsApp has no staff group of ours)."""

    kind = "whatsapp"
    threading: Threading = "conversation"
    template_part = None  # WhatsApp's light markup: the text part serves as it is
    reaches_addresses = False
    desk: Desk | None = None

    def parse(
        self, raw: bytes, received_at: datetime | None = None, external_id: str = ""
    ) -> Message:
        return inbound.parse(raw)

    def content(
        self, templates: Templates, name: str, chain: Sequence[str], context: Mapping[str, Any]
    ) -> Rendered:
        """The template's text part: WhatsApp shows plain text (customer words stay words)."""
        return templates.render_markup(name, chain, context, "txt", _plain)

    def render(self, draft: Draft, channel: ChannelProfile, now: datetime) -> NewReply:
        parent = draft.parent.message_id if draft.parent else None
        menu = MENU.get(channel.language, MENU["en"])
        out = build(draft.to, draft.text, buttons=draft.buttons, context=parent, menu=menu)
        return NewReply(draft.kind, draft.to, "", message_id(channel.name), out.to_bytes())


def message_id(channel: str) -> str:
    """A unique id for the replies row; WhatsApp's wamid is known only once sent."""
    return f"<{uuid.uuid4().hex}@{channel}.whatsapp>"


def _plain(text: str) -> str:
    return text


WHATSAPP = WhatsAppWire()
