"""Internationalised addresses end to end (RFC 6530-6532): real Dovecot, real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest
from harness import (
    SUPPORT,
    all_decided,
    all_sent,
    db_rows,
    running,
    wait_connected,
    wait_until,
    write_config,
)

from responder.testing import Dovecot, RecordingSMTPServer

# One customer a reply at most: a second mail from the same customer, its domain spelt
# in A-labels this time, must count against the same address.
CAP_ONE = "guards: {reply_cap: {max_replies: 1, window: 1h}}"


@pytest.fixture
def ascii_smtp() -> Iterator[RecordingSMTPServer]:
    """An SMTP server that does not offer SMTPUTF8 (RFC 6531)."""
    with RecordingSMTPServer(smtputf8=False) as server:
        yield server


def utf8_mail(sender: str, subject: str) -> bytes:
    """A mail as an RFC 6532 client writes it: UTF-8 right in the header fields."""
    return (
        f"From: {sender}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
        f"Date: {formatdate(localtime=True)}\r\nMessage-ID: {make_msgid(domain='example.com')}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nHalo, pesanan saya belum sampai.\r\n"
    ).encode()


async def test_an_idn_sender_is_answered_once_in_a_labels_without_smtputf8(
    tmp_path: Path, dovecot: Dovecot, ascii_smtp: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, ascii_smtp, extra=CAP_ONE)
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, utf8_mail("Müller <kunde@bücher.example>", "Frage"))
        await wait_until(lambda: all_decided(config, 1))
        await dovecot.append_async(
            SUPPORT, utf8_mail("Müller <kunde@xn--BCHER-kva.example>", "Noch eine Frage")
        )
        await wait_until(lambda: all_decided(config, 2))
        await wait_until(lambda: all_sent(config))
    [received] = ascii_smtp.received
    assert received.rcpt_tos == ("kunde@xn--bcher-kva.example",)
    assert "SMTPUTF8" not in received.mail_options
    assert received.data.isascii()
    [to] = [line for line in received.data.split(b"\r\n") if line.startswith(b"To: ")]
    assert to.startswith(b"To: =?utf-8?") and to.endswith(b" <kunde@xn--bcher-kva.example>")
    assert received.message["To"].addresses[0].display_name == "Müller"
    [ticket] = await db_rows(config, "tickets")
    assert (ticket["customer"], ticket["customer_name"]) == ("kunde@bücher.example", "Müller")
    [reply] = await db_rows(config, "replies")
    assert (reply["recipient"], reply["state"]) == ("kunde@bücher.example", "sent")
    # The same customer in A-labels: one address, so the reply cap holds.
    [suppressed] = await db_rows(config, "suppressions")
    assert (suppressed["rule"], suppressed["sender"]) == ("reply-cap", "kunde@bücher.example")


async def test_an_idn_sender_is_answered_with_smtputf8_when_the_server_offers_it(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, utf8_mail("Müller <kunde@bücher.example>", "Frage"))
        [received] = await smtp_server.wait_for_async(1, timeout=5)
        await wait_until(lambda: all_sent(config))
    assert "SMTPUTF8" in received.mail_options
    assert received.rcpt_tos == ("kunde@bücher.example",)
    assert received.message["To"].addresses[0].display_name == "Müller"
    assert len(smtp_server.received) == 1


async def test_a_utf8_local_part_without_smtputf8_is_parked_and_others_are_answered(
    tmp_path: Path, dovecot: Dovecot, ascii_smtp: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, ascii_smtp)
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, utf8_mail("<josé@example.com>", "Pedido"))
        await wait_until(lambda: all_decided(config, 1))
        await dovecot.append_async(SUPPORT, utf8_mail("Budi <budi@example.com>", "Pesanan"))
        [received] = await ascii_smtp.wait_for_async(1, timeout=5)
        await wait_until(lambda: all_sent(config))
    assert received.rcpt_tos == ("budi@example.com",)
    tickets = await db_rows(config, "tickets")
    assert sorted(t["customer"] for t in tickets) == ["budi@example.com", "josé@example.com"]
    [parked] = await db_rows(config, "replies", state="parked")
    assert parked["recipient"] == "josé@example.com"
    assert parked["attempts"] == 1  # permanent: not retried
    assert parked["last_error"] == (
        "permanent failure: the address josé@example.com has a non-ASCII local part "
        "and the SMTP server does not offer SMTPUTF8 (RFC 6531)"
    )
    assert len(ascii_smtp.received) == 1
