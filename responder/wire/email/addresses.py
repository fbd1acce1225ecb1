"""Mail addresses: read from header values, checked, and put in the form the wire needs."""

from __future__ import annotations

import re
import unicodedata
from email.utils import getaddresses

from responder.common.text import sanitize_header_text
from responder.wire.email.headers import (
    HEADER_DECODE_LIMIT,
    decode_words,
    fix_8bit,
    unfold,
)

_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_PLACEHOLDER = re.compile("\ue000([0-9]+)\ue001")
_DOMAIN_LABEL = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")
_ADDR_FORBIDDEN = set('<>()[]\\,;:"')


def addr_spec(value: str) -> str | None:
    """The one valid address in an address header, lowercased; None if none or several."""
    found = [a for _, a in address_pairs(value) if a]
    return found[0] if len(found) == 1 else None


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
        value = unfold(fix_8bit(value[:HEADER_DECODE_LIMIT]))
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
