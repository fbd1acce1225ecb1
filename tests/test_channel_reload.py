"""A broken channel comes back without a restart (issue 14): a refused SMTP sign-in or bot
token waits for the fix at a slow pace and a reload brings it back; the health record never
holds intake up, and a failure stays said hourly, not at every retry."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import testdb
from harness import (
    SUPPORT,
    SUPPORT_PASSWORD,
    TELEGRAM_TOKEN,
    TG_CUSTOMER,
    db_rows,
    has_cursor,
    running,
    wait_connected,
    wait_sent,
    wait_until,
    write_config,
    write_telegram_config,
)
from mailfactory import make_mail

from responder.app.lifecycle import status as systemd_status
from responder.channels.base import ChannelHealth
from responder.channels.diagnose import Diagnosis
from responder.config import load_config
from responder.services import channel_watch
from responder.storage.store import Store
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn

WRONG = "not-the-password-1"


async def test_a_refused_smtp_sign_in_fails_the_channel_and_is_not_tried_again_and_again(
    tmp_path: Path, dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with RecordingSMTPServer(login=(SUPPORT, "smtp-right")) as smtp:
        password = tmp_path / "smtp-password"
        password.write_text("smtp-wrong\n")
        sign_in = f", username: {SUPPORT}, password_file: {password}"
        never_gives_up = "{retry_base: 0.2s, retry_cap: 1s}"
        config = write_config(tmp_path, dovecot, smtp, smtp_extra=sign_in, delivery=never_gives_up)
        async with running(config) as app:

            async def failed() -> bool:
                return app.health()["support-mail"] == "failed"

            # Shown at start, by the channel's own SMTP sign-in: no reply needed for that.
            await wait_until(failed, timeout=15)
            # Intake is up (mail from before its first run is old mail, never answered).
            await wait_until(lambda: has_cursor(config), timeout=15)
            await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))
            problem = app.channel_health()["support-mail"].problem
            assert problem is not None
            assert (problem.problem, problem.key, problem.remedy) == (
                f"the password for {SUPPORT} was refused by 127.0.0.1",
                "channels[0].smtp.password_file",
                "check smtp.password_file and smtp.username",
            )
            # The reply retries every 0.2-1 s, probes would come within seconds: none of
            # them tries the refused password again (providers lock such accounts).
            await asyncio.sleep(3.0)
            assert smtp.sign_ins == 1
            [reply] = await db_rows(config, "replies")
            assert reply["state"] == "pending"  # waiting, not given up
            # systemctl status names the failing channel.
            assert await systemd_status(app) == (
                f"support-mail FAILING: the password for {SUPPORT} was refused by 127.0.0.1; "
                "0 of 1 channel(s) connected, 1 open tickets"
                "; leases held: imap:support-mail, scheduler"
            )

            # The admin fixes the password file and reloads.
            password.write_text("smtp-right\n")
            assert app.reload(load_config(config))
            [received] = await smtp.wait_for_async(1, timeout=10)

            async def connected() -> bool:
                return app.health()["support-mail"] == "connected"

            await wait_until(connected)
    assert received.rcpt_tos == ("budi@example.com",)
    assert "refused our sign-in" in caplog.text and "probing it every 5 minutes" in caplog.text
    assert "smtp-wrong" not in caplog.text and "smtp-right" not in caplog.text


async def execute(database: Path, *statements: str) -> None:
    """Run SQL beside the daemon, in a thread: the daemon may hold the write lock (WAL allows
    one writer) and must go on running on the event loop to let it go."""
    await asyncio.to_thread(testdb.execute, database, *statements)


async def test_a_health_record_the_database_refuses_is_said_once_and_intake_goes_on(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    config = write_config(tmp_path, dovecot, smtp_server)
    password = tmp_path / "imap-password"
    database = tmp_path / "state" / "responder.db"
    async with running(config) as app:
        await wait_connected(app)
        # As a full disk or a DBA might: every write to the table refused.
        await execute(
            database,
            *testdb.refuse(
                "refuse_insert", "channel_health", "INSERT", "refused by the test trigger"
            ),
            *testdb.refuse(
                "refuse_update", "channel_health", "UPDATE", "refused by the test trigger"
            ),
        )
        for secret in (WRONG, SUPPORT_PASSWORD):  # failed, then connected: two changes
            password.write_text(secret + "\n")
            assert app.reload(load_config(config))
            want = "failed" if secret == WRONG else "connected"

            async def reached(want: str = want) -> bool:
                return app.health()["support-mail"] == want

            await wait_until(reached, timeout=15)
        await asyncio.sleep(1.5)  # the watch polls every second
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))
        [received] = await smtp_server.wait_for_async(1, timeout=10)
        allowed = testdb.allow("refuse_insert", "channel_health")
        await execute(database, *allowed, *testdb.allow("refuse_update", "channel_health"))
    assert received.rcpt_tos == ("budi@example.com",)
    refused = [r for r in caplog.records if "could not record the channels' health" in r.message]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING
    assert refused[0].getMessage() == (
        "could not record the channels' health for `responder status`: refused by the test "
        "trigger; trying again at the next change (or in a minute)"
    )
    assert "the channels' health is recorded again" in caplog.text  # at the stop
    [row] = await db_rows(config, "channel_health")
    assert row["state"] == "stopped"


async def test_a_channel_that_stays_failed_is_said_again_hourly_not_at_every_retry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channel_watch, "REMIND_EVERY", 0.5)  # an hour in the daemon
    store = Store(testdb.url(tmp_path / "responder.db"))
    await store.open()
    since = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
    problem = Diagnosis("the token was refused by api.telegram.org", "check token_file", "", True)
    failed = {"shop-bot": ChannelHealth("failed", since, problem)}
    watch = channel_watch.ChannelWatch(lambda: failed, store, lambda: datetime.now(UTC))
    try:
        for _ in range(7):  # seven polls over 0.7 s: the failure, then one reminder
            await watch.check()
            await asyncio.sleep(0.1)
    finally:
        await store.close()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert said == [
        "channel shop-bot: the token was refused by api.telegram.org: check token_file; "
        "trying again every 5 minutes",
        "channel shop-bot is still failing, since 2026-05-04T03:00:00+00:00: the token was "
        "refused by api.telegram.org: check token_file",
    ]


async def test_a_refused_bot_token_fixed_and_reloaded_brings_the_bot_back(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url)
    token = tmp_path / "telegram-token"
    token.write_text("123456:a-token-BotFather-revoked-long-ago\n")  # the stand-in answers 401
    async with running(config) as app:

        async def state(want: str) -> None:
            async def reached() -> bool:
                return app.health()["shop-bot"] == want

            await wait_until(reached, timeout=15)

        await state("failed")
        problem = app.channel_health()["shop-bot"].problem
        assert problem is not None and problem.key == "channels[0].token_file"
        token.write_text(TELEGRAM_TOKEN + "\n")
        assert app.reload(load_config(config))
        await state("connected")
        tg.push_message(TG_CUSTOMER, "Halo, pesanan saya belum sampai")
        [welcome] = await wait_sent(tg, TG_CUSTOMER, 1)
    assert welcome.chat_id == TG_CUSTOMER
