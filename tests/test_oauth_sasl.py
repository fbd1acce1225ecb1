"""XOAUTH2 sign-in on its own, against real servers: Dovecot's oauth2 passdb and an SMTP server
that takes XOAUTH2. A refused token is renewed once, then the refusal is the admin's to fix;
a refusal never hangs (the error challenge is answered)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aioimaplib
import aiosmtplib
import pytest
from harness import SUPPORT
from oauthkit import CHANNEL, oauth_servers, save_sign_in, tokens_for

from responder.channels.diagnose import Diagnosis, Endpoint, diagnose
from responder.channels.oauth.sasl import imap_xoauth2, smtp_xoauth2
from responder.errors import ChannelDown, SignInRefused
from responder.testing import Dovecot
from responder.testing.oauth import OAuthStandIn

AT = Endpoint(CHANNEL, "imap", "127.0.0.1", 143, SUPPORT, "imap")


async def within(awaitable: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(awaitable, 10)


async def imap_client(port: int) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=port, timeout=10)
    await client.wait_hello_from_server()
    return client


async def test_imap_signs_in_and_renews_a_refused_token_once(tmp_path: Path) -> None:
    with oauth_servers(tmp_path) as servers:
        save_sign_in(tmp_path, servers.auth)
        servers.auth.revoke_access_tokens()
        client = await imap_client(servers.imap.port)
        await imap_xoauth2(client, SUPPORT, tokens_for(tmp_path, servers.auth), within, "imap")
        selected = await client.select("INBOX")
        await client.logout()
    assert selected.result == "OK"
    assert servers.auth.refused == 1 and servers.auth.refreshes == 1


async def test_imap_refusing_the_renewed_token_too_is_a_refused_sign_in(tmp_path: Path) -> None:
    with oauth_servers(tmp_path) as servers:
        servers.auth.user = "owner@toko-contoh.id"  # approved by an account without the mailbox
        save_sign_in(tmp_path, servers.auth)
        client = await imap_client(servers.imap.port)
        started = time.monotonic()
        with pytest.raises(SignInRefused, match="AUTHENTICATIONFAILED"):
            await imap_xoauth2(client, SUPPORT, tokens_for(tmp_path, servers.auth), within, "imap")
        took = time.monotonic() - started
        await client.logout()
    # Two tokens offered, both good, both for the wrong account: renewed once, then given up.
    assert servers.auth.refreshes == 1 and len(servers.auth.introspected) == 2
    assert took < 5  # each refusal's error challenge was answered, not left to time out


async def test_smtp_signs_in_and_renews_a_refused_token_once(tmp_path: Path) -> None:
    with oauth_servers(tmp_path) as servers:
        save_sign_in(tmp_path, servers.auth)
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=servers.smtp.port, timeout=10)
        await client.connect()
        # Without signing in, this server takes no mail (RFC 4954 section 6).
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await client.sendmail(SUPPORT, ["budi@example.com"], b"Subject: hi\r\n\r\nhi\r\n")
        assert refused.value.code == 530
        servers.auth.revoke_access_tokens()
        await smtp_xoauth2(client, SUPPORT, tokens_for(tmp_path, servers.auth), "smtp")
        await client.sendmail(SUPPORT, ["budi@example.com"], b"Subject: hi\r\n\r\nhi\r\n")
        await client.quit()
        [received] = await servers.smtp.wait_for_async(1, timeout=5)
    assert received.login == SUPPORT
    assert servers.auth.refused == 1 and servers.auth.refreshes == 1


async def test_smtp_refusing_the_renewed_token_too_is_a_refused_sign_in(tmp_path: Path) -> None:
    with oauth_servers(tmp_path) as servers:
        servers.auth.user = "owner@toko-contoh.id"
        save_sign_in(tmp_path, servers.auth)
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=servers.smtp.port, timeout=10)
        await client.connect()
        with pytest.raises(SignInRefused, match="535"):
            await smtp_xoauth2(client, SUPPORT, tokens_for(tmp_path, servers.auth), "smtp")
        client.close()
    assert servers.auth.refreshes == 1 and len(servers.auth.introspected) == 2


async def test_an_imap_server_without_xoauth2_is_the_settings_fault_not_the_mails(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    # This Dovecot takes passwords only.
    with OAuthStandIn(user=SUPPORT) as auth:
        save_sign_in(tmp_path, auth)
        client = await imap_client(dovecot.port)
        with pytest.raises(ChannelDown) as caught:
            await imap_xoauth2(client, SUPPORT, tokens_for(tmp_path, auth), within, "127.0.0.1")
        await client.logout()
    said = diagnose(caught.value, AT)
    assert said == Diagnosis(
        "127.0.0.1 does not offer OAuth2 sign-in (XOAUTH2)",
        "check imap.host (your provider's IMAP server), or sign in with a password: "
        "imap.auth: password and imap.password_file",
        "imap.auth",
        True,  # only the admin can fix it: the channel is failed, its mail waits
    )
    assert auth.refreshes == 0 and not auth.introspected  # no token was offered anywhere


async def test_without_token_sources_smtp_mail_waits_rather_than_being_parked(
    tmp_path: Path,
) -> None:
    with oauth_servers(tmp_path) as servers:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=servers.smtp.port, timeout=10)
        await client.connect()
        with pytest.raises(ChannelDown) as caught:
            await smtp_xoauth2(client, SUPPORT, None, "127.0.0.1")
        client.close()
    said = diagnose(caught.value, AT)
    assert said.permanent and "report it" in said.remedy
