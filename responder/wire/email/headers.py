"""Reads header fields safely: decoding, sanitising, addresses, Message-IDs and dates."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from responder.common.text import SURROGATE, sanitize_header_text
from responder.wire.email.body import decode_bytes

_MESSAGE_ID_LIMIT = 998  # RFC 5322 section 2.1.1: no line may be longer
# The stdlib header parsers are slow (some quadratic) on huge crafted values; no genuine field
# comes near this size, and a stalled parse would stall every channel.
_HEADER_DECODE_LIMIT = 8 * 1024

# C0, DEL, C1 (which includes NEL U+0085), and the Unicode line and paragraph separators: any of
# them in a header we echo back could start a new header line (RFC 5322 section 2.2).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_C1 = re.compile("[\x80-\x9f]")
_BRACKETED = re.compile(r"<([^<>]*)>")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_PLACEHOLDER = re.compile("\ue000([0-9]+)\ue001")
_DOMAIN_LABEL = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")
_ADDR_FORBIDDEN = set('<>()[]\\,;:"')

# Every header field by lowercased name: (name as spelled, value unfolded, not decoded).
HeaderIndex = dict[str, list[tuple[str, str]]]


def addr_spec(value: str) -> str | None:
    """The one valid address in an address header, lowercased; None if none or several."""
    found = [a for _, a in address_pairs(value) if a]
    return found[0] if len(found) == 1 else None


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


def raw_headers(message: Message, name: str) -> list[tuple[str, str]]:
    """(name, value) pairs for header `name`, unfolded, with raw 8-bit bytes decoded."""
    wanted = name.lower()
    return [
        (n, _unfold(_fix_8bit(v)))
        for n, v in raw_items(message)
        if n.strip().lower() == wanted and isinstance(v, str)
    ]


def header_index(message: Message) -> HeaderIndex:
    """Every header as raw_headers gives it, by lowercased name, read in one pass."""
    index: HeaderIndex = {}
    for n, v in raw_items(message):
        if isinstance(v, str):
            index.setdefault(n.strip().lower(), []).append((n, _unfold(_fix_8bit(v))))
    return index


def decode_header_value(name: str, value: str) -> str:
    """The header's text: policy.default's reading, or plain RFC 2047 decoding if that fails."""
    value = value[:_HEADER_DECODE_LIMIT]
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
    return _repair_c1(_fix_8bit(text))


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


def _unfold(value: str) -> str:
    # RFC 5322 section 2.2.3: unfolding removes the CRLF before the whitespace; lone CR or LF
    # cannot be part of a header value either.
    return value.replace("\r", "").replace("\n", "")


def _fix_8bit(value: str) -> str:
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


def address_pairs(value: str) -> list[tuple[str, str]]:
    """(decoded display name, valid addr-spec or "") for each address in a raw header value."""
    words: list[str] = []

    def hide(found: re.Match[str]) -> str:
        words.append(found.group())
        return f"\ue000{len(words) - 1}\ue001"

    def restore(text: str) -> str:
        return _PLACEHOLDER.sub(lambda found: words[int(found.group(1))], text)

    # Senders put raw "," ":" or "<" inside encoded words (against RFC 2047 section 5), which
    # would split one mailbox into several; parse with each word stood in for by an atom.
    try:
        value = _unfold(_fix_8bit(value[:_HEADER_DECODE_LIMIT]))
        pairs = getaddresses([_ENCODED_WORD.sub(hide, value)])
    except Exception:
        return []
    return [(decode_words(restore(n)), _valid_addr(restore(a)) or "") for n, a in pairs]


def _valid_addr(addr: str) -> str | None:
    addr = addr.strip()
    local, at, domain = addr.rpartition("@")
    if not (at and local and domain) or len(local) > 64 or len(addr) > 254:
        return None
    if any(c.isspace() or not c.isprintable() for c in addr):
        return None
    if "@" in local or _ADDR_FORBIDDEN & set(local):
        return None
    labels = _domain_labels(domain)
    if labels is None:
        return None
    # RFC 6532 section 3.1: UTF-8 in addresses is compared in NFC; the domain in U-labels
    # (A-labels decoded), so kunde@xn--bcher-kva.example and kunde@BÜCHER.example are one
    # customer. The Unicode form is what is stored and shown; ascii_address makes the wire form.
    return unicodedata.normalize("NFC", local.lower()) + "@" + ".".join(labels)


def _domain_labels(domain: str) -> list[str] | None:
    """The domain's labels lowercased, NFC, A-labels as U-labels; None if it is not a domain."""
    labels = [_u_label(label) for label in unicodedata.normalize("NFC", domain.lower()).split(".")]
    if not all(_DOMAIN_LABEL.match(label) for label in labels):
        return None
    # RFC 1035 section 2.3.4 limits apply to the form that goes to DNS: the A-labels.
    ascii_labels = [_a_label(label) for label in labels]
    if any(len(label) > 63 for label in ascii_labels) or len(".".join(ascii_labels)) > 253:
        return None
    return labels


def _u_label(label: str) -> str:
    """An A-label decoded (RFC 5891 section 5.3), or the label as it is if it is not one."""
    if not label.startswith("xn--") or not label.isascii():
        return label
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError, OverflowError):
        return label
    # Only a canonical A-label is decoded: one whose decoding encodes back to something else
    # (ASCII, upper case, not NFC) names another domain or none, and stays as it came.
    canonical = unicodedata.normalize("NFC", decoded.lower())
    if decoded != canonical or decoded.isascii() or not _DOMAIN_LABEL.match(decoded):
        return label
    return decoded if _a_label(decoded) == label else label


def _a_label(label: str) -> str:
    # RFC 5891 section 4.4: the A-label is "xn--" and the Punycode (RFC 3492) of the U-label,
    # with no mapping. Not encodings.idna: its IDNA2003 nameprep turns faß.de into fass.de,
    # another registrant's domain under IDNA2008, and would send the reply there.
    if label.isascii():
        return label
    return "xn--" + label.encode("punycode").decode("ascii")


def ascii_address(addr: str) -> str | None:
    """`addr` with its domain in A-labels, for a peer without SMTPUTF8; None when its local
    part is not ASCII: only SMTPUTF8 can carry that (RFC 6531 section 3.3), and a UTF-8
    mailbox name has no ASCII equivalent to fall back on (RFC 6530)."""
    local, at, domain = addr.rpartition("@")
    if not at:
        return addr if addr.isascii() else None
    if not local.isascii():
        return None
    return local + "@" + ".".join(_a_label(label) for label in domain.split("."))


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


def parse_return_path(value: str | None) -> str | None:
    """The Return-Path, lowercased: its address, "" for the null path <>, else the bare text."""
    if value is None:
        return None
    # RFC 5321 section 4.4: the delivering server records the reverse-path; "<>" is the null
    # path that bounces and well-behaved automatic responses are sent from.
    if re.match(r"\s*(<\s*>)?\s*$", value):
        return ""
    found = addr_spec(value)
    if found is not None:
        return found
    # Not a full address (e.g. "<MAILER-DAEMON>"): keep the bare text for the guards.
    return sanitize_header_text(re.sub(r"[\s<>]", "", value), 254).lower()


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
