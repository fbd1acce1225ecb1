"""An email as the one conversation model: sender, thread, text, and headers for the guards."""

from __future__ import annotations

from datetime import datetime

from responder.core import tickets
from responder.core.view import MAX_MESSAGE_ID
from responder.domain.message import Message, Sender, Signals, Thread
from responder.wire.email.parse import parse_message
from responder.wire.email.parsed_mail import ParsedMail


def parse(raw: bytes, received_at: datetime | None = None, external_id: str = "") -> Message:
    """Never raises, whatever the bytes are; CPU work, so callers run it off the event loop."""
    return to_message(parse_message(raw), received_at, external_id)


def to_message(
    mail: ParsedMail, received_at: datetime | None = None, external_id: str = ""
) -> Message:
    own = tuple(i for i in (mail.message_id, external_id) if i and len(i) <= MAX_MESSAGE_ID)
    return Message(
        sender=Sender(
            address=mail.from_addr,
            name=mail.from_name,
            reply_to=tickets.reply_target(mail),
            actor=mail.from_addr or "",
        ),
        thread=Thread(
            message_id=mail.message_id,
            own_ids=own,
            in_reply_to=mail.in_reply_to,
            references=mail.references,
            parents=tuple(tickets.thread_message_ids(mail)),
            refs=tuple(tickets.refs_in_subject(mail.subject)),
        ),
        text=mail.text,
        subject=mail.subject,
        title=tickets.base_subject(mail.subject),
        attachments=mail.attachments,
        signals=Signals(mail=mail),
        date=mail.date,
        at=received_at,
    )
