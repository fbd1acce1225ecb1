"""Turns raw message bytes into a ParsedMail, tolerating whatever the internet sends."""

from __future__ import annotations

from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from responder.common.text import sanitize_header_text
from responder.wire.email.addresses import addr_spec, address_pairs, parse_return_path
from responder.wire.email.body import decode_bytes, html_to_text
from responder.wire.email.headers import (
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
)
from responder.wire.email.mime_parts import NAME_LIMIT, attachments, extract_text
from responder.wire.email.parsed_mail import ParsedMail

# Other modules import the header and body helpers from here, as they did before the split.
__all__ = [
    "SUBJECT_LIMIT",
    "addr_spec",
    "content_param",
    "content_type",
    "decode_bytes",
    "decode_header_value",
    "decode_words",
    "html_to_text",
    "parse_message",
    "sanitize_header_text",
]

SUBJECT_LIMIT = 200
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
    index = header_index(message)  # read once: a dozen lookups here, thirty in the guards
    subject = first_decoded(index, "subject")
    from_pairs = address_pairs(first_raw(index, "from") or "")
    from_addrs = [a for _, a in from_pairs if a]
    named = [n for n, a in from_pairs if n and a] or [n for n, _ in from_pairs if n]
    reply_to: list[str] = []
    for _, value in index.get("reply-to", ()):
        for _, addr in address_pairs(value):
            if addr and addr not in reply_to:
                reply_to.append(addr)
    return ParsedMail(
        message=message,
        message_id=parse_message_id(first_raw(index, "message-id")),
        in_reply_to=parse_id_list(index.get("in-reply-to", ())),
        references=parse_id_list(index.get("references", ())),
        subject=sanitize_header_text(subject or "", SUBJECT_LIMIT),
        from_addr=from_addrs[0] if len(from_addrs) == 1 else None,
        from_name=sanitize_header_text(named[0] if named else "", NAME_LIMIT),
        reply_to=tuple(reply_to),
        return_path=parse_return_path(first_raw(index, "return-path")),
        text=extract_text(message),
        date=parse_date(first_raw(index, "date")),
        attachments=attachments(message),
        headers=index,
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
