"""The demo shop's mailbox and the sample mail the demo delivers to it."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

ADDRESS = "support@toko-contoh.id"
PASSWORD = "demo-imap-password"


def mail(sender: str, subject: str, body: str, **headers: str) -> tuple[str, EmailMessage]:
    """A customer's mail to the demo shop, as their mail program would write it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ADDRESS
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">"))
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return sender, msg


def samples() -> list[tuple[str, EmailMessage]]:
    """Customers in Indonesian and English, one follow-up, and machine mail to stay silent to."""
    budi = mail(
        "Budi Santoso <budi@example.com>",
        "Pesanan #1043 belum sampai",
        "Halo, pesanan saya #1043 belum sampai padahal sudah 5 hari. Mohon dicek. Terima kasih.",
    )
    follow = mail(
        "Budi Santoso <budi@example.com>",
        "Re: Pesanan #1043 belum sampai",
        "Maaf, nomor resinya JX123. Terima kasih.",
    )
    follow[1]["In-Reply-To"] = budi[1]["Message-ID"]
    return [
        budi,
        mail(
            "Sarah Lee <sarah@example.net>",
            "Wholesale prices for batik shirts?",
            "Hi, do you offer wholesale prices for 50 batik shirts? Thanks, Sarah",
        ),
        follow,
        mail(
            "MAILER-DAEMON@mail.example.org",
            "Undelivered Mail Returned to Sender",
            "This is the mail system at host mail.example.org. I'm sorry to have to inform you...",
        ),
        mail(
            "Promo Marketplace <promo@news.marketplace.example>",
            "Diskon 12.12!",
            "Belanja hemat hari ini.",
            List_Unsubscribe="<mailto:unsub@news.marketplace.example>",
            Precedence="bulk",
        ),
        mail(
            "Sari <sari@example.co.id>",
            "Otomatis: Sedang cuti",
            "Saya sedang cuti sampai 1 Desember.",
            Auto_Submitted="auto-replied",
        ),
        mail("no-reply@payments.example", "Pembayaran diterima", "Notifikasi otomatis."),
    ]
