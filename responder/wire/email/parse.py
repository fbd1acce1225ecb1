"""Turns raw message bytes into a ParsedMail, tolerating whatever the internet sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from functools import cached_property

from responder.common.text import sanitize_header_text
from responder.domain.message import Attachment
from responder.wire.email.body import cap_utf8, decode_bytes, html_to_text, normalise_text
from responder.wire.email.headers import (
    addr_spec,
    address_pairs,
    content_param,
    content_type,
    decode_header_value,
    decode_words,
    first_decoded,
    first_raw,
    header_index,
    parse_date,
    parse_id_list,
    parse_message_id,
    parse_return_path,
    raw_headers,
    raw_items,
)

# Other modules import the header and body helpers from here, as they did before the split.
__all__ = [
    "NAME_LIMIT",
    "SUBJECT_LIMIT",
    "TEXT_LIMIT",
    "ParsedMail",
    "addr_spec",
    "content_param",
    "content_type",
    "decode_bytes",
    "decode_header_value",
    "decode_words",
    "html_to_text",
    "parse_message",
    "raw_headers",
    "sanitize_header_text",
]

SUBJECT_LIMIT = 200
NAME_LIMIT = 100
TEXT_LIMIT = 100 * 1024  # bytes of UTF-8
_RAW_TEXT_LIMIT = 4 * TEXT_LIMIT  # decoded bytes enough for TEXT_LIMIT in any common charset
_RAW_HTML_LIMIT = 2 * 1024 * 1024  # markup, inline styles and data: URIs outweigh the text
# policy.default's MIME parameter parser is slow on huge crafted values; no genuine Content-*
# field comes near this size, and a stalled parse would stall every channel.
_CONTENT_FIELD_LIMIT = 2 * 1024
# compat32, not policy.default: the modern policy re-parses every header it is asked for
# (Content-Type again for each part walked), which was a fifth of the daemon's CPU on a
# backlog. Headers are decoded on demand by the helpers in headers.py instead.
_PARSER = BytesParser(policy=compat32)
# The parser is fed slices: parsebytes() first decodes the whole message to one str and copies
# that into a StringIO of 4 bytes a character, about 5x a big mail's size at once.
_FEED_SLICE = 64 * 1024
# Payloads larger than this (attachments) are dropped once the text is taken: a ParsedMail
# lives until its batch is recorded, and only headers, content types and the text are read.
_KEPT_PAYLOAD = 64 * 1024
# A forwarded bounce nests its report one level down: only the top two levels say what the
# message itself is, and no genuine message has more direct parts than this.
_TOP_PARTS = 50
_ATTACHMENTS = 50


@dataclass(frozen=True)
class ParsedMail:
    """What the pipeline and the guards need from one inbound message, already made safe."""

    message: Message
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_addr: str | None
    from_name: str
    reply_to: tuple[str, ...]
    return_path: str | None
    text: str
    date: datetime | None
    attachments: tuple[Attachment, ...] = ()

    @cached_property
    def _index(self) -> dict[str, list[tuple[str, str]]]:
        # Built once: the guards ask for some thirty header names per message, and scanning
        # every header for each was about half of deciding a plain mail.
        return header_index(self.message)

    @cached_property
    def _decoded(self) -> dict[str, tuple[str, ...]]:
        return {}

    def header(self, name: str) -> tuple[str, ...]:
        """Every value of header `name` (any case), unfolded and RFC 2047 decoded."""
        key = name.lower()
        found = self._decoded.get(key)
        if found is None:
            found = tuple(decode_header_value(n, v) for n, v in self._index.get(key, ()))
            self._decoded[key] = found
        return found

    def raw_header(self, name: str) -> tuple[str, ...]:
        """Every value of header `name`, unfolded but not decoded: for address parsing."""
        return tuple(v for _, v in self._index.get(name.lower(), ()))

    def header_names(self) -> tuple[str, ...]:
        """The message's header names in order, as the sender spelled them."""
        return tuple(n.strip() for n, _ in raw_items(self.message))

    def first_address(self, name: str) -> str | None:
        """The one valid address in the first `name` header, lowercased; None otherwise."""
        values = self.raw_header(name)
        return addr_spec(values[0]) if values else None

    def part_types(self) -> list[str]:
        """The content types of the message and its direct parts: what the sender put there,
        not what they forward (a forwarded bounce nests its report one level down)."""
        try:
            parts = self.message.get_payload() if self.message.is_multipart() else []
        except Exception:
            parts = []
        if not isinstance(parts, list):
            parts = []
        top = [self.message, *(p for p in parts[:_TOP_PARTS] if isinstance(p, Message))]
        return [content_type(part) for part in top]

    def content_param(self, name: str) -> str:
        """A parameter of the message's own Content-Type, lowercased, "" when absent."""
        return content_param(self.message, name)


def parse_message(raw: bytes) -> ParsedMail:
    """Parse `raw`; never raises, whatever the bytes are."""
    message = _parse(_cap_content_fields(raw))
    try:
        parsed = _build(message)
    except Exception:
        parsed = _build_minimal(message)
    _drop_large_payloads(message)
    return parsed


def _parse(raw: bytes) -> Message:
    for headersonly in (False, True):
        try:
            message = _PARSER.parsebytes(raw, headersonly=True) if headersonly else _feed(raw)
        except Exception:  # deep MIME nesting can exhaust the recursion limit
            continue
        return message
    return Message()


def _feed(raw: bytes) -> Message:
    parser = BytesFeedParser(policy=compat32)
    for start in range(0, len(raw), _FEED_SLICE):
        parser.feed(raw[start : start + _FEED_SLICE])
    message = parser.close()
    assert isinstance(message, Message)
    return message


def _drop_large_payloads(message: Message) -> None:
    try:
        for part in message.walk():
            payload = part.get_payload()
            if isinstance(payload, str) and len(payload) > _KEPT_PAYLOAD:
                part.set_payload("")
    except Exception:
        pass


def _cap_content_fields(raw: bytes) -> bytes:
    """Top-level Content-* fields cut to _CONTENT_FIELD_LIMIT bytes before the parser sees them.

    The parser and get_body() parse Content-Type again and again, and policy.default's MIME
    parameter parser takes about a second per 16 KB of crafted parameters.
    """
    ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if i >= 0]
    end = min(ends) if ends else len(raw)
    if end <= _CONTENT_FIELD_LIMIT:
        return raw
    fields: list[list[bytes]] = []
    for line in raw[:end].split(b"\n"):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1].append(line)
        else:
            fields.append([line])
    out = []
    for field in fields:
        joined = b"\n".join(field)
        if len(joined) > _CONTENT_FIELD_LIMIT and joined[:8].lower() == b"content-":
            joined = joined[:_CONTENT_FIELD_LIMIT].rstrip(b"\r\n")
        out.append(joined)
    return b"\n".join(out) + raw[end:]


def _build(message: Message) -> ParsedMail:
    subject = first_decoded(message, "Subject")
    from_pairs = address_pairs(first_raw(message, "From") or "")
    from_addrs = [a for _, a in from_pairs if a]
    named = [n for n, a in from_pairs if n and a] or [n for n, _ in from_pairs if n]
    reply_to: list[str] = []
    for _, value in raw_headers(message, "Reply-To"):
        for _, addr in address_pairs(value):
            if addr and addr not in reply_to:
                reply_to.append(addr)
    return ParsedMail(
        message=message,
        message_id=parse_message_id(first_raw(message, "Message-ID")),
        in_reply_to=parse_id_list(message, "In-Reply-To"),
        references=parse_id_list(message, "References"),
        subject=sanitize_header_text(subject or "", SUBJECT_LIMIT),
        from_addr=from_addrs[0] if len(from_addrs) == 1 else None,
        from_name=sanitize_header_text(named[0] if named else "", NAME_LIMIT),
        reply_to=tuple(reply_to),
        return_path=parse_return_path(first_raw(message, "Return-Path")),
        text=_extract_text(message),
        date=parse_date(first_raw(message, "Date")),
        attachments=_attachments(message),
    )


def _build_minimal(message: Message) -> ParsedMail:
    return ParsedMail(
        message=message,
        message_id=None,
        in_reply_to=(),
        references=(),
        subject="",
        from_addr=None,
        from_name="",
        reply_to=(),
        return_path=None,
        text="",
        date=None,
    )


def _extract_text(message: Message) -> str:
    try:
        plain, html = _find_bodies(message)
        text = normalise_text(_part_text(plain, _RAW_TEXT_LIMIT)) if plain is not None else ""
        if not text and html is not None:
            text = html_to_text(_part_text(html, _RAW_HTML_LIMIT))
    except Exception:
        return ""
    return cap_utf8(text, TEXT_LIMIT)


def _find_bodies(message: Message) -> tuple[Message | None, Message | None]:
    found = _walk_bodies(message)
    # A multipart without a usable boundary is parsed as one block of text: that is the body.
    broken = not message.is_multipart() and content_type(message).startswith("multipart/")
    return (message, None) if found == (None, None) and broken else found


def _walk_bodies(message: Message) -> tuple[Message | None, Message | None]:
    plain: Message | None = None
    html: Message | None = None
    try:
        for part in message.walk():
            if part.is_multipart() or _is_attachment(part):
                continue
            kind = content_type(part)
            if kind == "text/plain" and plain is None:
                plain = part
            elif kind == "text/html" and html is None:
                html = part
    except Exception:
        pass
    return plain, html


def _attachments(message: Message) -> tuple[Attachment, ...]:
    """Each part sent as an attachment: its type, file name and encoded size."""
    found: list[Attachment] = []
    try:
        for part in message.walk():
            if part.is_multipart() or not _is_attachment(part):
                continue
            payload = part.get_payload()
            name = sanitize_header_text(decode_words(part.get_filename() or ""), NAME_LIMIT)
            size = _decoded_size(part, payload) if isinstance(payload, str) else None
            found.append(Attachment(content_type(part), name, size))
            if len(found) >= _ATTACHMENTS:
                break
    except Exception:
        pass
    return tuple(found)


def _decoded_size(part: Message, payload: str) -> int:
    """The file's size: base64 counted as the bytes it stands for, without decoding it."""
    if str(part.get("Content-Transfer-Encoding", "")).strip().lower() != "base64":
        return len(payload)
    data = "".join(payload.split())
    return max(len(data) * 3 // 4 - len(data) + len(data.rstrip("=")), 0)


def _is_attachment(part: Message) -> bool:
    try:
        return part.get_content_disposition() == "attachment"
    except Exception:
        return False


def _part_text(part: Message, limit: int) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(payload[:limit], charset)
