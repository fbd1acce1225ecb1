"""Staff activity seen over IMAP against a real Dovecot: their Sent folder, \\Answered, the done
keyword and the done folder, across IDLE, polling, a stopped daemon and a server restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from harness import SUPPORT, wait_until, write_config
from mailfactory import make_mail

from responder.channels import health
from responder.channels.email.channel import EmailChannel
from responder.channels.email.imap_fetch import header_records, search_modseq, select_codes
from responder.channels.email.imap_flags import FlagWatch
from responder.common.tasks import TaskGroup
from responder.config import EmailChannelConfig, load_config
from responder.domain.models import Cursor, InboundMessage, MailMark
from responder.testing import Dovecot, RecordingSMTPServer

CHANNEL = "support-mail"
STAFF_SETTINGS = ", sent_folder: Sent, done_keyword: $Done, done_folder: Done"


class FakeInbox:
    """Records what the channel hands over, as the Inbox protocol describes it."""

    def __init__(self) -> None:
        self.cursors: dict[str, tuple[Cursor, datetime]] = {}
        self.delivered: list[tuple[str, InboundMessage]] = []  # (cursor key, message)
        self.marks: list[MailMark] = []
        self.started: dict[str, datetime] = {}

    async def cursor(self, key: str) -> tuple[Cursor, datetime] | None:
        return self.cursors.get(key)

    async def deliver(
        self,
        channel: str,
        messages: Sequence[InboundMessage],
        cursor: Cursor | None,
        key: str | None = None,
    ) -> None:
        assert channel == CHANNEL
        self.delivered += [(key or channel, m) for m in messages]
        if cursor is not None:
            self.cursors[key or channel] = (cursor, datetime.now(UTC))

    async def mark(
        self, channel: str, marks: Sequence[MailMark], key: str, cursor: Cursor | None
    ) -> None:
        assert channel == CHANNEL
        self.marks += marks
        if cursor is not None:
            self.cursors[key] = (cursor, datetime.now(UTC))

    async def first_started(self, key: str) -> tuple[datetime, bool]:
        return self.started.setdefault(key, datetime.now(UTC)), True

    def holding(self, nbytes: int) -> contextlib.AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()

    def kinds(self, kind: str) -> list[str]:
        return [m.message_id for m in self.marks if m.kind == kind]


def _config(
    tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer, extra: str = ""
) -> EmailChannelConfig:
    path = write_config(tmp_path, dovecot, smtp, imap_extra=STAFF_SETTINGS + extra)
    [channel] = load_config(path).channels
    assert isinstance(channel, EmailChannelConfig)
    return channel


@asynccontextmanager
async def watching(config: EmailChannelConfig, inbox: FakeInbox) -> AsyncIterator[EmailChannel]:
    channel = EmailChannel(config, TaskGroup())
    await channel.start(inbox)
    try:
        await until(lambda: channel.state == "connected")
        await asyncio.sleep(0.1)  # IDLE is issued right after the first sync
        yield channel
    finally:
        await channel.stop()


async def until(predicate: object, timeout: float = 5.0) -> None:
    async def check() -> bool:
        return bool(predicate())  # type: ignore[operator]

    await wait_until(check, timeout, interval=0.02)


async def sent_watcher_fails_then_heals(
    dovecot: Dovecot, config: EmailChannelConfig, problem: str, remedy: str
) -> None:
    """Only the Sent watcher fails, saying `problem` and `remedy` for imap.sent_folder; the
    inbox keeps working; once a mail program makes "Sent", the channel is connected."""
    inbox = FakeInbox()
    channel = EmailChannel(config, TaskGroup())
    await channel.start(inbox)
    try:
        await until(lambda: channel.state == "failed")
        found = channel.health.problem
        assert found is not None and channel.health.partial
        assert (found.problem, found.key, found.remedy) == (problem, "imap.sent_folder", remedy)
        await dovecot.append_async(SUPPORT, make_mail())
        await until(lambda: inbox.delivered)
        await asyncio.to_thread(dovecot.create, SUPPORT, "Sent")
        await until(lambda: channel.state == "connected", timeout=10.0)
    finally:
        await channel.stop()


def _folders(dovecot: Dovecot) -> None:
    for folder in ("Sent", "Done"):
        dovecot.create(SUPPORT, folder)


async def test_sent_mail_is_delivered_under_its_own_key_from_now_on(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    _folders(dovecot)
    old = make_mail(sender=SUPPORT, to="budi@example.com", subject="Re: old")
    dovecot.append(SUPPORT, old, folder="Sent")
    inbox = FakeInbox()
    async with watching(_config(tmp_path, dovecot, smtp_server), inbox) as channel:
        inbox_cursor = inbox.cursors[CHANNEL]
        reply = make_mail(sender=SUPPORT, to="budi@example.com", subject="Re: Pesanan saya")
        await dovecot.append_async(SUPPORT, reply, folder="Sent")
        await until(lambda: inbox.delivered)
        assert channel.state == "connected"
    [(key, message)] = inbox.delivered
    assert key == f"{CHANNEL}/Sent"
    assert message.channel == CHANNEL and message.raw == reply
    assert f"<{message.external_id}>" in reply.decode()
    assert inbox.cursors[CHANNEL] == inbox_cursor  # the INBOX cursor did not move


async def test_answered_by_another_client_while_idle_is_reported_once(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    _folders(dovecot)
    # Answered before the first run: old history, not reported.
    dovecot.append(SUPPORT, make_mail(message_id="<old@example.com>"), flags="\\Answered")
    inbox = FakeInbox()
    async with watching(_config(tmp_path, dovecot, smtp_server), inbox):
        uid = await dovecot.append_async(SUPPORT, make_mail(message_id="<q1@example.com>"))
        await until(lambda: len(inbox.delivered) == 1)
        await asyncio.to_thread(dovecot.set_flags, SUPPORT, uid, "\\Answered")
        await until(lambda: inbox.marks, timeout=2.0)
        assert inbox.kinds("answered") == ["<q1@example.com>"]
        # More mail, and another message read in a mail client: both wake a sync, and
        # neither brings the unchanged \Answered back.
        q2 = await dovecot.append_async(SUPPORT, make_mail(message_id="<q2@example.com>"))
        await until(lambda: len(inbox.delivered) == 2)
        flags_cursor = inbox.cursors[f"{CHANNEL}/INBOX#flags"]
        await asyncio.to_thread(dovecot.set_flags, SUPPORT, q2, "\\Seen")
        await until(lambda: inbox.cursors[f"{CHANNEL}/INBOX#flags"] != flags_cursor)
    assert [(m.message_id, m.kind) for m in inbox.marks] == [("<q1@example.com>", "answered")]
    assert "<old@example.com>" not in inbox.kinds("answered")


async def test_flags_set_while_stopped_are_reported_after_restart(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    _folders(dovecot)
    config = _config(tmp_path, dovecot, smtp_server)
    inbox = FakeInbox()
    async with watching(config, inbox):
        a = await dovecot.append_async(SUPPORT, make_mail(message_id="<a@example.com>"))
        b = await dovecot.append_async(SUPPORT, make_mail(message_id="<b@example.com>"))
        await until(lambda: len(inbox.delivered) == 2)
    dovecot.set_flags(SUPPORT, a, "\\Answered")
    dovecot.set_flags(SUPPORT, b, "$Done")
    async with watching(config, inbox):
        await until(lambda: len(inbox.marks) == 2)
    assert inbox.kinds("answered") == ["<a@example.com>"]
    assert inbox.kinds("done") == ["<b@example.com>"]
    assert len(inbox.delivered) == 2  # nothing delivered twice


async def test_done_keyword_and_done_folder_mark_done(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    _folders(dovecot)
    dovecot.append(SUPPORT, make_mail(message_id="<before@example.com>"), folder="Done")
    inbox = FakeInbox()
    async with watching(_config(tmp_path, dovecot, smtp_server), inbox):
        k = await dovecot.append_async(SUPPORT, make_mail(message_id="<kw@example.com>"))
        m = await dovecot.append_async(SUPPORT, make_mail(message_id="<moved@example.com>"))
        await until(lambda: len(inbox.delivered) == 2)
        await asyncio.to_thread(dovecot.set_flags, SUPPORT, k, "$Done")
        await until(lambda: inbox.kinds("done") == ["<kw@example.com>"], timeout=2.0)
        await asyncio.to_thread(dovecot.move, SUPPORT, m, "Done")
        await until(lambda: len(inbox.kinds("done")) == 2, timeout=2.0)
    assert inbox.kinds("done") == ["<kw@example.com>", "<moved@example.com>"]
    assert inbox.cursors[f"{CHANNEL}/Done"][0].position == 2
    assert inbox.kinds("answered") == []


async def test_polling_mode_sees_flags_and_sent_mail(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    _folders(dovecot)
    config = _config(tmp_path, dovecot, smtp_server, ", idle: false, poll_interval: 200ms")
    inbox = FakeInbox()
    async with watching(config, inbox):
        uid = await dovecot.append_async(SUPPORT, make_mail(message_id="<p@example.com>"))
        await dovecot.append_async(SUPPORT, make_mail(sender=SUPPORT), folder="Sent")
        await until(lambda: len(inbox.delivered) == 2)
        await asyncio.to_thread(dovecot.set_flags, SUPPORT, uid, "\\Answered")
        await until(lambda: inbox.kinds("answered") == ["<p@example.com>"], timeout=2.0)
    assert sorted(key for key, _ in inbox.delivered) == [CHANNEL, f"{CHANNEL}/Sent"]


async def test_watchers_reconnect_after_a_server_restart(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    _folders(dovecot)
    inbox = FakeInbox()
    async with watching(_config(tmp_path, dovecot, smtp_server), inbox) as channel:
        uid = await dovecot.append_async(SUPPORT, make_mail(message_id="<r@example.com>"))
        await until(lambda: len(inbox.delivered) == 1)
        await asyncio.to_thread(dovecot.restart)
        await until(lambda: channel.state != "connected")
        # While we are away: a staff reply is sent and the question marked answered.
        await dovecot.append_async(SUPPORT, make_mail(sender=SUPPORT), folder="Sent")
        await asyncio.to_thread(dovecot.set_flags, SUPPORT, uid, "\\Answered")
        await until(lambda: channel.state == "connected", timeout=15.0)
        await until(lambda: len(inbox.delivered) == 2 and inbox.marks)
        moved = await dovecot.append_async(SUPPORT, make_mail(message_id="<r2@example.com>"))
        await asyncio.to_thread(dovecot.move, SUPPORT, moved, "Done")
        await until(lambda: "<r2@example.com>" in inbox.kinds("done"))
    assert inbox.kinds("answered") == ["<r@example.com>"]


async def test_a_missing_sent_folder_fails_with_the_remedy_until_it_appears(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "SLOW_RETRY", 0.5)  # five minutes in the daemon
    dovecot.create(SUPPORT, "Done")  # no Sent folder yet: a mail client makes it on first use
    await sent_watcher_fails_then_heals(
        dovecot,
        _config(tmp_path, dovecot, smtp_server),
        f'there is no folder "Sent" in {SUPPORT} on 127.0.0.1',
        "create the folder in your mail program, or set imap.sent_folder to a folder that exists",
    )


class _NoCondstore:
    def has_capability(self, capability: str) -> bool:
        return capability != "CONDSTORE"


async def test_without_condstore_flags_are_not_watched_and_the_log_says_which_setting(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = _config(tmp_path, dovecot, smtp_server).imap
    watch = FlagWatch(None, CHANNEL, config, FakeInbox(), "INBOX", lambda: datetime.now(UTC))  # type: ignore[arg-type]
    for _ in range(2):  # every reconnect asks again; the warning is said once
        assert await watch.enable(_NoCondstore()) == ""  # type: ignore[arg-type]
        assert not watch.wakes([b"1 FETCH (FLAGS (\\Answered))"])
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "imap.watch_answered and imap.done_keyword" in warning and "CONDSTORE" in warning


async def test_answered_across_a_uidvalidity_change_is_still_reported(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    _folders(dovecot)
    config = _config(tmp_path, dovecot, smtp_server)
    inbox = FakeInbox()
    async with watching(config, inbox):
        uid = await dovecot.append_async(SUPPORT, make_mail(message_id="<v@example.com>"))
        await until(lambda: inbox.delivered)
    dovecot.set_flags(SUPPORT, uid, "\\Answered")
    # The server lost its UID map: UIDs and mod-sequences start over.
    await asyncio.to_thread(dovecot.reset_uidvalidity, SUPPORT)
    async with watching(config, inbox):
        await until(lambda: inbox.marks)
    assert inbox.kinds("answered") == ["<v@example.com>"]


def test_flag_records_as_aioimaplib_gives_them() -> None:
    lines = [
        b"1 FETCH (UID 7 FLAGS (\\Answered \\Recent $Done) MODSEQ (4) "
        b"BODY[HEADER.FIELDS (MESSAGE-ID)] {23}",
        bytearray(b"Message-ID:\r\n <a@b>\r\n\r\n"),
        b")",
        b"2 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID)] {2}",
        bytearray(b"\r\n"),
        b" UID 8 MODSEQ (5) FLAGS ())",
        b"Fetch completed.",
    ]
    first, second = header_records(lines)
    assert (first.uid, first.modseq, first.message_id) == (7, 4, "<a@b>")
    assert first.flags == {"\\Answered", "\\Recent", "$Done"}
    assert (second.uid, second.flags, second.message_id) == (8, frozenset(), None)
    assert search_modseq([b"1 2 (MODSEQ 3)", b"Search completed."]) == 3
    assert select_codes([b"OK [HIGHESTMODSEQ 9] Highest"]).highestmodseq == 9


async def test_folders_named_as_gmail_and_outlook_name_them_are_watched(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    # "[Gmail]/Sent Mail" and "Sent Items" (the presets' defaults) have spaces; a localised
    # client names folders in the admin's language: all must be quoted, in modified UTF-7.
    sent, done = "[Gmail]/Sent Mail", "Sudah Selesai ✓"
    for folder in (sent, done):
        dovecot.create(SUPPORT, folder)
    extra = f', sent_folder: "{sent}", done_folder: "{done}"'
    path = write_config(tmp_path, dovecot, smtp_server, imap_extra=extra)
    [config] = load_config(path).channels
    assert isinstance(config, EmailChannelConfig)
    inbox = FakeInbox()
    async with watching(config, inbox) as channel:
        reply = make_mail(sender=SUPPORT, to="budi@example.com", subject="Re: Pesanan saya")
        await dovecot.append_async(SUPPORT, reply, folder=sent)
        await until(lambda: inbox.delivered)
        assert channel.state == "connected"
    [(key, message)] = inbox.delivered
    assert key == f"{CHANNEL}/{sent}" and message.raw == reply
