"""Header fields read safely: decoded, sanitised, Message-IDs and dates; see addresses.py."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import Message
from email.utils import parsedate_to_datetime

from responder.common.text import SURROGATE, sanitize_header_text
from responder.wire.email.body import decode_bytes

_MESSAGE_ID_LIMIT = 998  # RFC 5322 section 2.1.1: no line may be longer
# The stdlib header parsers are slow (some quadratic) on huge crafted values; no genuine field
# comes near this size, and a stalled parse would stall every channel.
HEADER_DECODE_LIMIT = 8 * 1024

# C0, DEL, C1 (which includes NEL U+0085), and the Unicode line and paragraph separators: any of
# them in a header we echo back could start a new header line (RFC 5322 section 2.2).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_C1 = re.compile("[\x80-\x9f]")
_BRACKETED = re.compile(r"<([^<>]*)>")

# Every header field by lowercased name: (name as spelled, value unfolded, not decoded).
HeaderIndex = dict[str, list[tuple[str, str]]]


def content_type(part: Message) -> str:
    """The part's media type, lowercased; text/plain where it cannot be read (RFC 2045 §5.2)."""
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def content_param(part: Message, name: str) -> str:
    """A Content-Type parameter, lowercased, or "" when absent or unreadable."""
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    return sanitize_header_text(value, 100).lower() if isinstance(value, str) else ""


def header_index(message: Message) -> HeaderIndex:
    """Every header field, unfolded, raw 8-bit bytes decoded, by lowercased name, in one pass."""
    index: HeaderIndex = {}
    for n, v in raw_items(message):
        if isinstance(v, str):
            index.setdefault(n.strip().lower(), []).append((n, unfold(fix_8bit(v))))
    return index


def decode_header_value(name: str, value: str) -> str:
    """The header's text: policy.default's reading, or plain RFC 2047 decoding if that fails."""
    value = value[:HEADER_DECODE_LIMIT]
    kind = _header_class(name)
    if issubclass(kind, UnstructuredHeader) and value.isascii() and "=?" not in value:
        # What policy.default would return, unchanged (checked on every such field in the
        # test corpus), at a fraction of the cost: the guards read ~30 fields of each mail.
        return value
    try:
        text = str(kind(name, value))
    except Exception:
        # policy.default refuses some malformed structured headers outright (for instance an
        # address whose encoded display name holds CR LF); the words can still be decoded.
        text = decode_words(value)
    return _repair_c1(fix_8bit(text))


_REGISTRY = HeaderRegistry()  # what policy.default uses: the stdlib's default registry
_HEADER_CLASSES: dict[str, type[BaseHeader]] = {}


def _header_class(name: str) -> type[BaseHeader]:
    """policy.default's class for the field `name`; its registry builds a new class on every
    lookup, so each is kept (the names are the few the guards ask for, plus what mail has)."""
    key = name.lower()
    kind = _HEADER_CLASSES.get(key)
    if kind is None:
        kind = _REGISTRY[name]
        if len(_HEADER_CLASSES) < 1024:  # crafted mail may name any number of fields
            _HEADER_CLASSES[key] = kind
    return kind


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded, tolerating unknown charsets and bad encodings."""
    try:
        parts = decode_header(value)
    except Exception:
        return value
    try:
        return _repair_c1(str(make_header(parts)))
    except Exception:
        pass
    return "".join(p if isinstance(p, str) else decode_bytes(p, cs) for p, cs in parts)


def raw_items(message: Message) -> list[tuple[str, str]]:
    """The message's (name, value) header pairs as parsed; none if they cannot be read."""
    try:
        return [(str(n), v) for n, v in message.raw_items()]
    except Exception:
        return []


def first_raw(index: HeaderIndex, name: str) -> str | None:
    """The first value of header `name` (lowercase), unfolded but not decoded; None if absent."""
    found = index.get(name)
    return found[0][1] if found else None


def first_decoded(index: HeaderIndex, name: str) -> str | None:
    """The first value of header `name` (lowercase), unfolded and decoded; None if absent."""
    found = index.get(name)
    return decode_header_value(*found[0]) if found else None


def unfold(value: str) -> str:
    # RFC 5322 section 2.2.3: unfolding removes the CRLF before the whitespace; lone CR or LF
    # cannot be part of a header value either.
    return value.replace("\r", "").replace("\n", "")


def fix_8bit(value: str) -> str:
    """Raw 8-bit bytes the parser kept as surrogate escapes, decoded as UTF-8 (RFC 6532)."""
    if not SURROGATE.search(value):
        return value
    try:
        data = value.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        return SURROGATE.sub("\ufffd", value)
    return SURROGATE.sub("\ufffd", decode_bytes(data, None))


def _repair_c1(text: str) -> str:
    # C1 controls in decoded text are windows-1252 bytes labelled ISO-8859-1 (an en dash
    # arrives as U+0096); read them as windows-1252, as WHATWG Encoding does for that label.
    return _C1.sub(lambda found: bytes([ord(found.group())]).decode("cp1252", "replace"), text)


def parse_message_id(value: str | None) -> str | None:
    """The Message-ID in a raw header value, without brackets or control characters."""
    if value is None:
        return None
    found = _BRACKETED.search(value)
    mid = "".join(_CONTROL.sub("", found.group(1) if found else value).split())
    return mid[:_MESSAGE_ID_LIMIT] or None


def parse_id_list(fields: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The distinct Message-IDs in header fields (every In-Reply-To, or References), in order."""
    ids: list[str] = []
    for _, value in fields:
        found = _BRACKETED.findall(value) or [t for t in value.split() if "@" in t]
        for candidate in found:
            mid = "".join(_CONTROL.sub("", candidate).split())[:_MESSAGE_ID_LIMIT]
            if mid and mid not in ids:
                ids.append(mid)
    return tuple(ids)


def parse_date(value: str | None) -> datetime | None:
    """The Date header as an aware datetime; None if absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        return None
    # RFC 5322 section 3.3: "-0000" means UTC with no local zone known, parsed as naive.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
