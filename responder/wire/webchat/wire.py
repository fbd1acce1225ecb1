"""The website chat's wire module for the core: recorded visitor messages in, panel events out."""

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
from responder.wire.webchat import inbound
from responder.wire.webchat.events import reply_payload
from responder.wire.webchat.text import plain

CHAT_PART = "telegram"  # the part written for chats: "write here", never "reply to this email"


class WebChatWire:
    """A visitor's panel is one conversation; staff answer from another channel's desk."""

    kind = "webchat"
    threading: Threading = "conversation"
    template_part = None
    reaches_addresses = False
    desk: Desk | None = None
    reply_window: timedelta | None = None

    def parse(
        self, raw: bytes, received_at: datetime | None = None, external_id: str = ""
    ) -> Message:
        return inbound.parse(raw)

    def content(
        self, templates: Templates, name: str, chain: Sequence[str], context: Mapping[str, Any]
    ) -> Rendered:
        """The template's chat part as plain text, else its text part: the panel shows text
        only (issue 17), so markup is dropped and customer words come back as they were."""
        rendered = templates.render_markup(name, chain, context, CHAT_PART, html.escape)
        text = plain(rendered.html).strip()
        return dataclasses.replace(rendered, text=text, html=text)

    def render(self, draft: Draft, channel: ChannelProfile, now: datetime) -> NewReply:
        text = draft.text or plain(draft.markup)
        payload = reply_payload(
            draft.kind, text.strip(), now, draft.buttons, draft.file, draft.attach
        )
        return NewReply(draft.kind, draft.to, "", message_id(channel.name), payload)


def message_id(channel: str) -> str:
    """A unique id for the replies row."""
    return f"<{uuid.uuid4().hex}@{channel}.webchat>"


WEBCHAT = WebChatWire()
