"""A folder staff move finished conversations to: each message arriving there is a "done" mark.

Its own connection (IDLE watches one selected folder, RFC 2177) and its own cursor
(UIDVALIDITY, last UID) under "<channel>/<folder>". Only the Message-ID header is fetched: the
message itself was delivered from the inbox already.
"""

from __future__ import annotations

import logging

import aioimaplib

from responder.channels.email.imap_client import response_text
from responder.channels.email.imap_fetch import Selected, header_records, uid_ranges
from responder.channels.email.imap_session import ImapSession
from responder.domain.models import Cursor, MailMark
from responder.errors import TransientError

log = logging.getLogger(__name__)


class DoneFolderWatch(ImapSession):
    @property
    def key(self) -> str:
        return f"{self._channel}/{self._folder}"

    async def _prepare(self, client: aioimaplib.IMAP4, selected: Selected) -> None:
        assert selected.validity is not None
        stored = await self._inbox.cursor(self.key)
        if stored is not None and stored[0].validity == selected.validity:
            return
        # First run, or new UID numbering (RFC 3501 2.3.1.1): what lies in the folder now was
        # put there before; a move keeps the message's arrival date, so there is no window to
        # re-read by date. Start from now.
        everything = [] if selected.uidnext else await self.search(client, "ALL")
        top = (selected.uidnext - 1) if selected.uidnext else max(everything, default=0)
        log.info(
            "channel %s: %s; marks start after UID %d",
            self._label,
            "first run" if stored is None else "UIDVALIDITY changed",
            top,
        )
        await self._inbox.mark(self._channel, [], self.key, Cursor(selected.validity, top))

    async def _sync(self, client: aioimaplib.IMAP4, validity: int) -> None:
        """Mark every message past the cursor; search again until nothing is new (an EXISTS
        inside a command's response is not repeated in IDLE)."""
        while True:
            uids = await self.new_uids(client, self.key)
            if not uids:
                return
            chunk = self._cfg.fetch_chunk
            for start in range(0, len(uids), chunk):
                wanted = uids[start : start + chunk]
                response = await self.call(
                    client.uid(
                        "fetch", uid_ranges(wanted), "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
                    ),
                    deadline=False,
                )
                if response.result != "OK":
                    raise TransientError(f"UID FETCH failed: {response_text(response.lines)}")
                now = self._clock()
                marks = [
                    MailMark(r.message_id, "done", now)
                    for r in header_records(response.lines)
                    if r.message_id is not None
                ]
                # A message gone between SEARCH and FETCH (moved on again) has nothing to say.
                await self._inbox.mark(self._channel, marks, self.key, Cursor(validity, wanted[-1]))
