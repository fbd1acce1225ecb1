"""Reads a recorded Telegram update (JSON) into the few facts deciding needs, tolerantly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Message fields that carry content, in the order a message is described by them. A message
# with none of them (and no text) is a service message: someone joined, a pin, a topic edit.
MEDIA = (
    "photo",
    "video",
    "document",
    "audio",
    "voice",
    "animation",
    "video_note",
    "sticker",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "story",
    "paid_media",
    "game",
    "invoice",
    "giveaway",
    "giveaway_winners",
    "checklist",
)
# The kinds whose copy may carry a caption (Bot API, copyMessage).
CAPTIONED = frozenset({"photo", "video", "document", "audio", "voice", "animation"})
MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
# Set by the channel before recording: whether the sender is a member of the staff group,
# and the bot's username (to tell our commands from other bots' in the group).
ANNOTATION = "_responder"
OTHER_BOT = "/@other-bot"


@dataclass(frozen=True)
class ChatMessage:
    """One update, reduced to what the guards, rules and staff relay look at."""

    update_id: int
    kind: str  # message, edited_message, channel_post, callback_query, ... or "invalid"
    chat_id: int | None = None
    chat_type: str = ""
    message_id: int | None = None
    user_id: int | None = None
    is_bot: bool = False
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    language_code: str | None = None
    text: str = ""  # the text, or a media message's caption
    media: str | None = None
    media_name: str = ""  # a document's, audio's or video's file name
    media_size: int | None = None  # its size in bytes, as Telegram reports it
    media_ref: str = ""  # its file_id, for getFile (a photo's largest size)
    media_mime: str = ""  # a document's mime_type, as the sender's app declared it
    reply_to: int | None = None  # the message this one answers, in the same chat
    thread_id: int | None = None  # the forum topic
    command: str | None = None  # "/start", "/close", ... lowercased, without "@bot"
    args: str = ""
    is_staff: bool = False  # a member of the staff group (the channel asked Telegram)
    on_behalf_of_chat: bool = False  # sent as a chat (anonymous admin, linked channel)
    date: datetime | None = None
    callback_id: str | None = None  # a callback_query's id, for answerCallbackQuery
    data: str = ""  # a callback_query's callback_data: the button pressed
    phone: str | None = None  # the sender's own number, when they shared their own contact

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def customer(self) -> str:
        """The key a customer's tickets and replies are filed under: their private chat."""
        return str(self.chat_id)

    @property
    def sender(self) -> str:
        """What rules and VIP patterns match: "@username", else the numeric user id."""
        return f"@{self.username.lower()}" if self.username else str(self.user_id or "")

    @property
    def is_service(self) -> bool:
        return not self.text and self.media is None


def parse_update(raw: bytes) -> ChatMessage:
    """Never raises: a record that is not an update comes back as kind "invalid"."""
    try:
        update = json.loads(raw)
        update_id = int(update["update_id"])
        kind = next((k for k in MESSAGE_KINDS if isinstance(update.get(k), dict)), None)
        if isinstance(update.get("callback_query"), dict):
            return _callback(update_id, update["callback_query"])
        if kind is None:
            other = next((k for k in update if k not in ("update_id", ANNOTATION)), "unknown")
            return ChatMessage(update_id=update_id, kind=str(other))
        return _message(update_id, kind, update[kind], _dict(update.get(ANNOTATION)))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
        # UnicodeDecodeError is a ValueError; a date or number out of range an OverflowError.
        return ChatMessage(update_id=0, kind="invalid")


def _message(update_id: int, kind: str, m: dict[str, Any], note: dict[str, Any]) -> ChatMessage:
    chat = _dict(m.get("chat"))
    user = _dict(m.get("from"))
    text = _str(m.get("text")) or _str(m.get("caption"))
    media = next((k for k in MEDIA if m.get(k)), None)
    name, size, ref, mime = _file(m.get(media) if media else None)
    command, args = _command(_str(m.get("text")), _str(note.get("bot")))
    reply = _dict(m.get("reply_to_message"))
    date = m.get("date")
    return ChatMessage(
        update_id=update_id,
        kind=kind,
        chat_id=_int(chat.get("id")),
        chat_type=_str(chat.get("type")),
        message_id=_int(m.get("message_id")),
        **_sender(user),
        text=text,
        media=media,
        media_name=name,
        media_size=size,
        media_ref=ref,
        media_mime=mime,
        reply_to=_int(reply.get("message_id")),
        thread_id=_int(m.get("message_thread_id")) if m.get("is_topic_message") else None,
        command=command,
        args=args,
        is_staff=bool(note.get("staff")),
        on_behalf_of_chat=isinstance(m.get("sender_chat"), dict),
        date=_date(date),
        phone=_own_phone(m.get("contact"), user.get("id")),
    )


def _own_phone(value: Any, user_id: Any) -> str | None:
    """A shared Contact's phone_number, only when it is the sender's own: Bot API Contact's
    user_id is the person the card is of, so a customer forwarding a friend's card links
    nobody (issue 18: linked where the same phone number appears, never on a name)."""
    found = _dict(value)
    number = _str(found.get("phone_number"))[:32]
    if not number or found.get("user_id") is None or found.get("user_id") != user_id:
        return None
    return number


def _file(value: Any) -> tuple[str, int | None, str, str]:
    """A media field's file name, size, file_id and MIME type (Bot API Document, Audio...;
    a photo is a list of sizes, the last the largest)."""
    if isinstance(value, list) and value:
        value = value[-1]
    found = _dict(value)
    name, size = _str(found.get("file_name"))[:200], _int(found.get("file_size"))
    return name, size, _str(found.get("file_id"))[:200], _str(found.get("mime_type"))[:100]


def _sender(user: dict[str, Any]) -> dict[str, Any]:
    """Who sent it (Bot API User), as ChatMessage fields, capped to sane lengths."""
    return {
        "user_id": _int(user.get("id")),
        "is_bot": bool(user.get("is_bot")),
        "first_name": _str(user.get("first_name"))[:100],
        "last_name": _str(user.get("last_name"))[:100],
        "username": _str(user.get("username"))[:64],
        "language_code": _str(user.get("language_code")) or None,
    }


def _callback(update_id: int, q: dict[str, Any]) -> ChatMessage:
    """A button press (Bot API CallbackQuery): who pressed, on which of our messages. The
    message is absent for buttons on inline-mode messages, and an InaccessibleMessage
    (date 0, chat and message_id only) when it is too old to be sent along."""
    user = _dict(q.get("from"))
    message = _dict(q.get("message"))
    chat = _dict(message.get("chat"))
    query_id = q.get("id")
    return ChatMessage(
        update_id=update_id,
        kind="callback_query",
        chat_id=_int(chat.get("id")),
        chat_type=_str(chat.get("type")),
        message_id=_int(message.get("message_id")),
        **_sender(user),
        callback_id=query_id if isinstance(query_id, str) and query_id else None,
        data=_data(q.get("data")),
    )


def _data(value: Any) -> str:
    # Ours are 1-64 bytes (Bot API); anything longer was never on one of our buttons, and
    # a cut-off prefix could look like one that was.
    text = _str(value)
    return text if len(text) <= 64 else ""


def _command(text: str, bot: str) -> tuple[str | None, str]:
    """A bot command starts the text (Bot API "bot_command" entity at offset 0) and ends
    at any whitespace; "/close@other_bot" is another bot's, returned as OTHER_BOT."""
    if not text.startswith("/"):
        return None, ""
    parts = text.split(maxsplit=1)
    name, _, target = parts[0].partition("@")
    name = name.lower()
    if len(name) < 2 or not name[1:].replace("_", "").isalnum():
        return None, ""
    if target and bot and target.lower() != bot.lower():
        return OTHER_BOT, ""
    return name, parts[1].strip() if len(parts) > 1 else ""


def _date(value: Any) -> datetime | None:
    # A date out of range loses only the date, never the customer's message.
    try:
        return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None
    except (OverflowError, ValueError, OSError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
