"""A recorded WhatsApp message as the one conversation model, with what WhatsApp says of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from responder.domain.message import Attachment, Message, Press, Sender, Signals, Thread

# Webhook message types that are files (Cloud API, "Messages" webhook reference).
MEDIA = ("image", "document", "audio", "video", "sticker")
# Types nobody wrote to us as a message: deciding records nothing for them.
_NOT_ANSWERED = {
    "reaction": ("reaction", "a reaction to a message"),
    "system": ("system", "a WhatsApp system notice (the customer changed number)"),
    "ephemeral": ("ephemeral", "a disappearing message WhatsApp did not pass on"),
}
# How staff read a message that is not text.
WORDS = {
    "image": "photo",
    "document": "document",
    "audio": "audio",
    "voice": "voice note",
    "video": "video",
    "sticker": "sticker",
    "location": "location",
    "contacts": "contact",
    "order": "order",
    "unsupported": "a message WhatsApp cannot pass on",
}
_TITLE = 120


def parse(raw: bytes) -> Message:
    """Never raises: a record that cannot be read is a message deciding ignores."""
    try:
        doc = json.loads(raw)
        message = doc["message"]
        if not isinstance(message, dict):
            raise TypeError("message is not an object")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return Message(
            sender=Sender(None),
            signals=Signals(ignored=("invalid-update", "not a readable WhatsApp message")),
        )
    contact = doc.get("contact") if isinstance(doc.get("contact"), dict) else {}
    return to_message(message, contact or {})


def to_message(m: dict[str, Any], contact: dict[str, Any]) -> Message:
    kind = _str(m.get("type")) or "unknown"
    wa_id = _str(m.get("from"))
    name = _str(_dict(contact.get("profile")).get("name"))[:200]
    text, press = _content(kind, m)
    media = _attachment(kind, m)
    context = _dict(m.get("context"))
    parent = _str(context.get("id"))
    address = _address(wa_id)
    return Message(
        sender=Sender(
            address=address,
            name=name,
            handle=address if address and address.startswith("+") else "",
            reply_to=wa_id or None,
            actor=(f"{name} (wa:{address})" if address else name)[:200],
        ),
        thread=Thread(
            message_id=_str(m.get("id")) or None,
            parents=(parent,) if parent else (),
            conversation=wa_id or None,
        ),
        text=text,
        title=_title(text, media),
        attachments=(media,) if media else (),
        signals=Signals(
            ignored=_ignored(kind, wa_id),
            # A WhatsApp account belongs to a person or a business; neither is a bot flag, and
            # the reply cap holds back only automatic replies for either.
            person=True,
            command="/start" if kind == "request_welcome" else None,
            press=press,
        ),
        date=_date(m.get("timestamp")),
    )


def _ignored(kind: str, wa_id: str) -> tuple[str, str] | None:
    if not wa_id:
        return ("no-sender", "a WhatsApp message without a sender")
    return _NOT_ANSWERED.get(kind)


def _content(kind: str, m: dict[str, Any]) -> tuple[str, Press | None]:
    """The words of the message, and the button of ours it pressed, if any."""
    body = _dict(m.get(kind))
    if kind == "text":
        return _str(body.get("body")), None
    if kind == "interactive":
        choice = _dict(body.get(_str(body.get("type"))))
        said = (_str(choice.get("title")), _str(choice.get("description")))
        words = "\n".join(p for p in said if p)
        data = _str(choice.get("id"))
        return words, Press(data) if data else None
    if kind == "button":  # a template's quick-reply button
        data = _str(body.get("payload"))
        return _str(body.get("text")), Press(data) if data else None
    if kind in MEDIA:
        return _str(body.get("caption")), None
    if kind == "location":
        where = ", ".join(p for p in (_str(body.get("name")), _str(body.get("address"))) if p)
        at = f"{body.get('latitude')}, {body.get('longitude')}"
        return f"{where} ({at})" if where else at, None
    if kind == "contacts":
        return "\n".join(_contact(c) for c in _dicts(m.get("contacts"))), None
    if kind == "order":
        return _str(body.get("text")), None
    return "", None


def _contact(card: dict[str, Any]) -> str:
    name = _str(_dict(card.get("name")).get("formatted_name"))
    phones = ", ".join(_str(p.get("phone")) for p in _dicts(card.get("phones")) if p.get("phone"))
    return " ".join(p for p in (name, phones) if p)


def _attachment(kind: str, m: dict[str, Any]) -> Attachment | None:
    if kind in ("text", "interactive", "button", "request_welcome", *_NOT_ANSWERED):
        return None
    body = _dict(m.get(kind))
    if kind == "audio" and body.get("voice") is True:
        kind = "voice"
    # The webhook names no size: the media endpoint does, when the file is fetched (by its
    # id, for 30 days: Cloud API, Media).
    name, ref = _str(body.get("filename"))[:200], _str(body.get("id"))[:100]
    return Attachment(kind, name, ref=ref, mime=_str(body.get("mime_type"))[:100])


def _title(text: str, media: Attachment | None) -> str:
    first = text.strip().split("\n", 1)[0]
    if not first and media is not None:
        first = f"[{WORDS.get(media.kind, media.kind)}]"
    return first[:_TITLE]


def _address(wa_id: str) -> str | None:
    """E.164 (`+6281234567890`), as VIP lists and rules name a phone number; another kind of
    id (a business-scoped user id) as it is."""
    if not wa_id:
        return None
    return f"+{wa_id}" if wa_id.isascii() and wa_id.isdigit() else wa_id


def _date(value: Any) -> datetime | None:
    stamp = _str(value)
    if not (stamp.isascii() and stamp.isdigit()):
        return None
    try:
        return datetime.fromtimestamp(int(stamp), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
