"""A visitor's message as it is recorded (JSON bytes), and the ids the panel's events carry."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from responder.wire.webchat.files import ChatFile

ADDRESS_PREFIX = "web:"  # a visitor as rules, VIP lists and staff see them: web:<visitor id>
# Server-made visitor ids (channels/webchat/tokens.py) and the browser's client ids: no dot
# (the token's separator), no slash (the external id's).
VISITOR = re.compile(r"[A-Za-z0-9_-]{16,64}", re.ASCII)
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}", re.ASCII)
_EVENT_ID = re.compile(r"([0-9]{13})-([ir])([0-9]{10})", re.ASCII)
# A valid email address as HTML defines it for <input type=email> (WHATWG HTML, 4.10.5.1.5):
# what the panel's form accepts is what we accept; no spaces, quotes or line ends, so it
# can never carry a header (RFC 5322 section 3.4.1's dot-atom, with a dotted domain).
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+",
    re.ASCII,
)
MAX_EMAIL = 254  # RFC 5321 section 4.5.3.1.3: a path is at most 256 octets, brackets included

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Source = Literal["i", "r"]  # an inbound row (the visitor's), a reply row (ours)


@dataclass(frozen=True)
class VisitorMessage:
    """What a visitor sent from the panel, as recorded before it is answered."""

    visitor: str
    text: str
    client_id: str  # the browser's id for it: a retried POST is the same message
    at: datetime
    language: str | None = None  # the browser's language, id or en
    press: str | None = None  # the data of a button of ours it pressed
    file: ChatFile | None = None  # an image or PDF it carries, kept in chat_files
    email: str | None = None  # an address left in the offline form: the whole message

    def to_bytes(self) -> bytes:
        doc: dict[str, object] = {
            "visitor": self.visitor,
            "text": self.text,
            "client_id": self.client_id,
            "language": self.language,
            "at": stamp(self.at),
        }
        if self.press is not None:
            doc["press"] = self.press
        if self.file is not None:
            doc["file"] = self.file.to_json()
        if self.email is not None:
            doc["email"] = self.email
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> VisitorMessage:
        """ValueError when `raw` is not a record of ours."""
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            raise ValueError("not an object")
        visitor, text, client_id = doc.get("visitor"), doc.get("text"), doc.get("client_id")
        if not (isinstance(visitor, str) and VISITOR.fullmatch(visitor)):
            raise ValueError("no visitor")
        if not isinstance(text, str) or not isinstance(client_id, str):
            raise ValueError("no text or client id")
        language, press, email = doc.get("language"), doc.get("press"), doc.get("email")
        return cls(
            visitor,
            text,
            client_id,
            parse_stamp(doc.get("at")),
            language if language in ("id", "en") else None,
            press if isinstance(press, str) else None,
            ChatFile.from_json(doc.get("file")),
            email_address(email) if isinstance(email, str) else None,
        )

    @property
    def external_id(self) -> str:
        return external_id(self.visitor, self.client_id)


def external_id(visitor: str, client_id: str) -> str:
    """The inbound row's id: the same client id twice from one visitor is one message; all of
    one visitor's rows share the prefix `<visitor>/`."""
    return f"{visitor}/{client_id}"


def email_address(value: str) -> str | None:
    """`value` as an address a reply can go to (its domain lowercased), or None."""
    value = value.strip()
    if len(value) > MAX_EMAIL or not _EMAIL.fullmatch(value):
        return None
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def address(visitor: str) -> str:
    return f"{ADDRESS_PREFIX}{visitor}"


def stamp(at: datetime) -> str:
    """ISO 8601 in UTC to the millisecond, as events carry it."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_stamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("no time")
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError("a time without its zone")
    return at


def event_id(at: datetime, source: Source, row: int) -> str:
    """`<unix ms, 13 digits>-<i|r><row id, 10 digits>`: sorts as text in the order events
    happened (time first; the visitor's message before our answer in the same millisecond),
    and is unique per conversation (a row is one event)."""
    ms = (at - EPOCH) // timedelta(milliseconds=1)  # exact: no float rounding
    return f"{ms:013d}-{source}{row:010d}"


def event_time(event: str) -> datetime | None:
    """When the event `event` names happened; None for a text that is no event id."""
    found = _EVENT_ID.fullmatch(event)
    if found is None:
        return None
    return EPOCH + timedelta(milliseconds=int(found.group(1)))
