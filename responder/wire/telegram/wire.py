"""Telegram's wire module for the core: updates in, Bot API posts out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from responder.core.channel import ChannelProfile, Desk, Draft, Threading
from responder.core.templates import Rendered, Templates
from responder.domain.message import Message
from responder.domain.records import NewReply
from responder.wire.telegram import message
from responder.wire.telegram.desk import DESK
from responder.wire.telegram.post import Post, post_id
from responder.wire.telegram.text import CAPTION_LIMIT, escape, visible_length

PART = "telegram"  # <name>.telegram.j2: Telegram's HTML subset


class TelegramWire:
    """A customer's private chat with the bot is one conversation; staff answer in a group."""

    kind = "telegram"
    threading: Threading = "conversation"
    template_part = PART
    reaches_addresses = False
    desk: Desk | None = DESK
    reply_window: timedelta | None = None

    def parse(
        self, raw: bytes, received_at: datetime | None = None, external_id: str = ""
    ) -> Message:
        # Updates come live: deciding's own clock dates what they say, not the recording.
        return message.parse(raw)

    def content(
        self, templates: Templates, name: str, chain: Sequence[str], context: Mapping[str, Any]
    ) -> Rendered:
        """The template's .telegram part, else its text part escaped."""
        return templates.render_markup(name, chain, context, PART, escape)

    def render(self, draft: Draft, channel: ChannelProfile, now: datetime) -> NewReply:
        """A Post the channel sends as it is; its row's id is ours until Telegram gives one."""
        copy, parent, file = draft.copy, draft.parent, draft.file
        text = draft.markup or escape(draft.text)
        # A canned answer's files take its words as their caption where they fit under one
        # (Bot API: 0-1024 characters after entities parsing); else the words go first.
        captioned = bool(file) or (bool(draft.attach) and visible_length(text) <= CAPTION_LIMIT)
        post = Post(
            chat_id=int(draft.to),
            text="" if captioned else text,
            copy_from=copy.chat if copy else None,
            copy_message=copy.post if copy else None,
            caption=copy.caption if copy else text if captioned else None,
            file=file,
            files=draft.attach,
            reply_to=parent.post if parent else None,
            topic=draft.topic,
            buttons=draft.buttons,
            edit=draft.edit,
            callback=draft.press,
            callback_text=draft.toast,
        )
        return NewReply(draft.kind, draft.to, "", post_id(channel.name), post.to_bytes())


TELEGRAM = TelegramWire()
