"""Builds realistic customer emails as raw bytes for the tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr

# The mailboxes of the `dovecot` fixture.
SUPPORT_USER = "support@toko-contoh.id"
SUPPORT_PASSWORD = "secret-imap"
STAFF_USER = "staff@toko-contoh.id"
STAFF_PASSWORD = "secret-staff"

DEFAULT_BODY = (
    "Halo, selamat siang.\n\n"
    "Saya sudah transfer untuk pesanan #INV-20240517-0042 kemarin sore, "
    "tapi statusnya masih 'menunggu pembayaran'. Mohon dicek ya.\n\n"
    "Terima kasih,\nBudi\n"
)


def make_mail(
    sender: str = "budi@example.com",
    to: str = "support@toko-contoh.id",
    subject: str = "Pesanan saya",
    body: str = DEFAULT_BODY,
    message_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    in_reply_to: str | None = None,
    references: str | Sequence[str] | None = None,
) -> bytes:
    """A customer's email with CRLF line endings, as a mail client would send it.

    `message_id` defaults to a fresh unique one; `headers` are added last and replace
    any header of the same name (e.g. {"Auto-Submitted": "auto-replied"}).
    """
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    # An explicit domain keeps make_msgid from a slow reverse-DNS lookup of this host.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "example.com"
    msg["Message-ID"] = message_id or make_msgid(domain=domain)
    if in_reply_to is not None:
        msg["In-Reply-To"] = in_reply_to
    if references is not None:
        msg["References"] = references if isinstance(references, str) else " ".join(references)
    msg.set_content(body)
    for name, value in (headers or {}).items():
        del msg[name]
        msg[name] = value
    return msg.as_bytes(policy=SMTP)
