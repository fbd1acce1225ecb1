"""A real SMTP server that wants AUTH (aiosmtpd): refuses any password but the one it is given,
as a mail provider does, and counts the sign-ins it was asked for."""

from __future__ import annotations

from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from responder.devservers import RecordingSMTPServer
from responder.devservers._net import free_port
from responder.devservers.smtp import HOST, _Handler


class AuthSMTPServer(RecordingSMTPServer):
    """RecordingSMTPServer with AUTH PLAIN/LOGIN (RFC 4954); a wrong password gets 535."""

    def __init__(self, user: str, password: str) -> None:
        super().__init__()
        self.user, self.password = user, password
        self._sessions: set[int] = set()  # those that tried AUTH, right or wrong

    def start(self) -> None:
        self._port = free_port(HOST)
        controller = Controller(
            _Handler(self),
            hostname=HOST,
            port=self._port,
            server_hostname="smtp.devserver.test",
            authenticator=self._check,
            auth_require_tls=False,  # loopback only; the daemon speaks `security: none` here
            ready_timeout=10.0,
        )
        controller.start()
        self._controller = controller

    @property
    def sign_ins(self) -> int:
        """Connections that tried to sign in (a client may try each mechanism offered)."""
        return len(self._sessions)

    def _check(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        self._sessions.add(id(session))
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (
            self.user,
            self.password,
        )
        return AuthResult(success=ok, handled=False)
