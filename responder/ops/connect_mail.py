"""`check --connect` for an email channel: IMAP sign-in and each watched folder opened
read-only, then SMTP sign-in without sending anything."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Iterator
from typing import Any

import aioimaplib
import aiosmtplib

from responder.channels.diagnose import (
    Diagnosed,
    Diagnosis,
    Endpoint,
    folder_missing,
    oauth_refused,
)
from responder.channels.email.imap_client import IMAP4
from responder.channels.email.imap_connection import passing_refusal
from responder.channels.email.imap_folders import (
    find_sent,
    list_folders,
    meant,
    parse_list,
    sent_not_found,
    wire,
)
from responder.config import EmailChannelConfig
from responder.config.presets import sent_name
from responder.errors import ChannelError, SignInExpired, SignInRefused
from responder.ops.connect_base import Line, NotCheckable, SignIn, SignIns, failed, passed

_SECURITY = {"tls": "over TLS", "starttls": "with STARTTLS", "none": "without encryption"}


def _endpoint(channel: EmailChannelConfig, service: str, config_file: str) -> Endpoint:
    section = channel.imap if service == "imap" else channel.smtp
    return Endpoint(
        channel.name,
        "imap" if service == "imap" else "smtp",
        section.host,
        section.port,
        section.username or "",
        service,
        channel.provider,
        config_file,
        channel.password_key("imap" if service == "imap" else "smtp"),
    )


async def check_imap(
    channel: EmailChannelConfig, sign_ins: SignIns, config_file: str
) -> list[Line]:
    """Sign in, EXAMINE (read-only, RFC 3501 6.3.2) imap.folder, sent_folder and
    done_folder; for a missing one, LIST the folders and name the one meant."""
    cfg = channel.imap
    at = _endpoint(channel, "imap", config_file)
    who = f"{channel.name} IMAP"
    if cfg.security == "starttls":
        problem = Diagnosis(
            "responder cannot use STARTTLS for IMAP",
            "set imap.security: tls and imap.port: 993 (or none, on this machine only)",
            "imap.security",
            True,
        )
        return [failed(who, Diagnosed(problem), at)]
    timeout = cfg.timeout.total_seconds()
    lines: list[Line] = []
    client: aioimaplib.IMAP4 | None = None
    try:
        async with asyncio.timeout(timeout):
            credentials = await sign_ins.get(channel, "imap")
            assert credentials is not None  # IMAP always has a username
            context = ssl.create_default_context() if cfg.security == "tls" else None
            client = IMAP4(cfg.host, cfg.port, timeout=timeout, ssl_context=context)
            await client.wait_hello_from_server()
            await _imap_sign_in(client, credentials, at)
            sent, found_by, unfound = cfg.sent_folder, "", None
            if sent == "auto":
                sent, found_by, unfound = await _find_sent(client, channel, at, who)
            watched = {"imap.folder": cfg.folder}
            watched |= {"imap.sent_folder": sent} if sent else {}
            watched |= {"imap.done_folder": cfg.done_folder} if cfg.done_folder else {}
            opened, closed = [], []
            for key, folder in watched.items():
                response = await client.examine(wire(folder))
                if response.result == "OK":
                    opened.append(folder + found_by if key == "imap.sent_folder" else folder)
                else:
                    closed.append((key, folder, _text(response.lines)))
            how = " with OAuth2" if credentials.oauth else ""
            done = f"; {_join(opened)} open" if opened else ""
            lines.append(passed(who, f"signed in to {at.server} as {cfg.username}{how}{done}"))
            lines += [unfound] if unfound else []
            if closed:
                boxes = parse_list((await client.list('""', '"*"')).lines)
                for key, folder, text in closed:
                    if folder in {box.name for box in boxes}:
                        refused = ChannelError(f'the folder "{folder}" cannot be opened: {text}')
                        lines.append(failed(who, refused, at, f"check {key}"))
                        continue
                    marked, similar = meant(folder, key, boxes)
                    missing = folder_missing(at, folder, key, marked_sent=marked, similar=similar)
                    lines.append(failed(who, missing, at))
            with contextlib.suppress(Exception):
                await client.logout()
    except NotCheckable as exc:
        lines.append(Line("skip", who, str(exc)))
    except Exception as exc:
        lines.append(failed(who, exc, at, f"check the imap section of {config_file}"))
    finally:
        if client is not None:
            _drop(client)
    return lines


async def _find_sent(
    client: aioimaplib.IMAP4, channel: EmailChannelConfig, at: Endpoint, who: str
) -> tuple[str | None, str, Line | None]:
    """Where `sent_folder: auto` points, found as the daemon finds it (channels/imap.py),
    and how it was found; or the failed line saying what was looked for."""
    boxes = await list_folders(client, _as_is)
    first = sent_name(channel.provider)
    found = find_sent(boxes, first)
    if found is None:
        return None, "", failed(who, sent_not_found(at, boxes, first), at)
    name, marked = found
    return name, " (auto: marked \\Sent)" if marked else " (auto: by its name)", None


async def _imap_sign_in(client: aioimaplib.IMAP4, credentials: SignIn, at: Endpoint) -> None:
    if credentials.tokens is not None:
        from responder.channels.oauth.sasl import imap_xoauth2

        with _oauth_wording(at):
            await imap_xoauth2(client, credentials.user, credentials.tokens, _as_is, at.server)
        return
    response = await client.login(credentials.user, credentials.password)
    if response.result != "OK":
        text = _text(response.lines)
        if passing_refusal(text):
            raise ChannelError(f"the server cannot sign you in right now ({text})")
        raise SignInRefused(text)


@contextlib.contextmanager
def _oauth_wording(at: Endpoint) -> Iterator[None]:
    """A refused token is not a refused password: say what to do about OAuth2. An expired
    or revoked grant (SignInExpired) already says it."""
    try:
        yield
    except SignInExpired:
        raise
    except SignInRefused as exc:
        # "<server> refused the OAuth2 sign-in for <user>: <the server's words>"
        raise oauth_refused(at, str(exc).partition(": ")[2] or str(exc)) from None


async def _as_is(awaitable: Awaitable[Any]) -> Any:
    return await awaitable  # the check's own deadline bounds every command


async def check_smtp(
    channel: EmailChannelConfig, sign_ins: SignIns, config_file: str
) -> list[Line]:
    """Connect, EHLO, STARTTLS or TLS as configured, AUTH, QUIT: no MAIL, nothing sent."""
    cfg = channel.smtp
    at = _endpoint(channel, "smtp", config_file)
    who = f"{channel.name} SMTP"
    credentials: SignIn | None = None
    client = aiosmtplib.SMTP(
        hostname=cfg.host,
        port=cfg.port,
        use_tls=cfg.security == "tls",
        start_tls=False,  # below, to say so when the server does not offer it
        timeout=cfg.timeout.total_seconds(),
    )
    try:
        async with asyncio.timeout(cfg.timeout.total_seconds()):
            credentials = await sign_ins.get(channel, "smtp")
            await client.connect()
            await client.ehlo()
            if cfg.security == "starttls":
                if not client.supports_extension("starttls"):
                    raise _unoffered(at, "STARTTLS", "smtp.security")
                await client.starttls()
            if credentials is not None:
                await _smtp_sign_in(client, credentials, at)
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
    except NotCheckable as exc:
        return [Line("skip", who, str(exc))]
    except Exception as exc:
        return [failed(who, exc, at, f"check the smtp section of {config_file}")]
    finally:
        client.close()
    security = _SECURITY[cfg.security]
    if credentials is None:
        text = f"connected to {at.server} {security}; no sign-in configured (smtp.username)"
    else:
        how = " with OAuth2" if credentials.oauth else ""
        text = f"signed in to {at.server} as {credentials.user}{how} {security}"
    return [passed(who, text + "; nothing was sent")]


async def _smtp_sign_in(client: aiosmtplib.SMTP, credentials: SignIn, at: Endpoint) -> None:
    if not client.supports_extension("auth"):
        raise _unoffered(at, "sign-in (AUTH)", "smtp.port")
    if credentials.tokens is not None:
        from responder.channels.oauth.sasl import smtp_xoauth2

        with _oauth_wording(at):
            await smtp_xoauth2(client, credentials.user, credentials.tokens, at.server)
        return
    try:
        await client.login(credentials.user, credentials.password)
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise SignInRefused(f"SMTP {exc.code} {exc.message}") from None


def _unoffered(at: Endpoint, what: str, key: str) -> Diagnosed:
    return Diagnosed(
        Diagnosis(
            f"{at.server} does not offer {what} on this connection",
            "use your provider's submission port: 587 with security: starttls, or 465 with "
            "security: tls",
            key,
            True,
        )
    )


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _text(lines: list[Any]) -> str:
    parts = [bytes(x).decode("utf-8", "replace") for x in lines if isinstance(x, bytes | bytearray)]
    return " ".join(parts)[:200] or "no detail"


def _drop(client: aioimaplib.IMAP4) -> None:
    transport: Any = getattr(client.protocol, "transport", None)
    if transport is not None:
        transport.close()
    # The connection attempt itself, when the deadline came first.
    client._client_task.cancel()
