"""One IMAP sign-in at a time for a channel whose password is refused or not yet tried."""

from __future__ import annotations

import asyncio

from responder.errors import SignInRefused


class SignInGate:
    """Shared by a channel's IMAP connections (INBOX, Sent, Done: IDLE watches one folder per
    connection, RFC 2177). Until a sign-in has worked, and again once one is refused, only
    one of them signs in; the others wait here and go the moment it gets in. On their own,
    each would try the refused password every few minutes: three failed logins where one
    would do, which is how fail2ban or cPanel's cPHulk come to block the address, and go on
    blocking it after the password is fixed. A channel with new settings gets a new gate."""

    def __init__(self) -> None:
        self._works = False  # a sign-in worked, and none was refused since
        self._news = asyncio.Event()  # set, and replaced, at each sign-in's outcome
        self._trying: object | None = None  # the one connection that may sign in meanwhile
        self.refusal: SignInRefused | None = None  # the last refusal, while it holds

    def may_try(self, who: object) -> bool:
        """Whether `who` may sign in now; the first to ask, while it is closed, may."""
        if self._works:
            return True
        if self._trying is None:
            self._trying = who
        return self._trying is who

    async def outcome(self) -> None:
        """Returns at the next sign-in's outcome: it worked, or it was refused."""
        await self._news.wait()

    def passed(self) -> None:
        """A sign-in worked: everyone may sign in again, at once."""
        self._trying, self.refusal = None, None
        self._works = True
        self._tell()

    def refused(self, who: object, exc: SignInRefused) -> None:
        """`who`'s sign-in was refused: from now on only one connection tries, `who` unless
        another already does."""
        self._works = False
        self.refusal = exc
        self._trying = self._trying or who
        self._tell()

    def _tell(self) -> None:
        self._news.set()
        self._news = asyncio.Event()
