"""IMAP access to a development Dovecot's mailboxes with the stdlib client, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import re
from collections.abc import Iterator, Sequence
from datetime import datetime

from responder.channels.email.imap_folders import wire
from responder.testing._net import ServerContext
from responder.testing.dovecot_conf import HOST


class DovecotError(RuntimeError):
    """Dovecot is missing, would not start, or refused a helper's request."""


def _check(result: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    typ, data = result
    if typ != "OK":
        raise DovecotError(f"{what} failed: {typ} {data!r}")
    return data


def _first_bytes(data: Sequence[object]) -> bytes:
    for item in data:
        if isinstance(item, bytes):
            return item
        if isinstance(item, tuple) and item and isinstance(item[0], bytes):
            return item[0]
    return b""


class MailboxHelpers(ServerContext):
    """APPEND and inspect mail as a user, one short imaplib session per call."""

    users: dict[str, str]

    @contextlib.contextmanager
    def _session(self, user: str) -> Iterator[imaplib.IMAP4]:
        password = self.users.get(user.lower())
        if password is None:
            raise KeyError(f"{user!r} is not a user of this Dovecot")
        conn = imaplib.IMAP4(HOST, self.port, timeout=10)
        try:
            conn.login(user, password)
            yield conn
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()
            # logout() leaves the socket open when the server has stopped answering.
            conn.file.close()
            conn.sock.close()

    def append(
        self,
        user: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: str = "",
        when: datetime | None = None,
    ) -> int:
        """APPEND a message (creating the folder if missing) with INTERNALDATE `when` (default:
        now); returns its UID."""
        with self._session(user) as conn:
            if folder.upper() != "INBOX":
                typ, created = conn.create(wire(folder))
                if typ != "OK" and b"ALREADYEXISTS" not in _first_bytes(created):
                    raise DovecotError(f"CREATE {folder} failed: {created!r}")
            date = imaplib.Time2Internaldate(when) if when is not None else None
            data = _check(conn.append(wire(folder), flags or None, date, raw), "APPEND")
        match = re.search(rb"APPENDUID \d+ (\d+)", _first_bytes(data))
        if match is None:
            raise DovecotError(f"APPEND gave no APPENDUID: {data!r}")
        return int(match.group(1))

    async def append_async(
        self,
        user: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: str = "",
        when: datetime | None = None,
    ) -> int:
        return await asyncio.to_thread(self.append, user, raw, folder, flags, when)

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self._session(user) as conn:
            data = _check(conn.status(wire(folder), "(UIDVALIDITY)"), "STATUS")
        match = re.search(rb"UIDVALIDITY (\d+)", _first_bytes(data))
        if match is None:
            raise DovecotError(f"STATUS gave no UIDVALIDITY: {data!r}")
        return int(match.group(1))

    def list_uids(self, user: str, folder: str = "INBOX") -> list[int]:
        with self._session(user) as conn:
            # EXAMINE, not SELECT: looking must not change what the client under test sees.
            _check(conn.select(wire(folder), readonly=True), "EXAMINE")
            data = _check(conn.uid("SEARCH", "ALL"), "UID SEARCH")
        return [int(uid) for uid in _first_bytes(data).split()]

    def fetch_flags(self, user: str, uid: int, folder: str = "INBOX") -> set[str]:
        with self._session(user) as conn:
            _check(conn.select(wire(folder), readonly=True), "EXAMINE")
            data = _check(conn.uid("FETCH", str(uid), "(FLAGS)"), "UID FETCH")
        line = _first_bytes(data)
        if not line:
            raise DovecotError(f"no message with UID {uid} in {folder}")
        return {flag.decode() for flag in imaplib.ParseFlags(line)}

    def fetch_raw(self, user: str, uid: int, folder: str = "INBOX") -> bytes:
        """The message's full bytes, fetched with BODY.PEEK so \\Seen stays untouched."""
        with self._session(user) as conn:
            _check(conn.select(wire(folder), readonly=True), "EXAMINE")
            data = _check(conn.uid("FETCH", str(uid), "(BODY.PEEK[])"), "UID FETCH")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        raise DovecotError(f"no message with UID {uid} in {folder}")

    # -- acting as a staff member's mail client ---------------------------------------------

    def create(self, user: str, folder: str) -> None:
        """CREATE a folder; one that exists already is fine."""
        with self._session(user) as conn:
            typ, created = conn.create(wire(folder))
        if typ != "OK" and b"ALREADYEXISTS" not in _first_bytes(created):
            raise DovecotError(f"CREATE {folder} failed: {created!r}")

    def set_flags(self, user: str, uid: int, flags: str, folder: str = "INBOX") -> None:
        """Add flags, e.g. "\\\\Answered" or "$Done", as another client would (UID STORE)."""
        with self._session(user) as conn:
            _check(conn.select(wire(folder)), "SELECT")
            _check(conn.uid("STORE", str(uid), "+FLAGS", f"({flags})"), "UID STORE")

    def move(self, user: str, uid: int, dest: str, folder: str = "INBOX") -> None:
        """Move a message to another folder (RFC 6851 UID MOVE), as a staff client does."""
        with self._session(user) as conn:
            _check(conn.select(wire(folder)), "SELECT")
            _check(conn.uid("MOVE", str(uid), wire(dest)), "UID MOVE")
