"""Builds the reply message: headers from RFC 3834 and RFC 5322, nothing injectable."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from responder.mail.parse import sanitize_header_text

_MSG_ID = re.compile(r"^[!-;=?-~]{1,250}$")  # printable ASCII, no '<', '>' or space
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


def build_reply(spec: ReplySpec) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((sanitize_header_text(spec.from_name or "", 100), spec.from_addr))
    msg["To"] = formataddr((sanitize_header_text(spec.to_name, 100), spec.to_addr))
    msg["Subject"] = sanitize_header_text(spec.subject, 250)
    msg["Date"] = format_datetime(spec.date)
    msg["Message-ID"] = f"<{spec.message_id}>"
    parent = spec.parent_id if spec.parent_id and _MSG_ID.match(spec.parent_id) else None
    if parent:
        msg["In-Reply-To"] = f"<{parent}>"
        # References: the parent's References (or its single In-Reply-To) plus the parent.
        chain = _safe_ids(list(spec.parent_references) or list(spec.parent_in_reply_to)[:1])
        chain = [*chain, parent][-MAX_REFERENCES:]
        msg["References"] = " ".join(f"<{i}>" for i in chain)
    # RFC 3834 section 5: mark the message as an automatic response so other responders stay
    # silent; X-Auto-Response-Suppress asks Exchange/Outlook for the same, X-Loop is what
    # procmail-era responders check.
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Loop"] = spec.from_addr
    msg.set_content(spec.text, charset="utf-8")
    msg.add_alternative(spec.html, subtype="html", charset="utf-8")
    return msg.as_bytes()
