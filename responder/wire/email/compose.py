"""Builds the reply message: headers from RFC 3834 and RFC 5322, nothing injectable."""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime

from responder.core.channel import FileRef
from responder.wire.email.addresses import ascii_address
from responder.wire.email.attachments import part
from responder.wire.email.parse import sanitize_header_text

_MSG_ID = re.compile(r"^[!-;=?-~]{1,250}$")  # printable ASCII, no '<', '>' or space
# RFC 5322 section 3.2.3: a display name holding any of these must be a quoted-string.
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
# An address is written between angle brackets as it is: nothing that could close them,
# start a comment or end the header line (RFC 5322 section 3.4.1).
_ADDR_UNSAFE = re.compile(r'[\s<>()\\",;\x00-\x1f\x7f-\x9f\u2028\u2029]')
MAX_REFERENCES = 20


def new_message_id(domain: str) -> str:
    """A globally unique id on our domain; the `responder.` prefix lets guards spot our own."""
    return f"responder.{secrets.token_hex(12)}@{domain}"


def _safe_ids(ids: tuple[str, ...] | list[str]) -> list[str]:
    return [i for i in ids if _MSG_ID.match(i)]


@dataclass(frozen=True)
class ReplySpec:
    from_addr: str
    from_name: str | None
    to_addr: str
    to_name: str
    subject: str
    text: str
    html: str
    message_id: str
    date: datetime
    parent_id: str | None
    parent_references: tuple[str, ...]
    parent_in_reply_to: tuple[str, ...]
    # RFC 3834 section 5: "auto-replied" answers a message; "auto-generated" (a notice to
    # staff) is not a reply to anyone; None: a person wrote it (a staff answer), unmarked.
    auto_submitted: str | None = "auto-replied"
    attachments: tuple[FileRef, ...] = ()  # a canned answer's files, filled in when sent


def build_reply(spec: ReplySpec) -> bytes:
    """The reply as wire bytes (CRLF), written out directly: the stdlib's EmailMessage took
    5 ms a message, most of the time to acknowledge a backlog. Every header value passes
    sanitize_header_text, so no customer text can end a header line (RFC 5322 section 2.2)."""
    headers = [
        ("From", _mailbox("From", spec.from_name or "", spec.from_addr)),
        ("To", _mailbox("To", spec.to_name, spec.to_addr)),
        ("Subject", _encoded("Subject", _clean(spec.subject, 250))),
        ("Date", format_datetime(spec.date)),
        ("Message-ID", f"<{spec.message_id}>"),
    ]
    parent = spec.parent_id if spec.parent_id and _MSG_ID.match(spec.parent_id) else None
    if parent:
        # References: the parent's References (or its single In-Reply-To) plus the parent.
        chain = _safe_ids(list(spec.parent_references) or list(spec.parent_in_reply_to)[:1])
        chain = [*chain, parent][-MAX_REFERENCES:]
        headers.append(("In-Reply-To", f"<{parent}>"))
        headers.append(("References", "\r\n ".join(f"<{i}>" for i in chain)))
    boundary = f"=_responder_{secrets.token_hex(12)}"
    if spec.auto_submitted is not None:
        # RFC 3834 section 5: mark the message as an automatic response so other responders
        # stay silent; X-Auto-Response-Suppress asks Exchange/Outlook for the same.
        headers.append(("Auto-Submitted", spec.auto_submitted))
        headers.append(("X-Auto-Response-Suppress", "All"))
    headers += [
        # What procmail-era responders check: mail that went through this mailbox.
        ("X-Loop", _address(spec.from_addr)),
        ("MIME-Version", "1.0"),
    ]
    parts = [_part(boundary, "plain", spec.text), _part(boundary, "html", spec.html)]
    body = "".join(parts) + f"--{boundary}--\r\n"
    alternative = f'multipart/alternative; boundary="{boundary}"'
    if spec.attachments:
        # RFC 2046 section 5.1.3: the words (as text and HTML) first, then the files.
        outer = f"=_responder_{secrets.token_hex(12)}"
        files = "".join(part(outer, file) for file in spec.attachments)
        nested = f'multipart/alternative;\r\n boundary="{boundary}"'  # folded: 78 columns
        body = f"--{outer}\r\nContent-Type: {nested}\r\n\r\n{body}{files}--{outer}--\r\n"
        headers.append(("Content-Type", f'multipart/mixed;\r\n boundary="{outer}"'))
    else:
        headers.append(("Content-Type", alternative))
    lines = [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _clean(value: str, limit: int) -> str:
    return sanitize_header_text(value, limit)


def _mailbox(field: str, name: str, addr: str) -> str:
    """`Name <addr>` (RFC 5322 section 3.4), the name RFC 2047 encoded when it is not ASCII."""
    address, name = _address(addr), _clean(name, 100)
    if not name:
        return address
    if not name.isascii():
        # RFC 2047 section 5 (3): encoded words may stand for a phrase's words. Header folds
        # them at 76 columns, so a long Chinese name does not make one over-long line.
        phrase = Header(name, "utf-8", header_name=field).encode(linesep="\r\n")
    elif _SPECIALS.search(name):
        phrase = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        phrase = name
    # RFC 5322 section 2.1.1: lines of at most 78 characters; folding whitespace may come
    # before the angle bracket (section 3.4), so a long name puts the address on its own line.
    last = phrase.rsplit("\r\n", 1)[-1] if "\r\n" in phrase else f"{field}: {phrase}"
    fold = " " if len(last) + len(address) + 3 <= 78 else "\r\n "
    return f"{phrase}{fold}<{address}>"


def _address(addr: str) -> str:
    """The address as headers carry it: the domain in A-labels so the message stays ASCII and
    needs no SMTPUTF8 (RFC 5891 section 4.4); a UTF-8 local part stays (RFC 6532 section 3.2),
    and such a reply can go only to a server that offers SMTPUTF8."""
    if _ADDR_UNSAFE.search(addr):
        # Addresses come validated (parse, config); this one would break the header.
        raise ValueError(f"unsafe address for a header: {addr!r}")
    return ascii_address(addr) or addr


def _encoded(name: str, value: str) -> str:
    """RFC 2047 encoded words for non-ASCII text, folded at 78 columns (RFC 5322 2.1.1)."""
    if value.isascii() and len(name) + len(value) < 76:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n")


def _part(boundary: str, subtype: str, body: str) -> str:
    # Quoted-printable keeps mostly-ASCII text readable in a raw view and lines short.
    data = body.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(data, istext=True).decode("ascii").replace("\n", "\r\n")
    return (
        f"--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"{encoded}\r\n"
    )
