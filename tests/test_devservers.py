"""The development servers are real and behave: Dovecot over IMAP, the recording SMTP server."""

from __future__ import annotations

import asyncio
import imaplib
import os
import shutil
import smtplib
import socket
import time
from email.message import EmailMessage
from email.policy import SMTPUTF8
from pathlib import Path
from typing import BinaryIO

import aioimaplib
import pytest
from mailfactory import STAFF_USER, SUPPORT_PASSWORD, SUPPORT_USER, make_mail

from responder.testing import Dovecot, DovecotError, RecordingSMTPServer


def test_append_then_read_back_unseen(dovecot: Dovecot) -> None:
    raw = make_mail(subject="Pesanan #42 belum sampai")
    uid = dovecot.append(SUPPORT_USER, raw)

    with imaplib.IMAP4(dovecot.host, dovecot.port) as conn:
        assert conn.welcome.startswith(b"* OK")
        conn.login(SUPPORT_USER, SUPPORT_PASSWORD)
        assert "IDLE" in conn.capabilities
        conn.select("INBOX", readonly=True)
        typ, data = conn.uid("FETCH", str(uid), "(FLAGS BODY.PEEK[])")
    assert typ == "OK"
    envelope, body = data[0]
    assert body == raw
    assert b"\\Seen" not in imaplib.ParseFlags(envelope)
    assert "\\Seen" not in dovecot.fetch_flags(SUPPORT_USER, uid)
    assert dovecot.list_uids(SUPPORT_USER) == [uid]
    assert dovecot.fetch_raw(SUPPORT_USER, uid) == raw


def test_append_creates_folder_with_flags_per_user(dovecot: Dovecot) -> None:
    uid = dovecot.append(SUPPORT_USER, make_mail(), folder="Diproses/Sudah dibalas", flags="\\Seen")

    assert "\\Seen" in dovecot.fetch_flags(SUPPORT_USER, uid, folder="Diproses/Sudah dibalas")
    assert dovecot.list_uids(SUPPORT_USER) == []
    assert dovecot.list_uids(STAFF_USER) == []


def test_wrong_password_is_refused_without_growing_delay(dovecot: Dovecot) -> None:
    for _ in range(2):  # a penalty would delay the second attempt by 4 s
        started = time.monotonic()
        with imaplib.IMAP4(dovecot.host, dovecot.port) as conn, pytest.raises(imaplib.IMAP4.error):
            conn.login(SUPPORT_USER, "wrong")
        assert time.monotonic() - started < 2


async def test_idle_is_notified_of_new_mail(dovecot: Dovecot) -> None:
    client = aioimaplib.IMAP4(dovecot.host, dovecot.port, timeout=5)
    await client.wait_hello_from_server()
    try:
        await client.login(SUPPORT_USER, SUPPORT_PASSWORD)
        await client.select("INBOX")
        idle = await client.idle_start(timeout=10)  # returns once the server says "+ idling"

        await dovecot.append_async(SUPPORT_USER, make_mail())
        push = await client.wait_server_push(timeout=5)  # Dovecot waits ~0.5 s to notify

        client.idle_done()
        await asyncio.wait_for(idle, 5)
    finally:
        await client.logout()
    assert any(b"EXISTS" in line for line in push if isinstance(line, bytes))


def _imap_line(reader: BinaryIO, lines: list[bytes], until: bytes) -> None:
    while not lines or not lines[-1].startswith(until):
        line = reader.readline()
        if not line:
            raise AssertionError(f"connection closed before {until!r}: {lines!r}")
        lines.append(line)


def test_restart_keeps_port_and_mail_and_says_bye(dovecot: Dovecot) -> None:
    uid = dovecot.append(SUPPORT_USER, make_mail())
    port = dovecot.port

    with socket.create_connection((dovecot.host, port), timeout=5) as sock:
        reader = sock.makefile("rb")
        lines: list[bytes] = []
        _imap_line(reader, lines, b"* OK")
        sock.sendall(f"a LOGIN {SUPPORT_USER} {SUPPORT_PASSWORD}\r\nb SELECT INBOX\r\n".encode())
        _imap_line(reader, lines, b"b OK")
        sock.sendall(b"c IDLE\r\n")
        _imap_line(reader, lines, b"+ ")

        dovecot.restart()

        rest = reader.read()
        reader.close()
    assert b"* BYE" in rest
    assert dovecot.port == port
    assert dovecot.list_uids(SUPPORT_USER) == [uid]


def test_kill_drops_connections_and_start_recovers(dovecot: Dovecot) -> None:
    uid = dovecot.append(SUPPORT_USER, make_mail())
    dovecot.stop(kill=True)
    dovecot.stop()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection((dovecot.host, dovecot.port), timeout=1).close()
    dovecot.start()
    assert dovecot.list_uids(SUPPORT_USER) == [uid]


def test_reset_uidvalidity_changes_it_and_keeps_messages(dovecot: Dovecot) -> None:
    dovecot.append(SUPPORT_USER, make_mail(subject="satu"))
    seen = dovecot.append(SUPPORT_USER, make_mail(subject="dua"), flags="\\Seen")
    before = dovecot.uidvalidity(SUPPORT_USER)

    first = dovecot.reset_uidvalidity(SUPPORT_USER)
    second = dovecot.reset_uidvalidity(SUPPORT_USER)  # twice within a second still differs

    assert len({before, first, second}) == 3
    assert dovecot.uidvalidity(SUPPORT_USER) == second
    uids = dovecot.list_uids(SUPPORT_USER)
    assert len(uids) == 2
    assert sum("\\Seen" in dovecot.fetch_flags(SUPPORT_USER, uid) for uid in uids) == 1
    assert seen  # the UIDs themselves may be renumbered


def test_missing_dovecot_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(DovecotError, match="apt-get install dovecot-imapd"):
        Dovecot(tmp_path, {SUPPORT_USER: SUPPORT_PASSWORD})


def test_smtp_records_null_sender(smtp_server: RecordingSMTPServer) -> None:
    raw = make_mail(sender="support@toko-contoh.id", to="budi@example.com", subject="Re: Pesanan")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.sendmail("", ["budi@example.com"], raw)

    [got] = smtp_server.wait_for(1, timeout=5)
    assert got.envelope_from == ""
    assert got.rcpt_tos == ("budi@example.com",)
    assert got.message["Subject"] == "Re: Pesanan"
    assert got.data.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


def test_smtp_accepts_smtputf8(smtp_server: RecordingSMTPServer) -> None:
    msg = EmailMessage(policy=SMTPUTF8)
    msg["From"] = "layanan@toko-contoh.id"
    msg["To"] = "siti.ñ@example.com"
    msg["Subject"] = "Terima kasih — pesanan diterima"
    msg.set_content("Halo Siti, pesanan Anda sudah kami terima. 🙏")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.send_message(msg)

    [got] = smtp_server.wait_for(1, timeout=5)
    assert "SMTPUTF8" in got.mail_options
    assert got.rcpt_tos == ("siti.ñ@example.com",)
    assert got.message["Subject"] == "Terima kasih — pesanan diterima"


def test_smtp_with_a_login_wants_that_password_before_mail() -> None:
    raw = make_mail(sender=SUPPORT_USER, to="budi@example.com")
    with RecordingSMTPServer(login=(SUPPORT_USER, "smtp-right")) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
            assert client.mail(SUPPORT_USER)[0] == 530  # RFC 4954 section 6
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login(SUPPORT_USER, "smtp-wrong")
            assert refused.value.smtp_code == 535
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.login(SUPPORT_USER, "smtp-right")
            client.sendmail(SUPPORT_USER, ["budi@example.com"], raw)
        [got] = server.wait_for(1, timeout=5)
    assert got.login == SUPPORT_USER
    assert server.sign_ins == 2


def test_smtp_fail_next_then_success(smtp_server: RecordingSMTPServer) -> None:
    smtp_server.fail_next(451, text="4.3.0 Try again later")
    smtp_server.fail_next(550, count=1, text="5.7.1 Rejected")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPDataError) as transient:
            client.sendmail("a@toko-contoh.id", ["b@example.com"], make_mail())
        client.rset()
        with pytest.raises(smtplib.SMTPDataError) as permanent:
            client.sendmail("a@toko-contoh.id", ["b@example.com"], make_mail())
        client.rset()
        client.sendmail("a@toko-contoh.id", ["b@example.com"], make_mail(subject="ketiga"))

    assert transient.value.smtp_code == 451
    assert permanent.value.smtp_code == 550
    [got] = smtp_server.wait_for(1, timeout=5)
    assert got.message["Subject"] == "ketiga"


def test_smtp_wait_for_times_out_with_what_it_has(smtp_server: RecordingSMTPServer) -> None:
    with pytest.raises(TimeoutError, match="got 0"):
        smtp_server.wait_for(1, timeout=0.05)


async def test_smtp_wait_for_async_and_delay(smtp_server: RecordingSMTPServer) -> None:
    smtp_server.set_delay(0.3)

    def send() -> None:
        with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
            client.sendmail("a@toko-contoh.id", ["b@example.com"], make_mail())

    started = time.monotonic()
    sending = asyncio.create_task(asyncio.to_thread(send))
    [got] = await smtp_server.wait_for_async(1, timeout=5)
    await sending
    assert got.at - started >= 0.3
    assert got.at <= time.monotonic()
