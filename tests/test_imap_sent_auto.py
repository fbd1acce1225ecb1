"""`sent_folder: auto` against a real Dovecot: the folder the server marks \\Sent whatever its
language, else a usual name, else a failed Sent watcher that says what it looked for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from harness import SUPPORT, SUPPORT_PASSWORD, write_config
from mailfactory import make_mail
from test_imap_staff import CHANNEL, FakeInbox, sent_watcher_fails_then_heals, until, watching

from responder.channels import health
from responder.channels.email.imap_folders import find_sent, parse_list
from responder.cli import EX_FAILURE, EX_OK, main
from responder.config import EmailChannelConfig, load_config
from responder.config.presets import sent_name
from responder.testing import Dovecot, RecordingSMTPServer, free_port

GMAIL_ID = "[Gmail]/Terkirim"  # an Indonesian Gmail's Sent folder
LOOKED_FOR = '"Sent", "Sent Items", "Sent Messages", "INBOX.Sent" or "Terkirim"'
Server = Callable[[str | None], Dovecot]
Auto = Callable[[Dovecot], EmailChannelConfig]
Found = Callable[[], list[str]]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Starts a Dovecot that marks the named folder \\Sent (RFC 6154), or none."""
    with ExitStack() as stack:

        def start(sent_folder: str | None) -> Dovecot:
            dovecot = Dovecot(
                tmp_path / "imap", {SUPPORT: SUPPORT_PASSWORD}, sent_folder=sent_folder
            )
            return stack.enter_context(dovecot)

        yield start


def _config(tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer) -> EmailChannelConfig:
    path = write_config(tmp_path, dovecot, smtp, imap_extra=", sent_folder: auto")
    [channel] = load_config(path).channels
    assert isinstance(channel, EmailChannelConfig)
    return channel


@pytest.fixture
def found(caplog: pytest.LogCaptureFixture) -> Found:
    """The log lines saying which folder `auto` found, so far."""
    caplog.set_level(logging.INFO, "responder.channels.email.imap")
    return lambda: [m for m in caplog.messages if "sent_folder auto is" in m]


@pytest.fixture
def auto(tmp_path: Path, smtp_server: RecordingSMTPServer) -> Auto:
    """The channel's settings with `sent_folder: auto`, for the given Dovecot."""
    return lambda dovecot: _config(tmp_path, dovecot, smtp_server)


async def test_a_sent_folder_named_in_indonesian_is_found_by_its_mark(
    server: Server, auto: Auto, found: Found
) -> None:
    dovecot = server(GMAIL_ID)
    for folder in (GMAIL_ID, "Sent"):  # a folder with the usual name, not marked, loses
        dovecot.create(SUPPORT, folder)
    inbox = FakeInbox()
    async with watching(auto(dovecot), inbox) as channel:
        reply = make_mail(sender=SUPPORT, to="budi@example.com", subject="Re: Pesanan saya")
        await dovecot.append_async(SUPPORT, reply, folder=GMAIL_ID)
        await until(lambda: inbox.delivered)
        # Signing in again looks again, and says nothing when nothing changed.
        await asyncio.to_thread(dovecot.kick, SUPPORT)
        await until(lambda: channel.state != "connected")
        await until(lambda: channel.state == "connected")
        later = make_mail(sender=SUPPORT, to="budi@example.com", subject="Re: Sudah dikirim")
        await dovecot.append_async(SUPPORT, later, folder=GMAIL_ID)
        await until(lambda: len(inbox.delivered) == 2)
    key = f"{CHANNEL}/auto"  # the cursor's, whatever folder auto finds
    assert [(k, m.raw) for k, m in inbox.delivered] == [(key, reply), (key, later)]
    assert found() == [
        f"channel {CHANNEL}/auto: sent_folder auto is '{GMAIL_ID}' (the server marks it \\Sent)"
    ]


async def test_without_a_mark_the_first_usual_name_that_exists_is_read(
    server: Server, auto: Auto, found: Found
) -> None:
    dovecot = server(None)
    for folder in ("Terkirim", "Sent Items"):
        dovecot.create(SUPPORT, folder)
    inbox = FakeInbox()
    async with watching(auto(dovecot), inbox):
        reply = make_mail(sender=SUPPORT, to="budi@example.com")
        await dovecot.append_async(SUPPORT, reply, folder="Sent Items")
        await until(lambda: inbox.delivered)
    assert [m.raw for _, m in inbox.delivered] == [reply]
    assert found() == [
        f"channel {CHANNEL}/auto: sent_folder auto is 'Sent Items' (no folder is marked \\Sent)"
    ]


async def test_another_folder_found_later_is_read_even_with_the_same_uidvalidity(
    server: Server, auto: Auto, found: Found
) -> None:
    dovecot = server(None)
    dovecot.create(SUPPORT, "Sent Items")
    inbox = FakeInbox()
    async with watching(auto(dovecot), inbox) as channel:
        for n in (1, 2):
            mail = make_mail(sender=SUPPORT, message_id=f"<old{n}@toko-contoh.id>")
            await dovecot.append_async(SUPPORT, mail, folder="Sent Items")
        await until(lambda: len(inbox.delivered) == 2)
        # A mail program makes "Sent", first in the order, and its UIDs start at 1 again
        # under the same UIDVALIDITY (another server may number folders so): the cursor of
        # "Sent Items" (UID 2) must not hide its first reply.
        await asyncio.to_thread(dovecot.create, SUPPORT, "Sent")
        validity = dovecot.uidvalidity(SUPPORT, "Sent Items")
        await asyncio.to_thread(dovecot.set_uidvalidity, SUPPORT, "Sent", validity)
        new = make_mail(sender=SUPPORT, message_id="<new@toko-contoh.id>")
        await dovecot.append_async(SUPPORT, new, folder="Sent")
        await asyncio.to_thread(dovecot.kick, SUPPORT)
        await until(lambda: channel.state != "connected")
        await until(lambda: "new@toko-contoh.id" in {m.external_id for _, m in inbox.delivered})
    assert dovecot.uidvalidity(SUPPORT, "Sent") == validity
    # Read again from shortly before the last activity: the store knows the old replies by
    # their Message-ID (this fake inbox does not).
    assert {m.external_id for _, m in inbox.delivered} == {
        "old1@toko-contoh.id",
        "old2@toko-contoh.id",
        "new@toko-contoh.id",
    }
    assert [line.split(" auto is ")[1] for line in found()] == [
        "'Sent Items' (no folder is marked \\Sent)",
        "'Sent' (no folder is marked \\Sent)",
    ]


async def test_no_sent_folder_fails_only_the_sent_watcher_with_what_it_looked_for(
    tmp_path: Path,
    server: Server,
    smtp_server: RecordingSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "SLOW_RETRY", 0.5)  # five minutes in the daemon
    dovecot = server(None)
    dovecot.create(SUPPORT, "Pesan Terkirim")  # a name auto does not guess
    await sent_watcher_fails_then_heals(
        dovecot,
        _config(tmp_path, dovecot, smtp_server),
        f"found no Sent folder in {SUPPORT} on 127.0.0.1: the server marks no folder as "
        f"Sent, and none is named {LOOKED_FOR}",
        "set imap.sent_folder to the exact name of the folder staff's sent mail is in: "
        '"Pesan Terkirim"',
    )


@pytest.mark.parametrize(
    ("marked", "folders", "opened", "failure"),
    [
        (GMAIL_ID, [GMAIL_ID], f"INBOX and {GMAIL_ID} (auto: marked \\Sent) open", None),
        (None, ["Sent Messages"], "INBOX and Sent Messages (auto: by its name) open", None),
        (
            None,
            [],
            "INBOX open",
            f"FAIL support-mail IMAP: found no Sent folder in {SUPPORT} on 127.0.0.1: the server "
            f"marks no folder as Sent, and none is named {LOOKED_FOR}: send one mail from your "
            "mail program (most make their Sent folder then), or set imap.sent_folder to the "
            "exact name of the folder it keeps sent mail in",
        ),
    ],
    ids=["marked", "by-name", "none"],
)
def test_check_connect_says_which_folder_auto_found(
    marked: str | None,
    folders: list[str],
    opened: str,
    failure: str | None,
    tmp_path: Path,
    server: Server,
    smtp_server: RecordingSMTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dovecot = server(marked)
    for folder in folders:
        dovecot.create(SUPPORT, folder)
    http = f"http: {{port: {free_port()}}}"
    path = write_config(
        tmp_path, dovecot, smtp_server, extra=http, imap_extra=", sent_folder: auto"
    )
    code = main(["check", "-c", str(path), "--connect"])
    lines = capsys.readouterr().out.splitlines()
    imap = f"ok   support-mail IMAP: signed in to 127.0.0.1:{dovecot.port} as {SUPPORT}; {opened}"
    assert lines[1].startswith("ok   database: ") and lines[2] == imap
    assert [line for line in lines if line.startswith("FAIL")] == ([failure] if failure else [])
    assert code == (EX_FAILURE if failure else EX_OK)


def test_the_providers_own_name_is_tried_before_the_usual_ones() -> None:
    # A cPanel Dovecot without special-use marks (its folders sit under "INBOX.").
    lines = [
        b'(\\HasNoChildren) "." INBOX.Sent',
        b'(\\HasNoChildren) "." Sent',
        b'(\\Noselect \\HasChildren) "." "Sent Items"',
        b"List completed.",
    ]
    boxes = parse_list(lines)
    assert find_sent(boxes, sent_name("cpanel")) == ("INBOX.Sent", False)
    assert find_sent(boxes, sent_name("generic")) == ("Sent", False)
    assert find_sent(boxes[2:], None) is None  # a folder that cannot be opened is no Sent folder
