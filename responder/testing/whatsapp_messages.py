"""The `messages[]` and `statuses[]` objects of Meta's webhooks, field for field as documented."""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from typing import Any

from responder.testing.whatsapp_records import JSON

_serial = itertools.count(1)


def wamid() -> str:
    """A fresh message id shaped like Meta's."""
    raw = f"in:{next(_serial)}:{secrets.token_hex(8)}".encode()
    return "wamid." + base64.b64encode(raw).decode().rstrip("=")


def stamp(at: float | None = None) -> str:
    """Meta's timestamps: epoch seconds, as a string."""
    return str(int(time.time() if at is None else at))


def message(
    sender: str,
    kind: str,
    content: Any,
    *,
    id: str | None = None,
    at: float | None = None,
    context: JSON | None = None,
) -> JSON:
    """A `messages[]` item: `from`, `id`, `timestamp`, `type` and the object named by type."""
    built: JSON = {"from": sender, "id": id or wamid(), "timestamp": stamp(at)}
    if context is not None:
        built["context"] = context
    built["type"] = kind
    if content is not None:
        built[kind] = content
    return built


def text(body: str) -> JSON:
    return {"body": body}


def button_reply(reply_id: str, title: str) -> JSON:
    """The interactive object of a reply-button tap."""
    return {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}


def list_reply(reply_id: str, title: str, description: str | None = None) -> JSON:
    """The interactive object of a list-row pick."""
    row: JSON = {"id": reply_id, "title": title}
    if description is not None:
        row["description"] = description
    return {"type": "list_reply", "list_reply": row}


def quick_reply(payload: str, text: str) -> JSON:
    """The `button` object of a template quick-reply tap."""
    return {"payload": payload, "text": text}


def media(
    kind: str,
    media_id: str,
    mime_type: str,
    sha256: str,
    *,
    caption: str | None = None,
    filename: str | None = None,
    voice: bool | None = None,
    animated: bool | None = None,
) -> JSON:
    """An image/document/audio/video/sticker object; optional fields only where Meta sends them."""
    built: JSON = {"mime_type": mime_type, "sha256": sha256, "id": media_id}
    optional = {
        "caption": caption if kind in ("image", "video", "document") else None,
        "filename": filename if kind == "document" else None,
        "voice": voice if kind == "audio" else None,
        "animated": animated if kind == "sticker" else None,
    }
    built.update({key: value for key, value in optional.items() if value is not None})
    return built


def location(
    latitude: float,
    longitude: float,
    *,
    name: str | None = None,
    address: str | None = None,
    url: str | None = None,
) -> JSON:
    built: JSON = {"latitude": latitude, "longitude": longitude}
    extras = {"name": name, "address": address, "url": url}
    built.update({key: value for key, value in extras.items() if value is not None})
    return built


def contact(formatted_name: str, phone: str, *, wa_id: str | None = None) -> JSON:
    """One entry of a `contacts` message (a shared vCard)."""
    first, _, last = formatted_name.partition(" ")
    name: JSON = {"formatted_name": formatted_name, "first_name": first}
    if last:
        name["last_name"] = last
    entry: JSON = {"phone": phone, "type": "CELL"}
    if wa_id is not None:
        entry["wa_id"] = wa_id
    return {"name": name, "phones": [entry]}


def reaction(message_id: str, emoji: str | None) -> JSON:
    """A reaction to one of our messages; Meta leaves `emoji` out when it is taken back."""
    built: JSON = {"message_id": message_id}
    if emoji is not None:
        built["emoji"] = emoji
    return built


def unsupported_errors() -> list[JSON]:
    """What Meta attaches to a message type it cannot pass on (type "unsupported")."""
    return [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]


def status(
    message_id: str,
    state: str,
    recipient_id: str,
    *,
    at: float | None = None,
    errors: list[JSON] | None = None,
    category: str = "service",
) -> JSON:
    """A `statuses[]` item: sent/delivered carry conversation and pricing, failed carries errors."""
    built: JSON = {
        "id": message_id,
        "status": state,
        "timestamp": stamp(at),
        "recipient_id": recipient_id,
    }
    if state in ("sent", "delivered"):
        built["conversation"] = {
            "id": secrets.token_hex(16),
            "expiration_timestamp": stamp((at or time.time()) + 86400),
            "origin": {"type": category},
        }
        built["pricing"] = {"billable": True, "pricing_model": "PMP", "category": category}
    if errors is not None:
        built["errors"] = errors
    return built


def status_error(code: int, title: str, details: str) -> JSON:
    """One entry of a failed status's `errors`; Meta's message repeats the title."""
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }
