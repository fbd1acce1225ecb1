"""Signing in without getting locked out (issue 14): a refused IMAP password is tried once per
slow period for all of a mailbox's folders, a refused SMTP password shows at start, and a
late refusal of an old password does not fail the settings that replaced it."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path

import aiohttp
import pytest
from harness import (
    SUPPORT,
    running,
    wait_connected,
    wait_until,
    write_config,
)
from mailfactory import make_mail
from relay import Relay

from responder.app.lifecycle import status as systemd_status
from responder.channels import health
from responder.config import load_config
from responder.testing import Dovecot, RecordingSMTPServer
from responder.testing._net import free_port

WRONG = "not-the-password-1"
SLOW = 1.0  # health.SLOW_RETRY, five minutes in the daemon


def refused_logins(dovecot: Dovecot) -> int:
    """Failed IMAP logins for the support mailbox, as Dovecot logs them (and fail2ban or
    cPHulk count them): "Disconnected ... (auth failed, 1 attempts in 0 secs): user=<...>"."""
    text = dovecot.log_path.read_text(errors="replace")
    pattern = rf"auth failed, (\d+) attempts [^)]*\): user=<{re.escape(SUPPORT)}>"
    return sum(int(n) for n in re.findall(pattern, text))


async def test_a_refused_imap_password_is_tried_once_per_period_for_all_folders(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "SLOW_RETRY", SLOW)
    for folder in ("Sent", "Done"):
        dovecot.create(SUPPORT, folder)
    staff = ", sent_folder: Sent, done_folder: Done"
    config = write_config(tmp_path, dovecot, smtp_server, imap_extra=staff)
    (tmp_path / "imap-password").write_text(WRONG + "\n")
    async with running(config) as app:

        async def failed() -> bool:
            return app.health()["support-mail"] == "failed" and refused_logins(dovecot) > 0

        await wait_until(failed, timeout=15)
        began, before = time.monotonic(), refused_logins(dovecot)
        await asyncio.sleep(3.5 * SLOW)
        tried = refused_logins(dovecot) - before
        periods = (time.monotonic() - began) / SLOW
        # Three connections (INBOX, Sent, Done), one sign-in per period between them.
        assert 2 <= tried <= periods + 1, (tried, periods)
        shown = app.channel_health()["support-mail"]
        assert shown.problem is not None and not shown.partial
        assert shown.problem.key == "channels[0].imap.password_file"

        # The admin sets the password at the provider to what the file says: the connection
        # trying gets in at its next try, and the two waiting for it go at once.
        dovecot.users[SUPPORT.lower()] = WRONG
        await asyncio.to_thread(dovecot.restart)
        fixed = time.monotonic()
        await wait_connected(app, timeout=15)
        assert time.monotonic() - fixed < 2 * SLOW + 1.0
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))
        [received] = await smtp_server.wait_for_async(1, timeout=15)
    assert received.rcpt_tos == ("budi@example.com",)


async def test_a_wrong_smtp_password_shows_at_start_without_a_reply(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    http = free_port()
    with RecordingSMTPServer(login=(SUPPORT, "smtp-right")) as smtp:
        password = tmp_path / "smtp-password"
        password.write_text("smtp-wrong\n")
        sign_in = f", username: {SUPPORT}, password_file: {password}"
        extra = f"http: {{host: 127.0.0.1, port: {http}}}"
        config = write_config(tmp_path, dovecot, smtp, extra=extra, smtp_extra=sign_in)
        async with running(config) as app:

            async def failed() -> bool:
                return app.health()["support-mail"] == "failed"

            await wait_until(failed, timeout=15)
            assert await systemd_status(app) == (
                f"support-mail FAILING: the password for {SUPPORT} was refused by 127.0.0.1; "
                "0 of 1 channel(s) connected, 0 open tickets"
                "; leases held: imap:support-mail, scheduler"
            )
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{http}/healthz") as response,
            ):
                code, body = response.status, await response.text()
            await asyncio.sleep(1.0)  # no second try of the refused password meanwhile
            tries = smtp.sign_ins
    assert code == 503
    assert body.strip().endswith(
        f"the password for {SUPPORT} was refused by 127.0.0.1 "
        "(channels[0].smtp.password_file): check smtp.password_file and smtp.username"
    )
    assert tries == 1


async def test_an_smtp_server_out_of_reach_at_start_is_reconnecting_not_failed(
    tmp_path: Path, dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    later = RecordingSMTPServer(port=port)  # nothing listens on its port yet
    config = write_config(tmp_path, dovecot, later)
    states: set[str] = set()
    try:
        async with running(config) as app:

            async def reconnecting() -> bool:
                states.add(app.health()["support-mail"])
                return "reconnecting" in states and "smtp.port" in caplog.text

            await wait_until(reconnecting, timeout=15, interval=0.01)
            later.start()  # the server comes up: the channel sees it without a reply

            async def connected() -> bool:
                states.add(app.health()["support-mail"])
                return app.health()["support-mail"] == "connected"

            await wait_until(connected, timeout=15, interval=0.01)
    finally:
        later.stop()
    assert "failed" not in states
    [warning] = [r.getMessage() for r in caplog.records if "trying again in" in r.getMessage()]
    assert warning.startswith(
        f"channel support-mail: nothing answers on 127.0.0.1:{port} (connection refused): "
        "check smtp.port, and that the server runs; trying again in "
    )
    assert "channel support-mail: the SMTP server answers again" in caplog.text


async def test_a_late_refusal_of_the_old_smtp_password_does_not_fail_the_new_one(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    with RecordingSMTPServer(login=(SUPPORT, "old-password")) as smtp:
        relay = Relay(smtp.port)
        await relay.open()
        password = tmp_path / "smtp-password"
        password.write_text("old-password\n")
        sign_in = f", username: {SUPPORT}, password_file: {password}"
        config = write_config(tmp_path, dovecot, smtp, smtp_extra=sign_in)
        text = config.read_text().replace(f"port: {smtp.port}", f"port: {relay.port}")
        # A reply's own retries far apart: only the server answering lets it go sooner.
        text = text.replace("retry_base: 0.2s, retry_cap: 1s", "retry_base: 60s, retry_cap: 60s")
        config.write_text(text)
        states: set[str] = set()
        try:
            async with running(config) as app:
                await wait_connected(app)
                # The password is changed at the provider while a reply's connection opens.
                smtp.login = (SUPPORT, "new-password")
                relay.stall = 1.5
                await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))

                async def opening() -> bool:
                    return relay.held > 0

                await wait_until(opening, timeout=15)
                relay.stall = 0.0
                # The admin writes the new password and reloads; the old one is refused
                # after that, on the connection opened before.
                password.write_text("new-password\n")
                assert app.reload(load_config(config))

                async def answered() -> bool:
                    states.add(app.health()["support-mail"])
                    return bool(smtp.received) and app.health()["support-mail"] == "connected"

                await wait_until(answered, timeout=15, interval=0.01)
        finally:
            await relay.close()
    assert "failed" not in states
    [received] = smtp.received
    assert (received.rcpt_tos, received.login) == (("budi@example.com",), SUPPORT)
