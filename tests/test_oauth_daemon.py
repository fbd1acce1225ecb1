"""The daemon with a mailbox that signs in with OAuth2 (XOAUTH2) end to end: real Dovecot with
its oauth2 passdb, an SMTP server that takes XOAUTH2 only, and the sign-in stand-in."""

from __future__ import annotations

import asyncio
import base64
import logging
import stat
import time
from pathlib import Path

import pytest
from harness import (
    SUPPORT,
    all_sent,
    db_rows,
    has_cursor,
    running,
    wait_connected,
    wait_until,
)
from mailfactory import make_mail
from oauthkit import CHANNEL, oauth_servers, running_signed_in, save_sign_in, write_config

from responder.app.daemon import App
from responder.channels.oauth.grant import read_grant
from responder.config import load_config
from responder.config.oauth import token_file
from responder.testing import Dovecot


async def customer_writes(imap: Dovecot) -> None:
    raw = make_mail(
        sender="Budi Santoso <budi@example.com>",
        subject="Pesanan #1043 belum sampai",
        message_id="<order-1043@example.com>",
    )
    await imap.append_async(SUPPORT, raw)


async def state_is(app: App, state: str, timeout: float = 15.0) -> None:
    async def reached() -> bool:
        return app.health()[CHANNEL] == state

    await wait_until(reached, timeout)


async def test_microsoft_365_mailbox_answers_customers_and_keeps_its_tokens_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="aioimaplib")  # it prints every line it sends
    with oauth_servers(tmp_path, tls=True, rotate_refresh_tokens=True) as servers:
        # The stand-in plays login.microsoftonline.com over HTTPS: trusted as an admin would
        # trust a private CA, through OpenSSL's own setting.
        monkeypatch.setenv("SSL_CERT_FILE", str(servers.auth.ca_file))
        config = write_config(tmp_path, servers, provider="microsoft365")
        # Signed in a while ago: the access token has expired, so the daemon refreshes first.
        signed = save_sign_in(tmp_path / "state", servers.auth, "microsoft", expired=True)
        async with running(config) as app:
            await wait_connected(app)
            await customer_writes(servers.imap)
            [reply] = await servers.smtp.wait_for_async(1, timeout=10)
            await wait_until(lambda: all_sent(config))
        path = token_file(tmp_path / "state", CHANNEL)
        saved, _ = read_grant(path)
    assert reply.login == SUPPORT  # sent after signing in with XOAUTH2
    assert reply.rcpt_tos == ("budi@example.com",)
    assert servers.auth.refreshes == 1  # one refresh served IMAP and SMTP alike
    assert servers.auth.refused == 0  # no expired token was ever offered
    # Microsoft rotates refresh tokens: the new one is what the file keeps.
    assert saved.refresh_token != signed.refresh_token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    blob = f"user={SUPPORT}\x01auth=Bearer {saved.access_token}\x01\x01"
    secrets = [signed.refresh_token, signed.access_token, saved.refresh_token]
    secrets += [saved.access_token, base64.b64encode(blob.encode()).decode()]
    logged = caplog.text
    assert "new OAuth2 access token" in logged and "AUTHENTICATE XOAUTH2" in logged
    for secret in secrets:
        assert secret not in logged


async def test_a_token_expiring_during_idle_is_renewed_when_the_server_drops_the_session(
    tmp_path: Path,
) -> None:
    with oauth_servers(tmp_path, access_lifetime=3) as servers:
        config = write_config(tmp_path, servers)
        async with running_signed_in(config, servers) as app:
            await asyncio.sleep(3.5)  # the token expires while IDLE holds the connection
            assert servers.auth.refreshes == 0
            # Outlook ends such a session ("Session invalidated - AccessTokenExpired").
            await asyncio.to_thread(servers.imap.kick, SUPPORT)
            await customer_writes(servers.imap)
            await servers.smtp.wait_for_async(1, timeout=15)
            assert app.health()[CHANNEL] == "connected"
    assert servers.auth.refreshes >= 1
    assert servers.auth.refused == 0  # renewed before signing in again, not after a refusal


async def test_an_access_token_refused_once_is_renewed_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with oauth_servers(tmp_path) as servers:
        config = write_config(tmp_path, servers)
        async with running_signed_in(config, servers) as app:
            # The provider withdrew the token early (a password change, an admin's action).
            servers.auth.revoke_access_tokens()
            await asyncio.to_thread(servers.imap.kick, SUPPORT)
            await customer_writes(servers.imap)
            [reply] = await servers.smtp.wait_for_async(1, timeout=15)
            assert app.health()[CHANNEL] == "connected"
    assert reply.login == SUPPORT
    assert servers.auth.refused == 1 and servers.auth.refreshes == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_revoked_grant_fails_the_channel_and_says_to_sign_in_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with oauth_servers(tmp_path) as servers:
        config = write_config(tmp_path, servers)
        async with running_signed_in(config, servers) as app:
            servers.auth.revoke_grant()  # removed from the account's connected apps
            started = time.monotonic()
            await asyncio.to_thread(servers.imap.kick, SUPPORT)
            await state_is(app, "failed")
            took = time.monotonic() - started
            await asyncio.sleep(1.5)  # the channel watch says it in the log
            await customer_writes(servers.imap)  # waits while nobody can sign in
            # The admin does as told: `responder login` again, then `systemctl reload`.
            save_sign_in(tmp_path / "state", servers.auth)
            assert app.reload(load_config(config))
            await state_is(app, "connected")
            [reply] = await servers.smtp.wait_for_async(1, timeout=15)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(f"run `responder login -c {config} {CHANNEL}` again" in e for e in errors), errors
    assert any("invalid_grant" in e for e in errors), errors
    assert took < 10
    assert reply.rcpt_tos == ("budi@example.com",)


async def test_an_smtp_server_without_xoauth2_fails_the_channel_while_replies_wait(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def queued() -> bool:
        return bool(await db_rows(config, "replies"))

    # IMAP takes the OAuth2 sign-in; the provider's SMTP server takes passwords only. No cap
    # on tries: the reply waits for the channel however many tries the wait takes (with the
    # usual five, jittered backoff could spend them before the fix below, now and then).
    patient = "{retry_base: 0.2s, retry_cap: 1s}"
    with oauth_servers(tmp_path, smtp_xoauth2=False) as servers:
        config = write_config(tmp_path, servers, delivery=patient)
        save_sign_in(tmp_path / "state", servers.auth)
        async with running(config) as app:
            await wait_until(lambda: has_cursor(config))  # intake is up: new mail is answered
            await customer_writes(servers.imap)
            await wait_until(queued, 15)
            await state_is(app, "failed")
            problem = app.channel_health()[CHANNEL].problem
            await asyncio.sleep(1.5)  # the channel watch says it in the log
            [waiting] = await db_rows(config, "replies")
            # The admin does as told: SMTP signs in with a password, then a reload.
            write_config(tmp_path, servers, smtp_password=True, delivery=patient)
            assert app.reload(load_config(config))
            [received] = await servers.smtp.wait_for_async(1, timeout=15)
            await wait_until(lambda: all_sent(config))
            await state_is(app, "connected")
        [sent] = await db_rows(config, "replies")
    assert problem is not None
    assert problem.problem == "127.0.0.1 does not offer OAuth2 sign-in (XOAUTH2)"
    assert problem.key == "channels[0].smtp.auth"
    assert problem.remedy == (
        "check smtp.host (your provider's SMTP server), or sign in with a password: "
        "smtp.auth: password and smtp.password_file"
    )
    assert waiting["state"] == "pending"  # it waited for the channel: not parked
    assert sent["state"] == "sent" and received.rcpt_tos == ("budi@example.com",)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("does not offer OAuth2 sign-in (XOAUTH2)" in e for e in errors), errors
