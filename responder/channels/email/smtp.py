"""SMTP sending over one kept-alive connection; failures sorted into transient and permanent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aiosmtplib

from responder.config import SmtpConfig
from responder.errors import ChannelDown, PermanentError, SignInRefused, TransientError
from responder.wire.email.addresses import ascii_address

if TYPE_CHECKING:
    from responder.channels.oauth.tokens import TokenSource

log = logging.getLogger(__name__)

# A connection idle longer than this is checked with NOOP before use: servers drop idle
# sessions (RFC 5321 section 4.5.3.2.7 allows 5 minutes), and a send on a dead one would fail.
IDLE_CHECK_SECONDS = 30.0


class SmtpSender:
    def __init__(self, channel: str, config: SmtpConfig, tokens: TokenSource | None = None) -> None:
        if config.password_missing:  # only a config loaded for `check` or `simulate`
            message = f"{channel}: the SMTP password was not read (smtp.password_file or _env)"
            raise PermanentError(message)
        self._channel = channel
        self._cfg = config
        self._tokens = tokens  # smtp.auth: oauth2
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        self._lock = asyncio.Lock()

    async def send(self, envelope_from: str, recipients: Sequence[str], message: bytes) -> None:
        async with self._lock:
            client = await self._connection()
            try:
                if client.is_ehlo_or_helo_needed and not _plain(envelope_from, recipients, message):
                    await client.noop()  # greets with EHLO first: its extensions decide below
                sender, rcpts, options = _envelope(client, envelope_from, recipients, message)
                # sendmail() rather than send(): aiosmtplib.send() refuses the empty reverse-path
                # that RFC 3834 section 3.3 asks automatic responses to use.
                errors, _ = await client.sendmail(sender, rcpts, message, mail_options=options)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                raise _classify(exc.recipients[0].code, str(exc)) from exc
            except ValueError as exc:  # aiosmtplib: an address no SMTP command line can hold
                raise PermanentError(f"address not sendable: {exc}") from exc
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code == 421:  # RFC 5321 4.2.2: the server is closing the connection
                    await self._drop()
                raise _classify(exc.code, exc.message) from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self._drop()
                raise ChannelDown(f"SMTP connection trouble: {type(exc).__name__}: {exc}") from exc
            self._last_used = time.monotonic()
            if errors:
                code, text = next(iter(errors.values()))
                raise _classify(code, text)

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            if time.monotonic() - self._last_used < IDLE_CHECK_SECONDS:
                return self._client
            try:
                await self._client.noop()
                return self._client
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                await self._drop()
        client = await _open(self._cfg, self._tokens)
        self._client = client
        self._last_used = time.monotonic()
        return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    async def close(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                try:
                    async with asyncio.timeout(2.0):
                        await client.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()


def _plain(envelope_from: str, recipients: Sequence[str], message: bytes) -> bool:
    """Whether the mail is all ASCII, as any SMTP server takes it (RFC 5321)."""
    return envelope_from.isascii() and all(r.isascii() for r in recipients) and message.isascii()


def _envelope(
    client: aiosmtplib.SMTP, envelope_from: str, recipients: Sequence[str], message: bytes
) -> tuple[str, list[str], list[str]]:
    """Reverse-path, forward-paths and MAIL options for this server (RFC 6531).

    Addresses are stored in their Unicode form. A server offering SMTPUTF8 takes them as they
    are, with the SMTPUTF8 option (section 3.4); to one without it, IDN domains go as A-labels
    (RFC 5891 section 4.4), and a UTF-8 local part or UTF-8 header (RFC 6532) cannot go at all.
    """
    if _plain(envelope_from, recipients, message):
        return envelope_from, list(recipients), []
    if client.supports_extension("smtputf8"):
        return envelope_from, list(recipients), ["SMTPUTF8"]
    paths = []
    for address in (envelope_from, *recipients):
        path = ascii_address(address)
        if path is None:
            raise PermanentError(
                f"the address {address} has a non-ASCII local part and the SMTP server "
                "does not offer SMTPUTF8 (RFC 6531)"
            )
        paths.append(path)
    if not message.isascii():
        raise PermanentError(
            "the reply has UTF-8 headers (RFC 6532) and the SMTP server does not offer "
            "SMTPUTF8 (RFC 6531)"
        )
    return paths[0], paths[1:], []


def _classify(code: int, text: str) -> TransientError | PermanentError:
    """RFC 5321 section 4.2.1: 4yz is a transient failure, 5yz a permanent one."""
    message = f"SMTP {code} {text}".strip()
    if code == 421:  # RFC 5321 section 3.8: the service is not available (shutting down)
        return ChannelDown(message)
    return PermanentError(message) if 500 <= code < 600 else TransientError(message)


# RFC 4954 section 6: 535 the credentials are invalid; 534 the mechanism is too weak, which
# Gmail also answers (5.7.9) for an account password where an app password is needed. Only
# the admin can fix either; 454 (a temporary failure) passes.
_SIGN_IN_REFUSED = frozenset({534, 535})


async def _open(cfg: SmtpConfig, tokens: TokenSource | None = None) -> aiosmtplib.SMTP:
    """A connection to the server, logged in if configured; closed again if that fails."""
    client = aiosmtplib.SMTP(
        hostname=cfg.host,
        port=cfg.port,
        use_tls=cfg.security == "tls",
        start_tls=cfg.security == "starttls",
        timeout=cfg.timeout.total_seconds(),
    )
    try:
        await client.connect()
        if cfg.auth == "oauth2":
            # Loaded here: only a channel that signs in with OAuth2 pays for it.
            from responder.channels.oauth.sasl import smtp_xoauth2

            await smtp_xoauth2(client, cfg.username or "", tokens, cfg.host)
        elif cfg.username is not None and cfg.password is not None:
            await client.login(cfg.username, cfg.password.get_secret_value())
    except aiosmtplib.SMTPResponseException as exc:
        client.close()
        # Trouble reaching or logging in to our own server is the channel's, not the
        # reply's: the replies wait for the server (the outbox probes it) rather than
        # being parked all at once.
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError) and exc.code in _SIGN_IN_REFUSED:
            raise SignInRefused(f"SMTP login refused at {cfg.host}:{cfg.port}: {exc.code}") from exc
        what = "login refused" if isinstance(exc, aiosmtplib.SMTPAuthenticationError) else "refused"
        raise ChannelDown(f"SMTP {what} at {cfg.host}:{cfg.port}: {exc.code}") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        client.close()
        raise ChannelDown(f"cannot reach SMTP server {cfg.host}:{cfg.port}: {exc}") from exc
    except BaseException:
        client.close()  # cancelled mid-connect: no half-open connection left behind
        raise
    return client


async def probe(cfg: SmtpConfig, tokens: TokenSource | None = None) -> None:
    """Whether the server takes mail again, on a connection of its own: connect, EHLO
    (STARTTLS and login as configured), QUIT. Raises ChannelDown if not."""
    client = await _open(cfg, tokens)
    try:
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise ChannelDown(f"SMTP server {cfg.host}:{cfg.port}: {exc}") from exc
    finally:
        client.close()
