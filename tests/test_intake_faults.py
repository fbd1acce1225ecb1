"""Intake faults through real servers (issue 13): mail that waits for the first login, and a
backlog of big mail that must not take the daemon's memory with it."""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from harness import (
    SUPPORT,
    DaemonProcess,
    has_cursor,
    running,
    wait_connected,
    wait_until,
    write_config,
)
from mailfactory import SUPPORT_PASSWORD, make_mail
from relay import Relay

from responder.testing import Dovecot, RecordingSMTPServer

MB = 1024 * 1024


async def test_mail_that_arrives_before_imap_is_reachable_is_answered_once_it_is(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    # Older than the first start: backfill (0) still decides about that, so it stays alone.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await dovecot.append_async(SUPPORT, make_mail(sender="old@example.com"), when=an_hour_ago)
    relay = Relay(dovecot.port)
    config = write_config(tmp_path, dovecot, smtp_server)
    config.write_text(config.read_text().replace(f"port: {dovecot.port}", f"port: {relay.port}"))
    early = [f"early{n}@example.com" for n in range(5)]
    try:
        async with running(config) as app:

            async def refused() -> bool:
                return app.health()["support-mail"] == "reconnecting"

            await wait_until(refused)
            for sender in early:
                await dovecot.append_async(SUPPORT, make_mail(sender=sender))
            await relay.open()
            await wait_connected(app, timeout=30)
            await smtp_server.wait_for_async(5, timeout=15)
            await dovecot.append_async(SUPPORT, make_mail(sender="later@example.com"))
            await smtp_server.wait_for_async(6, timeout=10)
            await asyncio.sleep(0.5)  # room for a second answer to anyone, which must not come
    finally:
        await relay.close()
    assert _answered(smtp_server) == Counter([*early, "later@example.com"])


async def test_mail_that_arrives_while_the_password_is_wrong_is_answered_after_the_fix(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    password = tmp_path / "imap-password"
    password.write_text("not-the-password\n")
    early = [f"early{n}@example.com" for n in range(5)]
    async with running(config) as app:

        async def failed() -> bool:
            return app.health()["support-mail"] == "failed"

        await wait_until(failed)
        for sender in early:
            await dovecot.append_async(SUPPORT, make_mail(sender=sender))
    assert smtp_server.received == []
    # The admin fixes the password and restarts; the restart is not a first start.
    password.write_text(SUPPORT_PASSWORD + "\n")
    async with running(config) as app:
        await wait_connected(app)
        await smtp_server.wait_for_async(5, timeout=15)
    async with running(config) as app:  # and once more: nothing is answered twice
        await wait_connected(app)
        await asyncio.sleep(0.5)
    assert _answered(smtp_server) == Counter(early)


# Ten 5 MB mails. Counted by messages (fetch_chunk: 100), all 50 MB came in one FETCH, and
# aioimaplib's, the parser's and SQLite's copies of it with them: a peak of ~234 MB. Bounded
# by bytes, ~112 MB (an idle daemon holds ~75 MB). The bound sits between, with room on both
# sides; bench/big_mail_memory.py gives the figures for ten 20 MB mails.
BIG_MAILS = 10
BIG_MAIL_SIZE = 5 * MB
PEAK_RSS_BOUND_MB = 160


async def test_a_backlog_of_big_mail_is_answered_with_memory_bounded_by_bytes(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    # 12 MB: two 5 MB mails a FETCH, so chunks are cut by size, not by the count (100).
    config = write_config(tmp_path, dovecot, smtp_server, imap_extra=", fetch_bytes: 12MB")
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.start()
    try:  # the first start sets the cursor; what comes while it is down waits in the mailbox
        await wait_until(lambda: has_cursor(config), timeout=15)
    finally:
        assert daemon.terminate() == 0
    senders = [f"big{n}@example.com" for n in range(BIG_MAILS)]
    template = _big_mail(BIG_MAIL_SIZE)
    for sender in senders:
        await dovecot.append_async(
            SUPPORT, template.replace(b"someone@example.com", sender.encode())
        )
    daemon.start()
    try:
        await smtp_server.wait_for_async(BIG_MAILS, timeout=60)
        assert daemon.proc is not None
        peak = _peak_rss_mb(daemon.proc.pid)
    finally:
        assert daemon.terminate() == 0
    assert _answered(smtp_server) == Counter(senders)
    assert peak < PEAK_RSS_BOUND_MB, f"peak RSS {peak:.0f} MB"


def _big_mail(size: int) -> bytes:
    """A customer's question with a photo attached, `size` bytes in all."""
    msg = EmailMessage()
    msg["From"] = "Customer <someone@example.com>"
    msg["To"] = SUPPORT
    msg["Subject"] = "Foto paket yang rusak"
    msg["Message-ID"] = "<big-someone@example.com>"  # made unique with the sender
    msg.set_content("Halo, paket saya sampai dalam keadaan rusak. Fotonya terlampir.\n")
    # base64 (RFC 2045 6.8): 57 bytes become a 76-character line and CRLF.
    photo = os.urandom((size - 2000) * 57 // 78)
    msg.add_attachment(photo, maintype="image", subtype="jpeg", filename="paket.jpg")
    return msg.as_bytes(policy=SMTP)


def _peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match is not None
    return int(match.group(1)) / 1024


def _answered(smtp: RecordingSMTPServer) -> Counter[str]:
    return Counter(r.rcpt_tos[0] for r in smtp.received)
