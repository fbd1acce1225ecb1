"""A mail's text and attachments, taken from its MIME parts without ever raising."""

from __future__ import annotations

from email.message import Message

from responder.common.text import sanitize_header_text
from responder.domain.message import Attachment
from responder.wire.email.body import cap_utf8, decode_bytes, html_to_text, normalise_text
from responder.wire.email.headers import content_type, decode_words

NAME_LIMIT = 100
TEXT_LIMIT = 100 * 1024  # bytes of UTF-8
_RAW_TEXT_LIMIT = 4 * TEXT_LIMIT  # decoded bytes enough for TEXT_LIMIT in any common charset
_RAW_HTML_LIMIT = 2 * 1024 * 1024  # markup, inline styles and data: URIs outweigh the text
_ATTACHMENTS = 50


def extract_text(message: Message) -> str:
    """The first text/plain part, else the first text/html as text; "" when neither reads."""
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


def attachments(message: Message) -> tuple[Attachment, ...]:
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
