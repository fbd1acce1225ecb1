"""SMTP sending over one kept-alive connection; failures sorted into transient and permanent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import aiosmtplib

from responder.config import SmtpConfig
from responder.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

# A connection idle longer than this is checked with NOOP before use: servers drop idle
# sessions (RFC 5321 section 4.5.3.2.7 allows 5 minutes), and a send on a dead one would fail.
IDLE_CHECK_SECONDS = 30.0


class SmtpSender:
    def __init__(self, channel: str, config: SmtpConfig) -> None:
        self._channel = channel
        self._cfg = config
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        self._lock = asyncio.Lock()

    async def send(self, envelope_from: str, recipients: Sequence[str], message: bytes) -> None:
        async with self._lock:
            client = await self._connection()
            try:
                # sendmail() rather than send(): aiosmtplib.send() refuses the empty reverse-path
                # that RFC 3834 section 3.3 asks automatic responses to use.
                errors, _ = await client.sendmail(envelope_from, list(recipients), message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                raise _classify(exc.recipients[0].code, str(exc)) from exc
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code == 421:  # RFC 5321 4.2.2: the server is closing the connection
                    await self._drop()
                raise _classify(exc.code, exc.message) from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self._drop()
                raise TransientError(
                    f"SMTP connection trouble: {type(exc).__name__}: {exc}"
                ) from exc
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
        cfg = self._cfg
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            use_tls=cfg.security == "tls",
            start_tls=cfg.security == "starttls",
            timeout=cfg.timeout.total_seconds(),
        )
        try:
            await client.connect()
            if cfg.username is not None and cfg.password is not None:
                await client.login(cfg.username, cfg.password.get_secret_value())
        except aiosmtplib.SMTPResponseException as exc:
            # Trouble reaching or logging in to our own server is the channel's, not the
            # reply's: retried with backoff (and logged each time) rather than parking every
            # reply at once; a reply is parked only after max_attempts.
            what = (
                "login refused"
                if isinstance(exc, aiosmtplib.SMTPAuthenticationError)
                else "refused"
            )
            raise TransientError(f"SMTP {what} at {cfg.host}:{cfg.port}: {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"cannot reach SMTP server {cfg.host}:{cfg.port}: {exc}") from exc
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
                    await asyncio.wait_for(client.quit(), 2.0)
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()


def _classify(code: int, text: str) -> TransientError | PermanentError:
    """RFC 5321 section 4.2.1: 4yz is a transient failure, 5yz a permanent one."""
    message = f"SMTP {code} {text}".strip()
    return PermanentError(message) if 500 <= code < 600 else TransientError(message)
