"""Staff marks on the watched folder's messages: \\Answered and the done keyword, by MODSEQ.

A staff mail client answering a customer sets \\Answered (RFC 3501 section 2.3.2); marking a
conversation finished sets the configured keyword. Such changes must be seen even when they
happened while we were disconnected, without re-reading every message's flags each time:
CONDSTORE (RFC 7162) gives every flag change a mod-sequence, so one number (the highest
MODSEQ seen) is a durable cursor and `SEARCH MODSEQ n` lists exactly what changed since.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import aioimaplib

from responder.channels.base import Inbox
from responder.channels.email.imap_client import response_text
from responder.channels.email.imap_fetch import (
    Selected,
    header_records,
    search_modseq,
    search_uids,
    uid_ranges,
)
from responder.channels.email.imap_session import RESYNC_MARGIN, ImapSession
from responder.config import ImapConfig
from responder.domain.models import Cursor, MailMark
from responder.errors import TransientError

log = logging.getLogger(__name__)

# While IDLE, another client's flag change arrives as `n FETCH (FLAGS ...)`, and a keyword
# new to the folder as a folder-wide `FLAGS (...)` first (RFC 3501 7.2.6, 7.4.2).
_FLAG_PUSH = re.compile(rb"^(\d+ FETCH|FLAGS)\b")
# RFC 3501 flag-keyword = atom: no spaces, parentheses, braces, quotes, %, *, ] or \.
_ATOM = re.compile(r"[^\s(){}\"%*\]\\\x00-\x1f\x7f]+")


class FlagWatch:
    """Part of the main folder's session; its cursor is (UIDVALIDITY, highest MODSEQ seen)."""

    def __init__(
        self,
        session: ImapSession,
        channel: str,
        config: ImapConfig,
        inbox: Inbox,
        folder: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._session = session
        self._channel = channel
        self._inbox = inbox
        self._clock = clock
        self._key = f"{channel}/{folder}#flags"
        self._fetch_chunk = config.fetch_chunk
        # (flag as the server reports it, casefolded; mark kind; search criteria)
        self._kinds: list[tuple[str, str, list[str]]] = []
        if config.watch_answered:
            self._kinds.append(("\\answered", "answered", ["ANSWERED"]))
        keyword = config.done_keyword
        if keyword is not None and _ATOM.fullmatch(keyword) and not keyword.startswith("\\"):
            self._kinds.append((keyword.casefold(), "done", ["KEYWORD", keyword]))
        elif keyword is not None:
            log.warning("channel %s: imap.done_keyword %r is no IMAP keyword", channel, keyword)
        self._settings = " and ".join(
            name
            for name, on in (
                ("imap.watch_answered", config.watch_answered),
                ("imap.done_keyword", bool(keyword)),
            )
            if on
        )
        self._active = False
        self._warned = False

    async def enable(self, client: aioimaplib.IMAP4) -> str:
        """Turn CONDSTORE on before SELECT, so SELECT reports HIGHESTMODSEQ (RFC 7162 3.1);
        returns the SELECT parameter to use when the server has no ENABLE (RFC 5161)."""
        self._active = False
        if not self._kinds:
            return ""
        if not client.has_capability("CONDSTORE"):
            self._warn("the server does not offer CONDSTORE (RFC 7162)")
            return ""
        self._active = True
        if client.has_capability("ENABLE"):
            response = await self._session.call(client.enable("CONDSTORE"))
            if response.result == "OK":
                return ""
        return " (CONDSTORE)"

    def wakes(self, lines: Sequence[bytes]) -> bool:
        return self._active and any(_FLAG_PUSH.match(line) for line in lines)

    async def prepare(self, client: aioimaplib.IMAP4, selected: Selected) -> None:
        """First run: note where the folder stands, without reporting flags set before."""
        if not self._active:
            return
        assert selected.validity is not None
        if selected.highestmodseq is None:
            self._active = False
            self._warn(f"folder {self._session.folder!r} keeps no mod-sequences (NOMODSEQ)")
            return
        stored = await self._inbox.cursor(self._key)
        if stored is not None and stored[0].validity == selected.validity:
            return
        marks: list[MailMark] = []
        if stored is not None:
            # New UID numbering (RFC 3501 2.3.1.1) restarts mod-sequences too: report the
            # marked messages that arrived since shortly before we last looked (the store
            # counts a mark once), then start over from the current HIGHESTMODSEQ.
            day = (stored[1] - RESYNC_MARGIN - timedelta(days=1)).strftime("%d-%b-%Y")
            uids = await self._session.search(client, "SINCE", day, *self._criteria())
            marks = [mark for mark, _ in await self._marks(client, uids, None)]
            log.info(
                "channel %s: UIDVALIDITY of %s changed; re-read %d marked message(s)",
                self._channel,
                self._session.folder,
                len(uids),
            )
        await self._inbox.mark(
            self._channel, marks, self._key, Cursor(selected.validity, selected.highestmodseq)
        )

    async def sync(self, client: aioimaplib.IMAP4, validity: int) -> None:
        """Report marks changed since the cursor; ask again until nothing changed, because a
        flag change reported inside another command's response is not repeated in IDLE."""
        while self._active:
            stored = await self._inbox.cursor(self._key)
            if stored is None:
                return
            since = stored[0].position
            response = await self._session.call(
                client.uid_search("MODSEQ", str(since + 1), charset=None)
            )
            if response.result != "OK":
                raise TransientError(f"UID SEARCH MODSEQ failed: {response_text(response.lines)}")
            if not search_uids(response.lines):
                return
            # The highest MODSEQ among the changed messages (RFC 7162 3.1.5) moves the cursor
            # past every change seen, also those (\Seen, other keywords) we do not report.
            top = search_modseq(response.lines) or 0
            uids = await self._session.search(client, "MODSEQ", str(since + 1), *self._criteria())
            marks = await self._marks(client, uids, since)
            if top <= since:
                top = max([since, *(m[1] for m in marks)])
            await self._inbox.mark(
                self._channel, [m[0] for m in marks], self._key, Cursor(validity, top)
            )
            if top <= since:
                return  # a server that reports no MODSEQ: do not ask the same forever

    def _criteria(self) -> list[str]:
        """SEARCH keys for "has any flag we report" (RFC 3501 6.4.4 prefix OR)."""
        keys = [c for _, _, c in self._kinds]
        out = keys[-1]
        for key in reversed(keys[:-1]):
            out = ["OR", *key, *out]
        return out

    async def _marks(
        self, client: aioimaplib.IMAP4, uids: list[int], since: int | None
    ) -> list[tuple[MailMark, int]]:
        """Fetch flags and Message-ID (no bodies) of `uids`; a mark per reported flag, with
        the message's MODSEQ. Chunked by fetch_chunk, so one response stays a few KB."""
        now = self._clock()
        marks: list[tuple[MailMark, int]] = []
        changed = f" (CHANGEDSINCE {since})" if since is not None else ""
        for start in range(0, len(uids), self._fetch_chunk):
            wanted = uid_ranges(uids[start : start + self._fetch_chunk])
            response = await self._session.call(
                client.uid(
                    "fetch", wanted, f"(UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]){changed}"
                ),
                deadline=False,
            )
            if response.result != "OK":
                raise TransientError(f"UID FETCH of flags failed: {response_text(response.lines)}")
            for record in header_records(response.lines):
                flags = {f.casefold() for f in record.flags}
                for flag, kind, _ in self._kinds:
                    if flag in flags and record.message_id is not None:
                        marks.append((MailMark(record.message_id, kind, now), record.modseq or 0))
        return marks

    def _warn(self, why: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "channel %s: %s set, but %s: staff marks are not watched",
                self._channel,
                self._settings,
                why,
            )
