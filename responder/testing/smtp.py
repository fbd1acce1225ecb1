"""A real SMTP server (aiosmtpd, own thread) that records every message it accepts."""

from __future__ import annotations

import asyncio
import base64
import email
import email.message
import email.policy
import json
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword

from responder.testing._net import ServerContext, free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message accepted with 250 after DATA."""

    envelope_from: str  # "" for the null sender MAIL FROM:<>
    rcpt_tos: tuple[str, ...]
    data: bytes
    at: float  # time.monotonic(), for latency measurements
    wall: float  # time.time()
    mail_options: tuple[str, ...] = ()  # e.g. ("SMTPUTF8", "BODY=8BITMIME")
    login: str | None = None  # who signed in with AUTH (XOAUTH2), if anyone

    @property
    def message(self) -> email.message.EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        return msg


class _Handler:
    def __init__(self, owner: RecordingSMTPServer) -> None:
        self._owner = owner

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # Decide on arrival so concurrent deliveries consume failures in arrival order.
        failure = self._owner._take_failure()
        delay = self._owner.delay
        if delay > 0:
            await asyncio.sleep(delay)
        if failure is not None:
            return failure
        content = envelope.content
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        self._owner._record(
            Received(
                envelope_from="" if envelope.mail_from in (None, "<>") else envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                at=time.monotonic(),
                wall=time.time(),
                mail_options=tuple(envelope.mail_options),
                login=getattr(session.auth_data, "login", None),
            )
        )
        return "250 2.0.0 OK: queued"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        # aiosmtpd's own auth_required warns (an error under pytest) without TLS; this is
        # the same rule, RFC 4954 section 6: 530 until the client has signed in.
        if self._owner.wants_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    def check_password(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        """AUTH PLAIN and LOGIN: aiosmtpd's authenticator, given the login and password."""
        owner = self._owner
        with owner._cond:
            owner._sessions.add(id(session))
        login = owner.login
        if isinstance(data, LoginPassword) and login is not None:
            user, password = data.login.decode(), data.password.decode()
            if (user, password) == login:
                return AuthResult(success=True, auth_data=SimpleNamespace(login=user))
        return AuthResult(success=False, handled=False)  # 535, as a provider answers

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        """AUTH XOAUTH2 (developers.google.com/gmail/imap/xoauth2-protocol), the bearer token
        checked at the introspection URL as Dovecot's oauth2 passdb checks it."""
        url = self._owner.xoauth2_introspection
        if url is None:
            return AuthResult(success=False, handled=False)
        blob = args[1].encode() if len(args) > 1 else await server.challenge_auth("")
        if blob is MISSING:
            return AuthResult(success=False, handled=True)
        if len(args) > 1:
            try:
                blob = base64.b64decode(blob, validate=True)
            except ValueError:
                return AuthResult(success=False, handled=False, message="501 5.5.2 bad base64")
        parts = bytes(blob).decode("utf-8", "replace").split("\x01")
        fields = dict(part.split("=", 1) for part in parts if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        answer = await asyncio.to_thread(_introspect, url, token)
        who = str(answer.get("username", "")).lower()
        if answer.get("active") is True and who == user.lower():
            return AuthResult(success=True, auth_data=SimpleNamespace(login=user))
        # A refused token gets a JSON error challenge; the client answers it with an empty line.
        error = json.dumps({"status": "401", "schemes": "Bearer", "scope": "mail"})
        await server.challenge_auth(error)
        refused = "535 5.7.8 Username and Password not accepted"  # Gmail's words
        return AuthResult(success=False, handled=False, message=refused)


class RecordingSMTPServer(ServerContext):
    """SMTP on 127.0.0.1 that stores what it gets and can be told to refuse or stall.

    Null senders, SMTPUTF8 and 8BITMIME are accepted, as a real MTA would; `smtputf8=False`
    plays a server without SMTPUTF8, which refuses UTF-8 in commands (RFC 6531 section 3.3).
    A message accepted after a `set_delay` stall is still recorded even if the client gave
    up waiting: exactly the "timed out but delivered" case a sender must survive.
    """

    def __init__(
        self,
        port: int | None = None,
        delay: float = 0.0,
        *,
        smtputf8: bool = True,
        xoauth2_introspection: str | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        """`xoauth2_introspection`: offer AUTH XOAUTH2, and require it before MAIL; each
        bearer token is checked at this RFC 7662 URL. `login` (user, password): offer AUTH
        PLAIN and LOGIN (RFC 4954), and require it before MAIL; any other pair gets 535.
        Without either, no AUTH is offered."""
        self._port = port
        self.xoauth2_introspection = xoauth2_introspection
        self.login = login
        self._sessions: set[int] = set()  # those that tried a password, right or wrong
        self.delay = delay
        self.smtputf8 = smtputf8
        self.received: list[Received] = []
        self._cond = threading.Condition()
        self._failures: deque[str] = deque()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("RecordingSMTPServer is already running")
        if self._port is None:
            self._port = free_port(HOST)
        handler = _Handler(self)
        excluded = [] if self.login else ["LOGIN", "PLAIN"]
        if self.xoauth2_introspection is None:
            excluded.append("XOAUTH2")
        controller = Controller(
            handler,
            hostname=HOST,
            port=self._port,
            server_hostname="smtp.devserver.test",
            enable_SMTPUTF8=self.smtputf8,
            ready_timeout=10.0,
            # AUTH on plain SMTP (loopback only), with the mechanisms asked for; none at all
            # (AUTH wants TLS, which this server lacks) when neither was.
            auth_require_tls=not self.wants_auth,
            auth_exclude_mechanism=excluded,
            authenticator=handler.check_password,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def wants_auth(self) -> bool:
        return self.xoauth2_introspection is not None or self.login is not None

    @property
    def sign_ins(self) -> int:
        """Connections that tried a password (a client may try each mechanism offered)."""
        with self._cond:
            return len(self._sessions)

    def fail_next(self, code: int, count: int = 1, text: str = "Try again later") -> None:
        """Answer the next `count` DATA commands with `code` and record nothing."""
        if not 400 <= code <= 599:
            raise ValueError(f"failure code must be 4xx or 5xx, not {code}")
        with self._cond:
            self._failures.extend([f"{code} {text}"] * count)

    def set_delay(self, seconds: float) -> None:
        """Stall every following DATA reply by `seconds` (0 turns it off)."""
        self.delay = seconds

    def clear(self) -> None:
        """Forget received messages and pending failures."""
        with self._cond:
            self.received.clear()
            self._failures.clear()

    def wait_for(self, n: int, timeout: float) -> list[Received]:
        """Block until at least `n` messages arrived; returns all received so far."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= n, timeout):
                raise TimeoutError(self._shortfall(n, timeout))
            return list(self.received)

    # Same signature as wait_for on purpose, hence the timeout argument.
    async def wait_for_async(self, n: int, timeout: float) -> list[Received]:
        """Like wait_for, polling so the event loop keeps running."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if len(self.received) >= n:
                    return list(self.received)
                if time.monotonic() >= deadline:
                    raise TimeoutError(self._shortfall(n, timeout))
            await asyncio.sleep(0.01)

    def _shortfall(self, n: int, timeout: float) -> str:
        got = [(r.envelope_from, r.rcpt_tos, r.message["Subject"]) for r in self.received]
        return f"wanted {n} messages within {timeout}s, got {len(got)}: {got!r}"

    def _take_failure(self) -> str | None:
        with self._cond:
            return self._failures.popleft() if self._failures else None

    def _record(self, received: Received) -> None:
        with self._cond:
            self.received.append(received)
            self._cond.notify_all()


def _introspect(url: str, token: str) -> dict[str, Any]:
    """RFC 7662 token introspection: POST token=..., JSON back."""
    data = urllib.parse.urlencode({"token": token}).encode()
    with urllib.request.urlopen(url, data=data, timeout=10) as response:
        answer = json.loads(response.read())
    return answer if isinstance(answer, dict) else {}
