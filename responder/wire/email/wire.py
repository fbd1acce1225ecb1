"""Email's wire module for the core: raw mail in, RFC 5322 replies out (text and HTML)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from responder.core.channel import ChannelProfile, Desk, Draft, Threading
from responder.core.templates import Rendered, Templates
from responder.domain.message import Message
from responder.domain.records import NewReply
from responder.wire.email import message
from responder.wire.email.compose import ReplySpec, build_reply, new_message_id


class EmailWire:
    """Mail threads by Message-ID and subject reference; its staff are addresses, not a
    group; it has no buttons, and a survey by mail carries links instead."""

    kind = "email"
    threading: Threading = "headers"
    template_part = None
    reaches_addresses = True
    desk: Desk | None = None
    reply_window: timedelta | None = None

    def parse(
        self, raw: bytes, received_at: datetime | None = None, external_id: str = ""
    ) -> Message:
        return message.parse(raw, received_at, external_id)

    def content(
        self, templates: Templates, name: str, chain: Sequence[str], context: Mapping[str, Any]
    ) -> Rendered:
        return templates.render(name, chain, context)

    def render(self, draft: Draft, channel: ChannelProfile, now: datetime) -> NewReply:
        """From the channel's address, with the null envelope sender (RFC 3834 section 3.3)
        unless the admin set one; threaded under the parent, if any."""
        message_id = new_message_id(channel.domain)
        parent = draft.parent
        spec = ReplySpec(
            from_addr=channel.address,
            from_name=channel.display_name,
            to_addr=draft.to,
            to_name=draft.to_name,
            subject=draft.subject,
            text=draft.text,
            html=draft.markup,
            message_id=message_id,
            date=now,
            parent_id=parent.message_id if parent else None,
            parent_references=parent.references if parent else (),
            parent_in_reply_to=parent.in_reply_to if parent else (),
            # RFC 3834 section 5: "auto-replied" answers a message; "auto-generated" (a notice
            # to staff, a survey) answers nobody's, and keeps auto-responders quiet too.
            # A staff member's own answer is no automatic message: unmarked, so the
            # customer's own auto-responder may answer it as it would any person's mail.
            auto_submitted=(
                None if draft.personal else "auto-generated" if draft.notice else "auto-replied"
            ),
            attachments=draft.attach,
        )
        return NewReply(draft.kind, draft.to, channel.envelope_from, message_id, build_reply(spec))


EMAIL = EmailWire()
