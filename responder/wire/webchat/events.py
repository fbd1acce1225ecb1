"""What the panel shows: each recorded message of a conversation as one event (JSON), the
visitor's and ours alike, with the same id whether pushed live or replayed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from responder.core.channel import FileRef, Keyboard
from responder.wire.webchat.files import FILE_TYPES, ChatFile, file_name
from responder.wire.webchat.record import VisitorMessage, event_id, parse_stamp, stamp

Event = dict[str, Any]
STAFF_KINDS = ("staff_reply",)  # what a person of the shop wrote; the rest is automatic
VISITOR_KIND = "message"
EMAIL_KIND = "email"  # the visitor left an address: the panel says answers go there too


def reply_payload(
    kind: str, text: str, at: datetime, buttons: Keyboard | None, file: FileRef | None = None
) -> bytes:
    """A reply as recorded and sent: its event without the id, which is the replies row's
    (known once recorded); a staff member's file as where to fetch it (`fetch`), kept under
    the reply's key when it is sent."""
    doc: Event = {
        "from": "staff" if kind in STAFF_KINDS else "shop",
        "text": text,
        "at": stamp(at),
        "kind": kind,
    }
    if buttons:
        doc["buttons"] = [
            [{"label": label, "data": data} for label, data in row] for row in buttons
        ]
    if file is not None:
        name = file_name(file.name or file.kind, file.mime)
        doc["fetch"] = {"channel": file.channel, "ref": file.ref, "name": name, "mime": file.mime}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def reply_event(payload: bytes, reply_id: int) -> Event | None:
    """A reply row's event; None for a reply with nothing to show (its text purged)."""
    try:
        doc = json.loads(payload)
        at = parse_stamp(doc.get("at"))
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("text"), str):
        return None
    fetch = doc.pop("fetch", None)
    if isinstance(fetch, dict) and fetch.get("mime") in FILE_TYPES:
        doc["file"] = reply_file(fetch, reply_id).to_json()
    if not doc["text"] and "file" not in doc:
        return None
    return {"id": event_id(at, "r", reply_id), **doc}


def reply_file(fetch: dict[str, Any], reply_id: int) -> ChatFile:
    """The file a reply carries, as kept under its key once sent."""
    return ChatFile(f"r{reply_id}", str(fetch.get("name") or "file"), str(fetch.get("mime")))


def fetch_of(payload: bytes) -> dict[str, Any] | None:
    """Where a reply's file is to be fetched from (the staff desk's channel and its ref)."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    fetch = doc.get("fetch") if isinstance(doc, dict) else None
    return fetch if isinstance(fetch, dict) and fetch.get("mime") in FILE_TYPES else None


def visitor_event(raw: bytes, inbound_id: int) -> Event | None:
    """A visitor message's event; None for a record with nothing to show."""
    try:
        record = VisitorMessage.from_bytes(raw)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return from_visitor(record, inbound_id)


def from_visitor(record: VisitorMessage, inbound_id: int) -> Event | None:
    if not record.text and record.file is None and record.email is None:
        return None
    more = {"email": record.email} if record.email is not None else {}
    event: Event = {
        "id": event_id(record.at, "i", inbound_id),
        "from": "visitor",
        "text": record.text,
        "at": stamp(record.at),
        "kind": VISITOR_KIND if record.email is None else EMAIL_KIND,
        **more,
        # The tab that sent it matches its own message by it, whichever comes first: the
        # stream's event or the POST's answer.
        "client_id": record.client_id,
    }
    if record.file is not None:
        event["file"] = record.file.to_json()
    return event


def encode(event: Event) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
