"""XOAUTH2 sign-in for IMAP and SMTP, renewing a refused access token once.

The SASL exchange (developers.google.com/gmail/imap/xoauth2-protocol; Microsoft's "Authenticate
an IMAP, POP or SMTP connection using OAuth"): the client sends
base64("user=" + user + "^Aauth=Bearer " + token + "^A^A"); a refused token gets a challenge
holding a JSON error, which the client answers with an empty line to get the final NO / 535.
"""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Awaitable, Callable
from typing import Any

import aioimaplib
import aiosmtplib

from responder.channels.diagnose import Diagnosed, Diagnosis
from responder.channels.oauth.tokens import TokenSource
from responder.errors import ChannelDown, TokenRefused, TransientError

Call = Callable[[Awaitable[Any]], Awaitable[Any]]

# RFC 5530 codes of a refusal that is not about the token: try again later as it is.
_PASSING_IMAP = frozenset({"UNAVAILABLE", "LIMIT", "INUSE", "SERVERBUG"})


class CannotTry(Diagnosed, ChannelDown):
    """XOAUTH2 cannot even be tried (the server does not offer it): only the admin can fix
    that (the diagnosis is permanent, so the channel is failed), yet the replies waiting are
    not at fault, so they wait for the channel (ChannelDown) rather than being parked."""


def _unoffered(server: str, section: str) -> CannotTry:
    problem = f"{server} does not offer OAuth2 sign-in (XOAUTH2)"
    remedy = (
        f"check {section}.host (your provider's {section.upper()} server), or sign in with a "
        f"password: {section}.auth: password and {section}.password_file"
    )
    return CannotTry(Diagnosis(problem, remedy, f"{section}.auth", True))


def _blob(user: str, token: str) -> str:
    return b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode("ascii")


class _Authenticate(aioimaplib.Command):  # type: ignore[misc]
    """AUTHENTICATE XOAUTH2, the response sent when the server asks for it ("+ ", RFC 3501
    6.2.2) rather than on the command line (SASL-IR): aioimaplib prints command lines in its
    debug log, and its own xoauth2() leaves a refusal's error challenge unanswered (the server
    then waits until the command times out). This one answers the challenge with an empty
    line, and the token goes straight to the socket."""

    def __init__(self, protocol: Any, blob: str) -> None:
        super().__init__("AUTHENTICATE", protocol.new_tag(), "XOAUTH2", loop=protocol.loop)
        self._protocol = protocol
        self._blob = blob
        self._answered = 0

    def flush(self) -> None:
        # aioimaplib calls this whenever a chunk of the server's data has been read: answer
        # each continuation not answered yet, the first with the blob, later ones (the error
        # challenge) with an empty line.
        asked = sum(1 for x in self._resp_lines if isinstance(x, bytes) and x.startswith(b"+"))
        while self._answered < asked:
            answer = self._blob if self._answered == 0 else ""
            self._protocol.transport.write(answer.encode("ascii") + b"\r\n")
            self._answered += 1


async def _authenticate(client: aioimaplib.IMAP4, user: str, token: str) -> Any:
    protocol = client.protocol
    command = _Authenticate(protocol, _blob(user, token))
    # What aioimaplib's @change_state does around a command that changes the state.
    async with protocol.state_condition:
        response = await protocol.execute(command)
        if response.result == "OK":
            protocol.state = aioimaplib.AUTH
            for line in response.lines:
                if isinstance(line, bytes) and b"CAPABILITY" in line:
                    words = line.decode("ascii", "replace").replace("CAPABILITY", " ").split()
                    protocol.capabilities |= {w.strip("[]") for w in words}
        protocol.state_condition.notify_all()
    return response


async def imap_xoauth2(
    client: aioimaplib.IMAP4, user: str, tokens: TokenSource | None, call: Call, server: str
) -> None:
    """Sign in; a refused token is renewed and tried once more. Raises TokenRefused when the
    server refuses the renewed token too, SignInExpired when the saved sign-in cannot be used,
    CannotTry when the server does not offer XOAUTH2."""
    tokens = _wired(tokens)
    if not client.has_capability("AUTH=XOAUTH2"):
        raise _unoffered(server, "imap")
    token = await tokens.token()
    for attempt in (1, 2):
        response = await call(_authenticate(client, user, token))
        if response.result == "OK":
            return
        text = _text(response.lines)
        code = re.search(r"\[([A-Z-]+)", text)
        if code is not None and code.group(1) in _PASSING_IMAP:
            raise TransientError(f"XOAUTH2 sign-in for {user} refused for now: {text}")
        if attempt == 1:
            token = await tokens.renew(token)
    raise TokenRefused(f"{server} refused the OAuth2 sign-in for {user}: {text}")


async def smtp_xoauth2(
    client: aiosmtplib.SMTP, user: str, tokens: TokenSource | None, server: str
) -> None:
    """Like imap_xoauth2, over SMTP AUTH (RFC 4954): 535 is a refusal, 454 a passing one."""
    tokens = _wired(tokens)
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    if "xoauth2" not in client.server_auth_methods:
        raise _unoffered(server, "smtp")
    token = await tokens.token()
    for attempt in (1, 2):
        try:
            await client.auth_xoauth2(user, token)
            return
        except aiosmtplib.SMTPAuthenticationError as exc:
            if 400 <= exc.code < 500:  # 454 4.7.0: a temporary authentication failure
                raise ChannelDown(f"SMTP sign-in for {user} refused for now: {exc.code}") from exc
            refusal = f"{exc.code} {exc.message}"
        if attempt == 1:
            token = await tokens.renew(token)
    raise TokenRefused(f"{server} refused the OAuth2 sign-in for {user}: {refusal}")


def _wired(tokens: TokenSource | None) -> TokenSource:
    if tokens is None:  # a composition root that built the channel without token sources
        problem = "auth: oauth2, but responder set up no OAuth2 sign-in for this channel"
        remedy = "this is a fault in responder, not in your settings: please report it"
        raise CannotTry(Diagnosis(problem, remedy, "", True))
    return tokens


def _text(lines: list[Any]) -> str:
    """The tagged answer, without the base64 error challenge (the last words say it all)."""
    parts = [
        bytes(x).decode("utf-8", "replace")
        for x in lines
        if isinstance(x, bytes | bytearray) and not bytes(x).startswith(b"+")
    ]
    return " ".join(parts)[:300] or "no detail"
