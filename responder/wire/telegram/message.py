"""A Telegram update as the one conversation model, with what Telegram itself says about it."""

from __future__ import annotations

from responder.domain.message import Attachment, Message, Press, Sender, Signals, Thread
from responder.wire.telegram.update import ChatMessage, parse_update

# Updates that are not a customer writing to us (Bot API "Update" fields).
_NOT_ANSWERED = {
    "edited_message": ("edited", "an edit of an earlier message"),
    "edited_channel_post": ("channel-post", "a channel post"),
    "channel_post": ("channel-post", "a channel post"),
    "callback_query": ("button", "a button press"),
    "invalid": ("invalid-update", "not a readable Telegram update"),
}
# How staff read a message that is only media.
MEDIA_WORDS = {
    "photo": "photo",
    "video": "video",
    "document": "document",
    "audio": "audio",
    "voice": "voice note",
    "animation": "GIF",
    "video_note": "video note",
    "sticker": "sticker",
    "location": "location",
    "venue": "place",
    "contact": "contact",
    "poll": "poll",
    "dice": "dice",
    "story": "story",
}


def parse(raw: bytes) -> Message:
    """Never raises: a record that is not an update is a message deciding ignores."""
    return to_message(parse_update(raw))


def to_message(msg: ChatMessage) -> Message:
    ignored = None
    if msg.kind != "message":
        ignored = _NOT_ANSWERED.get(msg.kind, ("other-update", f"a {msg.kind} update"))
    private = msg.chat_type == "private"
    press = Press(msg.data, msg.callback_id) if msg.kind == "callback_query" else None
    media: tuple[Attachment, ...] = ()
    if msg.media is not None:
        found = Attachment(msg.media, msg.media_name, msg.media_size, msg.media_ref, msg.media_mime)
        media = (found,)
    return Message(
        sender=Sender(
            address=msg.sender,
            name=msg.name,
            handle=msg.username,
            reply_to=msg.customer,
            actor=(f"{msg.name} (tg:{msg.user_id})" if msg.user_id else msg.name)[:200],
        ),
        thread=Thread(
            chat=msg.chat_id,
            post=msg.message_id,
            reply_to=msg.reply_to,
            topic=msg.thread_id,
            conversation=msg.customer if private else None,
        ),
        text=msg.text,
        title=title(msg),
        language=_hint(msg.language_code),
        attachments=media,
        signals=Signals(
            ignored=ignored,
            bot=msg.is_bot,
            group=None if private else (msg.chat_type or "unknown"),
            service=msg.is_service,
            staff=msg.is_staff,
            person=True,  # Telegram flags bots: whoever else writes is a person
            command=msg.command,
            args=msg.args,
            press=press,
        ),
        date=msg.date,
        phone=msg.phone,
    )


def title(msg: ChatMessage) -> str:
    """A ticket's subject: the first line of what the customer wrote, or what they sent."""
    first = msg.text.strip().split("\n", 1)[0]
    if not first and msg.media is not None:
        first = f"[{MEDIA_WORDS.get(msg.media, msg.media)}]"
    return first[:120]


def _hint(code: str | None) -> str | None:
    """Telegram's language_code (the app's language, "id", "en-US") as a hint only."""
    base = (code or "").split("-", 1)[0].lower()
    return base if base in ("id", "en") else None
