"""`simulate` on a website chat message: a small JSON object, {"visitor": "...", "text":
"..."}, with "language" (id, en: the browser's) and "at" (ISO 8601) if wanted."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from responder.config import Config, WebChatChannelConfig
from responder.ops.simulate_whatsapp import BadMessage
from responder.wire.webchat.record import VISITOR, VisitorMessage, parse_stamp

KIND = "webchat"
SHAPE = '{"visitor": "budi", "text": "Halo, pesanan saya belum sampai", "language": "id"}'


def looks_like_visitor(raw: bytes) -> bool:
    """A JSON object with a visitor and a text: never a mail nor a WhatsApp webhook (which
    has `object`)."""
    doc = _json(raw)
    return isinstance(doc, dict) and "visitor" in doc and "text" in doc and "object" not in doc


def webchat_messages(
    config: Config, raw: bytes, channel: str | None
) -> list[tuple[str, bytes, bool]] | None:
    """(channel name, the message as the channel records it, whether it says when it was
    written), or None when the file is for another channel."""
    named = next((c for c in config.channels if c.name == channel), None)
    if named is not None and named.type != KIND:
        return None
    if named is None and not looks_like_visitor(raw):
        return None
    doc = _json(raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("text"), str) or not doc["text"]:
        raise BadMessage(f"a web chat message is a JSON object such as {SHAPE}")
    chats = [c for c in config.channels if isinstance(c, WebChatChannelConfig)]
    if isinstance(named, WebChatChannelConfig):
        name = named.name
    elif len(chats) == 1:
        name = chats[0].name
    elif not chats:
        raise BadMessage("this is a web chat message, and the config has no webchat channel")
    else:
        names = ", ".join(c.name for c in chats)
        raise BadMessage(
            f"the config has several webchat channels; choose one with --channel: {names}"
        )
    try:
        at = parse_stamp(doc["at"]) if "at" in doc else None
    except ValueError:
        raise BadMessage(
            '"at": expected ISO 8601 with its offset, like 2026-11-28T21:00+07:00'
        ) from None
    language = doc.get("language")
    record = VisitorMessage(
        _visitor(doc.get("visitor")),
        doc["text"],
        "simulated",
        at or datetime.now(UTC),
        language if language in ("id", "en") else None,
    )
    return [(name, record.to_bytes(), at is not None)]


def _visitor(value: Any) -> str:
    """The visitor id as given when it is one the channel could have made, else one made
    from it (the same name, the same visitor)."""
    text = str(value or "visitor")
    if VISITOR.fullmatch(text):
        return text
    return "sim-" + hashlib.sha256(text.encode()).hexdigest()[:20]


def _json(raw: bytes) -> Any:
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
