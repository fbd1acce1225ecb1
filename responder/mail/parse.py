"""Turns raw message bytes into a ParsedMail, tolerating whatever the internet sends."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

SUBJECT_LIMIT = 200
NAME_LIMIT = 100
TEXT_LIMIT = 100 * 1024  # bytes of UTF-8
_MESSAGE_ID_LIMIT = 998  # RFC 5322 section 2.1.1: no line may be longer
_RAW_TEXT_LIMIT = 4 * TEXT_LIMIT  # a transfer-encoded body is never more than ~4x its text
_RAW_HTML_LIMIT = 2 * 1024 * 1024  # markup, inline styles and data: URIs outweigh the text
# The stdlib header parsers are slow (some quadratic) on huge crafted values; no genuine field
# comes near these sizes, and a stalled parse would stall every channel.
_HEADER_DECODE_LIMIT = 8 * 1024
_CONTENT_FIELD_LIMIT = 2 * 1024

# C0, DEL, C1 (which includes NEL U+0085), and the Unicode line and paragraph separators: any of
# them in a header we echo back could start a new header line (RFC 5322 section 2.2).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_C1 = re.compile("[\x80-\x9f]")
_BODY_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEWLINE = re.compile(r"\r\n?")
_BRACKETED = re.compile(r"<([^<>]*)>")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_PLACEHOLDER = re.compile("\ue000([0-9]+)\ue001")
_DOMAIN_LABEL = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")
_ADDR_FORBIDDEN = set('<>()[]\\,;:"')
# Labels that say "Latin-1" but on today's internet usually carry UTF-8 or windows-1252.
_WESTERN = frozenset({"ascii", "iso8859-1", "cp1252"})
_PARSER = BytesParser(policy=policy.default)


@dataclass(frozen=True)
class ParsedMail:
    """What the pipeline and the guards need from one inbound message, already made safe."""

    message: EmailMessage
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

    def header(self, name: str) -> tuple[str, ...]:
        """Every value of header `name` (any case), unfolded and RFC 2047 decoded."""
        return tuple(decode_header_value(n, v) for n, v in raw_headers(self.message, name))

    def raw_header(self, name: str) -> tuple[str, ...]:
        """Every value of header `name`, unfolded but not decoded: for address parsing."""
        return tuple(v for _, v in raw_headers(self.message, name))

    def header_names(self) -> tuple[str, ...]:
        """The message's header names in order, as the sender spelled them."""
        return tuple(n.strip() for n, _ in _raw_items(self.message))


def sanitize_header_text(s: str, limit: int) -> str:
    """`s` made safe for a single header line: no control characters, one-spaced, capped."""
    s = _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", s))
    s = " ".join(s.split())
    return s[: max(limit, 0)].rstrip()


def addr_spec(value: str) -> str | None:
    """The one valid address in an address header, lowercased; None if none or several."""
    found = [a for _, a in _address_pairs(value) if a]
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
        for n, v in _raw_items(message)
        if n.strip().lower() == wanted and isinstance(v, str)
    ]


def decode_header_value(name: str, value: str) -> str:
    """The header's text: policy.default's reading, or plain RFC 2047 decoding if that fails."""
    value = value[:_HEADER_DECODE_LIMIT]
    try:
        text = str(policy.default.header_factory(name, value))
    except Exception:
        # policy.default refuses some malformed structured headers outright (for instance an
        # address whose encoded display name holds CR LF); the words can still be decoded.
        text = decode_words(value)
    return _repair_c1(_fix_8bit(text))


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


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes decoded by their declared charset, falling back sensibly, never raising."""
    name = _codec_name(charset)
    if name is None or name in _WESTERN:
        # Undeclared and Latin-1 labelled text is in practice UTF-8 more often than not; text
        # that is really Latin-1 is almost never valid UTF-8, so trying UTF-8 first is safe.
        # WHATWG Encoding treats the Latin-1 labels as windows-1252, as mail clients do.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")
    try:
        return data.decode(name, errors="replace")
    except Exception:
        return data.decode("utf-8", errors="replace")


def parse_message(raw: bytes) -> ParsedMail:
    """Parse `raw`; never raises, whatever the bytes are."""
    message = _parse(_cap_content_fields(raw))
    try:
        return _build(message)
    except Exception:
        return _build_minimal(message)


def _parse(raw: bytes) -> EmailMessage:
    for headersonly in (False, True):
        try:
            message = _PARSER.parsebytes(raw, headersonly=headersonly)
        except Exception:  # deep MIME nesting can exhaust the recursion limit
            continue
        if isinstance(message, EmailMessage):
            return message
    return EmailMessage()


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


def _build(message: EmailMessage) -> ParsedMail:
    subject = _first_decoded(message, "Subject")
    from_pairs = _address_pairs(_first_raw(message, "From") or "")
    from_addrs = [a for _, a in from_pairs if a]
    named = [n for n, a in from_pairs if n and a] or [n for n, _ in from_pairs if n]
    reply_to: list[str] = []
    for _, value in raw_headers(message, "Reply-To"):
        for _, addr in _address_pairs(value):
            if addr and addr not in reply_to:
                reply_to.append(addr)
    return ParsedMail(
        message=message,
        message_id=_message_id(_first_raw(message, "Message-ID")),
        in_reply_to=_id_list(message, "In-Reply-To"),
        references=_id_list(message, "References"),
        subject=sanitize_header_text(subject or "", SUBJECT_LIMIT),
        from_addr=from_addrs[0] if len(from_addrs) == 1 else None,
        from_name=sanitize_header_text(named[0] if named else "", NAME_LIMIT),
        reply_to=tuple(reply_to),
        return_path=_return_path(_first_raw(message, "Return-Path")),
        text=_extract_text(message),
        date=_date(_first_raw(message, "Date")),
    )


def _build_minimal(message: EmailMessage) -> ParsedMail:
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


def _raw_items(message: Message) -> list[tuple[str, str]]:
    try:
        return [(str(n), v) for n, v in message.raw_items()]
    except Exception:
        return []


def _first_raw(message: Message, name: str) -> str | None:
    found = raw_headers(message, name)
    return found[0][1] if found else None


def _first_decoded(message: Message, name: str) -> str | None:
    found = raw_headers(message, name)
    return decode_header_value(*found[0]) if found else None


def _unfold(value: str) -> str:
    # RFC 5322 section 2.2.3: unfolding removes the CRLF before the whitespace; lone CR or LF
    # cannot be part of a header value either.
    return value.replace("\r", "").replace("\n", "")


def _fix_8bit(value: str) -> str:
    """Raw 8-bit bytes the parser kept as surrogate escapes, decoded as UTF-8 (RFC 6532)."""
    if not _SURROGATE.search(value):
        return value
    try:
        data = value.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return _SURROGATE.sub("\ufffd", decode_bytes(data, None))


def _repair_c1(text: str) -> str:
    # C1 controls in decoded text are windows-1252 bytes labelled ISO-8859-1 (an en dash
    # arrives as U+0096); read them as windows-1252, as WHATWG Encoding does for that label.
    return _C1.sub(lambda found: bytes([ord(found.group())]).decode("cp1252", "replace"), text)


def _codec_name(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return codecs.lookup(charset.strip().strip('"').lower()).name
    except Exception:
        return None


def _address_pairs(value: str) -> list[tuple[str, str]]:
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
    if not all(_DOMAIN_LABEL.match(label) for label in domain.split(".")):
        return None
    return addr.lower()


def _message_id(value: str | None) -> str | None:
    if value is None:
        return None
    found = _BRACKETED.search(value)
    mid = "".join(_CONTROL.sub("", found.group(1) if found else value).split())
    return mid[:_MESSAGE_ID_LIMIT] or None


def _id_list(message: Message, name: str) -> tuple[str, ...]:
    ids: list[str] = []
    for _, value in raw_headers(message, name):
        found = _BRACKETED.findall(value) or [t for t in value.split() if "@" in t]
        for candidate in found:
            mid = "".join(_CONTROL.sub("", candidate).split())[:_MESSAGE_ID_LIMIT]
            if mid and mid not in ids:
                ids.append(mid)
    return tuple(ids)


def _return_path(value: str | None) -> str | None:
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


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        return None
    # RFC 5322 section 3.3: "-0000" means UTC with no local zone known, parsed as naive.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _extract_text(message: EmailMessage) -> str:
    try:
        plain, html = _find_bodies(message)
        text = _normalise_text(_part_text(plain, _RAW_TEXT_LIMIT)) if plain is not None else ""
        if not text and html is not None:
            text = html_to_text(_part_text(html, _RAW_HTML_LIMIT))
    except Exception:
        return ""
    return _cap_utf8(text, TEXT_LIMIT)


def _find_bodies(message: EmailMessage) -> tuple[Message | None, Message | None]:
    try:
        return message.get_body(("plain",)), message.get_body(("html",))
    except Exception:
        pass
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


def _normalise_text(text: str) -> str:
    text = _BODY_CONTROL.sub("", _SURROGATE.sub("\ufffd", _NEWLINE.sub("\n", text)))
    return text.strip()


def _cap_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


class _HTMLText(HTMLParser):
    """Collects the visible text of an HTML body, keeping paragraph and line breaks."""

    _SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
    _PARAGRAPH = frozenset(
        {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol"}
        | {"pre", "section", "article", "header", "footer", "address", "hr", "dl", "form"}
    )
    _LINE = frozenset({"br", "li", "tr", "dt", "dd"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip = 0  # a missing </head> must not hide the whole message
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in ("td", "th"):
            self.chunks.append(" ")
        self._break(tag)
        self._pre += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(self._skip - 1, 0)
        self._pre = max(self._pre - (tag == "pre"), 0)
        if tag in self._PARAGRAPH:
            self._break(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._break(tag)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data if self._pre else re.sub(r"[ \t\r\n\f]+", " ", data))

    def _break(self, tag: str) -> None:
        if tag in self._PARAGRAPH:
            self.chunks.append("\n\n")
        elif tag in self._LINE:
            self.chunks.append("\n")


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body: tags, scripts and styles gone, entities decoded."""
    parser = _HTMLText()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.chunks)
    except Exception:
        text = unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.replace("\xa0", " ").split("\n")]
    return _normalise_text(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)))
