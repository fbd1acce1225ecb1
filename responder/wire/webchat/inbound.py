"""A recorded visitor message as the one conversation model."""

from __future__ import annotations

from responder.domain.message import Attachment, Message, Press, Sender, Signals, Thread
from responder.wire.webchat.files import kind_of
from responder.wire.webchat.record import VisitorMessage, address

_TITLE = 120
EMPTY = ("empty", "an empty message")


def parse(raw: bytes) -> Message:
    """Never raises: a record that cannot be read is a message deciding ignores."""
    try:
        record = VisitorMessage.from_bytes(raw)
    except (ValueError, TypeError, UnicodeDecodeError):
        return Message(
            sender=Sender(None),
            signals=Signals(ignored=("invalid-update", "not a readable web chat message")),
        )
    who = address(record.visitor)
    text = record.text
    file = record.file
    # The desk fetches it through this channel by "<visitor>/<key>" (fetch_file).
    attachments = (
        (
            Attachment(
                kind_of(file.mime), file.name, file.size, f"{record.visitor}/{file.key}", file.mime
            ),
        )
        if file is not None
        else ()
    )
    return Message(
        sender=Sender(address=who, reply_to=who, actor=who),
        thread=Thread(
            # Unique across channels (thread ids are): the client id is the browser's, the
            # visitor id ours, and one visitor's client ids are deduplicated at intake.
            message_id=f"{who}/{record.client_id}",
            conversation=who,
        ),
        text=text,
        title=(text.strip() or (file.name if file else "")).split("\n", 1)[0][:_TITLE],
        language=record.language,
        attachments=attachments,
        signals=Signals(
            ignored=None if text.strip() or record.press or file or record.email else EMPTY,
            # Only a person types in the panel (no bot flag to read): the reply cap then holds
            # back only the automatic reply, never the ticket.
            person=True,
            press=Press(record.press) if record.press else None,
        ),
        date=record.at,
        reach=record.email,
    )
