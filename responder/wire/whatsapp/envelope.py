"""Meta's webhook envelope split into what is recorded: one record per customer message, and
the delivery statuses of what we sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Graph API webhooks for WhatsApp: {"object": "whatsapp_business_account", "entry": [{"id",
# "changes": [{"field": "messages", "value": {...}}]}]}. Other objects are not ours.
OBJECT = "whatsapp_business_account"


class EnvelopeError(ValueError):
    """The body is not a WhatsApp webhook notification."""


@dataclass(frozen=True)
class Incoming:
    """One customer message as recorded: its wamid, and the bytes `inbound.parse` reads."""

    wamid: str
    phone_number_id: str
    raw: bytes


@dataclass(frozen=True)
class Status:
    """What WhatsApp says of a message we sent: sent, delivered, read or failed."""

    wamid: str
    status: str
    recipient: str
    timestamp: int | None
    error_code: int | None = None
    error_title: str = ""


@dataclass(frozen=True)
class Notification:
    messages: tuple[Incoming, ...] = ()
    statuses: tuple[Status, ...] = ()
    skipped: tuple[str, ...] = ()  # what was left out, as log lines say it


def record(
    metadata: dict[str, Any], contact: dict[str, Any] | None, message: dict[str, Any]
) -> bytes:
    """The bytes kept for one message: stable for the same content, so a retried webhook
    records what the first one did (the wamid decides; the bytes agree)."""
    doc = {"metadata": metadata, "contact": contact, "message": message}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def split(body: bytes) -> Notification:
    """The messages and statuses of a webhook POST body; raises EnvelopeError when the body is
    not JSON or not a WhatsApp notification at all. Parts it cannot use are skipped, named."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("object") != OBJECT:
        kind = doc.get("object") if isinstance(doc, dict) else type(doc).__name__
        raise EnvelopeError(f"not a WhatsApp notification (object {kind!r})")
    messages: list[Incoming] = []
    statuses: list[Status] = []
    skipped: list[str] = []
    for entry in _dicts(doc.get("entry")):
        for change in _dicts(entry.get("changes")):
            if change.get("field") != "messages":
                skipped.append(f"a change of field {str(change.get('field'))[:40]!r}")
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                skipped.append("a change without a value")
                continue
            _value(value, messages, statuses, skipped)
    return Notification(tuple(messages), tuple(statuses), tuple(skipped))


def _value(
    value: dict[str, Any], messages: list[Incoming], statuses: list[Status], skipped: list[str]
) -> None:
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    assert isinstance(metadata, dict)
    number = str(metadata.get("phone_number_id") or "")
    contacts = {str(c.get("wa_id")): c for c in _dicts(value.get("contacts"))}
    for message in _dicts(value.get("messages")):
        wamid = message.get("id")
        if not isinstance(wamid, str) or not wamid:
            skipped.append("a message without an id")
            continue
        contact = contacts.get(str(message.get("from")))
        messages.append(Incoming(wamid, number, record(metadata, contact, message)))
    for status in _dicts(value.get("statuses")):
        parsed = _status(status)
        if parsed is None:
            skipped.append("a status without a message id")
        else:
            statuses.append(parsed)


def _status(status: dict[str, Any]) -> Status | None:
    wamid = status.get("id")
    if not isinstance(wamid, str) or not wamid:
        return None
    errors = list(_dicts(status.get("errors")))
    first = errors[0] if errors else {}
    code = first.get("code")
    return Status(
        wamid=wamid,
        status=str(status.get("status") or ""),
        recipient=str(status.get("recipient_id") or ""),
        timestamp=_int(status.get("timestamp")),
        error_code=code if isinstance(code, int) else _int(code),
        error_title=str(first.get("title") or first.get("message") or "")[:200],
    )


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
