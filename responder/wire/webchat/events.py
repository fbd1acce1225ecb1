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
    kind: str,
    text: str,
    at: datetime,
    buttons: Keyboard | None,
    file: FileRef | None = None,
    files: tuple[FileRef, ...] = (),
) -> bytes:
    """A reply as recorded and sent: its event without the id, which is the replies row's
    (known once recorded); a staff member's file as where to fetch it (`fetch`), kept under
    the reply's key when it is sent; a canned answer's `files` likewise (`more`, issue 18)."""
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
    fetches = [_fetch(f) for f in (file, *files) if f is not None]
    if fetches:
        doc["fetch"] = fetches[0]
    if fetches[1:]:
        doc["more"] = fetches[1:]
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
    fetches = _fetches(doc)
    doc.pop("fetch", None), doc.pop("more", None)
    if fetches:
        files = [reply_file(fetch, reply_id, n).to_json() for n, fetch in enumerate(fetches)]
        doc["file"] = files[0]
        if files[1:]:
            doc["files"] = files  # every file, the first included, for panels that show them
    if not doc["text"] and "file" not in doc:
        return None
    return {"id": event_id(at, "r", reply_id), **doc}


def reply_file(fetch: dict[str, Any], reply_id: int, n: int = 0) -> ChatFile:
    """The `n`th file a reply carries, as kept under its key once sent."""
    key = f"r{reply_id}" if n == 0 else f"r{reply_id}-{n}"
    return ChatFile(key, str(fetch.get("name") or "file"), str(fetch.get("mime")))


def fetches_of(payload: bytes) -> list[dict[str, Any]]:
    """Where a reply's files are to be fetched from (the staff desk's channel and its ref,
    or the templates folder), in order."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return []
    return _fetches(doc) if isinstance(doc, dict) else []


def _fetches(doc: dict[str, Any]) -> list[dict[str, Any]]:
    more = doc.get("more")
    found = [doc.get("fetch"), *(more if isinstance(more, list) else ())]
    return [f for f in found if isinstance(f, dict) and f.get("mime") in FILE_TYPES]


def _fetch(file: FileRef) -> dict[str, Any]:
    name = file_name(file.name or file.kind, file.mime)
    return {"channel": file.channel, "ref": file.ref, "name": name, "mime": file.mime}


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
