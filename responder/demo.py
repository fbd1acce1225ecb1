"""The self-contained demo: a local Dovecot and SMTP server, sample mail, and what was sent."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import textwrap
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from responder.app import App
from responder.config import load_config
from responder.devservers import Dovecot, RecordingSMTPServer

ADDRESS = "support@toko-contoh.id"
PASSWORD = "demo-imap-password"

CONFIG = """\
timezone: Asia/Jakarta
state_dir: {state}
channels:
  - name: support-mail
    type: email
    address: {address}
    display_name: Toko Contoh
    language: id
    imap: {{host: 127.0.0.1, port: {imap_port}, security: none, username: {address},
           password_file: {state}/imap-password, folder: INBOX}}
    smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none}}
"""


def _mail(sender: str, subject: str, body: str, **headers: str) -> tuple[str, EmailMessage]:
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
    budi = _mail(
        "Budi Santoso <budi@example.com>",
        "Pesanan #1043 belum sampai",
        "Halo, pesanan saya #1043 belum sampai padahal sudah 5 hari. Mohon dicek. Terima kasih.",
    )
    follow = _mail(
        "Budi Santoso <budi@example.com>",
        "Re: Pesanan #1043 belum sampai",
        "Maaf, nomor resinya JX123. Terima kasih.",
    )
    follow[1]["In-Reply-To"] = budi[1]["Message-ID"]
    return [
        budi,
        _mail(
            "Sarah Lee <sarah@example.net>",
            "Wholesale prices for batik shirts?",
            "Hi, do you offer wholesale prices for 50 batik shirts? Thanks, Sarah",
        ),
        follow,
        _mail(
            "MAILER-DAEMON@mail.example.org",
            "Undelivered Mail Returned to Sender",
            "This is the mail system at host mail.example.org. I'm sorry to have to inform you...",
        ),
        _mail(
            "Promo Marketplace <promo@news.marketplace.example>",
            "Diskon 12.12!",
            "Belanja hemat hari ini.",
            List_Unsubscribe="<mailto:unsub@news.marketplace.example>",
            Precedence="bulk",
        ),
        _mail(
            "Sari <sari@example.co.id>",
            "Otomatis: Sedang cuti",
            "Saya sedang cuti sampai 1 Desember.",
            Auto_Submitted="auto-replied",
        ),
        _mail("no-reply@payments.example", "Pembayaran diterima", "Notifikasi otomatis."),
    ]


async def run_demo(directory: Path | None, *, serve: bool = False) -> int:
    # The recording SMTP server's own chatter would drown what the demo is there to show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="responder-demo-") as tmp:
        base = (directory or Path(tmp)).resolve()
        base.mkdir(parents=True, exist_ok=True)
        state = base / "state"
        state.mkdir(exist_ok=True)
        (state / "imap-password").write_text(PASSWORD + "\n")
        dovecot = Dovecot(base / "dovecot", {ADDRESS: PASSWORD})
        smtp = RecordingSMTPServer()
        await asyncio.to_thread(dovecot.start)
        smtp.start()
        try:
            config_path = base / "config.yaml"
            config_path.write_text(
                CONFIG.format(
                    state=state, address=ADDRESS, imap_port=dovecot.port, smtp_port=smtp.port
                )
            )
            print(
                f"\nlocal Dovecot IMAP on 127.0.0.1:{dovecot.port}, "
                f"SMTP recorder on 127.0.0.1:{smtp.port}, config {config_path}\n"
            )
            app = App(load_config(config_path))
            await app.start()
            try:
                await _show(app, dovecot, smtp, serve)
            finally:
                await app.stop()
        finally:
            smtp.stop()
            await asyncio.to_thread(dovecot.stop)
    return 0


async def _show(app: App, dovecot: Dovecot, smtp: RecordingSMTPServer, serve: bool) -> None:
    mails = samples()
    await asyncio.sleep(0.5)  # let IDLE start, so the samples arrive as live mail
    for sender, msg in mails:
        await dovecot.append_async(ADDRESS, msg.as_bytes())
        print(f"  -> delivered to INBOX: {sender:<52} {msg['Subject']}")
    await smtp.wait_for_async(2, timeout=20)
    await _settled(app, len(mails))
    print("\n=== what responder sent ===")
    for received in smtp.received:
        msg = received.message
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        print(f"\nMAIL FROM:<{received.envelope_from}>  RCPT TO:{', '.join(received.rcpt_tos)}")
        for name in ("From", "To", "Subject", "In-Reply-To", "Auto-Submitted"):
            print(f"  {name}: {msg[name]}")
        print(textwrap.indent(text.strip(), "  | ", lambda _line: True))
    print("\n=== what responder decided not to answer ===")
    for row in await app.store.rows("suppressions"):
        print(f"  {row['sender'] or '?':<40} {row['rule']:<18} {row['reason']}")
    followups = await app.store.rows("inbound", outcome="follow-up")
    for row in followups:
        print(f"  {row['sender']:<40} {'follow-up':<18} joined its ticket; no second reply")
    if serve:
        print(
            f"\nresponder keeps running; append mail for {ADDRESS} (password {PASSWORD}) "
            f"to 127.0.0.1:{dovecot.port}. Ctrl-C stops."
        )
        await asyncio.Event().wait()


async def _settled(app: App, expected: int, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        rows = await app.store.rows("inbound")
        sent = await app.store.rows("replies", state="sent")
        replied = [r for r in rows if r["outcome"] == "replied"]
        if (
            len(rows) >= expected
            and all(r["state"] == "done" for r in rows)
            and len(sent) == len(replied)
        ):
            return
        await asyncio.sleep(0.1)
