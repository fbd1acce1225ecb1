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
from oauthkit import oauth_servers, save_sign_in, tokens_for

from responder.errors import SignInRefused
from responder.oauth.sasl import imap_xoauth2, smtp_xoauth2


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
