"""IMAP intake: new mail in a folder, by a durable (UIDVALIDITY, UID) cursor."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import aioimaplib

from responder.channels.base import Inbox
from responder.channels.email.imap_delivery import ChunkedDelivery
from responder.channels.email.imap_fetch import Selected
from responder.channels.email.imap_flags import FlagWatch
from responder.channels.email.imap_folders import find_sent, list_folders, sent_not_found
from responder.channels.email.imap_session import RESYNC_MARGIN, ImapSession
from responder.config import ImapConfig
from responder.config.presets import sent_name
from responder.domain.models import Cursor

__all__ = ["ImapIntake"]

log = logging.getLogger(__name__)

# A first login that comes late (the server was unreachable, or refused a wrong password until
# the admin fixed it) takes the mail that arrived meanwhile by INTERNALDATE, the server's clock
# (RFC 3501 2.3.3): from this long before the first start, in case that clock runs behind ours.
FIRST_START_MARGIN = timedelta(minutes=5)


class ImapIntake(ImapSession):
    """New mail in one folder, delivered whole (ChunkedDelivery). The channel's main folder
    also has its flags watched (FlagWatch); a second folder (staff's Sent) keeps its own
    cursor under `key`."""

    def __init__(
        self,
        channel: str,
        config: ImapConfig,
        inbox: Inbox,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        folder: str | None = None,
    ) -> None:
        folder = folder or config.folder
        super().__init__(channel, config, inbox, folder, clock)
        main = folder == config.folder
        # Keyed by the folder as configured: `sent_folder: auto` by "auto", not by the folder
        # it finds. The key is needed before the first sign-in (the first start is recorded
        # under it), and the name found may change while the folder stays: Gmail and Outlook
        # rename their Sent folder with the account's language, keeping its UIDVALIDITY and
        # UIDs, so the cursor still holds. A different folder found has its own UIDVALIDITY,
        # which _catch_up takes as a re-numbering; one seen to change while we run is
        # re-read by time in any case, in case its UIDVALIDITY happens to be the same.
        self._key = channel if main else f"{channel}/{folder}"
        self._auto = not main and folder == config.sent_folder == "auto"
        self._found: str | None = None  # the folder `auto` found last
        self._moved = False  # ... and it is not the one the cursor was set in
        # Backfill is for customers' mail. A Sent folder starts at the first start like the
        # inbox: a staff reply sent while we could not log in answered a customer whose mail
        # from that time we take too, so it must count.
        self._backfill = config.backfill if main else timedelta(0)
        self._flags = FlagWatch(self, channel, config, inbox, folder, clock) if main else None
        key, label = self._key, self._label
        self._delivery = ChunkedDelivery(self, channel, config, inbox, key, label, clock)
        self._started: tuple[datetime, bool] | None = None  # (first start, recorded by us)
        self._sessions = 0

    async def run(self) -> None:
        # Before the first login attempt, so what arrives while that fails still counts.
        try:
            await self._remember_start()
        except Exception as exc:  # asked again before the first catch-up
            log.warning("channel %s: could not record the first start: %s", self._label, exc)
        await super().run()

    async def _session(self) -> None:
        self._sessions += 1
        await super()._session()

    async def _remember_start(self) -> None:
        if self._started is None:
            self._started = await self._inbox.first_started(self._key)

    async def _enable(self, client: aioimaplib.IMAP4) -> str:
        return await self._flags.enable(client) if self._flags else ""

    async def _resolve_folder(self, client: aioimaplib.IMAP4) -> None:
        """`sent_folder: auto`: the folder the server marks \\Sent (RFC 6154), else one with
        a usual name, the provider's first; looked up at every sign-in."""
        if not self._auto:
            return
        boxes = await list_folders(client, self.call)
        first = sent_name(self.condition.at.provider)
        found = find_sent(boxes, first)
        if found is None:
            raise sent_not_found(self.condition.at, boxes, first)
        name, marked = found
        if name != self._found:
            how = "the server marks it \\Sent" if marked else "no folder is marked \\Sent"
            log.info("channel %s: sent_folder auto is %r (%s)", self._label, name, how)
            self._moved = self._moved or self._found is not None
            self._found = name
        self._folder = name

    async def _missing_folder(self, client: aioimaplib.IMAP4) -> None:
        if not self._auto:  # auto's folder was just listed: the next sign-in looks again
            await super()._missing_folder(client)

    def _wakes(self, lines: Sequence[bytes]) -> bool:
        return super()._wakes(lines) or (self._flags is not None and self._flags.wakes(lines))

    async def _prepare(self, client: aioimaplib.IMAP4, selected: Selected) -> None:
        assert selected.validity is not None
        await self._catch_up(client, selected.validity, selected.uidnext)
        if self._flags is not None:
            await self._flags.prepare(client, selected)

    async def _catch_up(self, client: aioimaplib.IMAP4, validity: int, uidnext: int | None) -> None:
        """Set a cursor on the first run or after a UIDVALIDITY change; _sync does the rest."""
        stored = await self._inbox.cursor(self._key)
        if stored is not None and stored[0].validity == validity and not self._moved:
            return
        top = (uidnext - 1) if uidnext else max(await self.search(client, "ALL"), default=0)
        if stored is None:
            since = await self._first_run_since()
            reason = "first run"
        else:
            # Same mailbox, new UID numbering (RFC 3501 2.3.1.1): look back over the time we
            # may have missed; Message-ID dedupe in the store skips what was answered before.
            since = stored[1] - RESYNC_MARGIN
            reason = f"UIDVALIDITY changed from {stored[0].validity} to {validity}"
            if stored[0].validity == validity:  # another folder found by sent_folder auto
                reason = f"now reading {self._folder}"
        log.info(
            "channel %s: %s; starting after UID %d%s",
            self._label,
            reason,
            top,
            f", taking mail since {since.isoformat(timespec='seconds')}" if since else "",
        )
        if since is not None:
            # SEARCH SINCE has day granularity in the server's zone, so ask a day early and
            # filter on INTERNALDATE.
            day = (since - timedelta(days=1)).strftime("%d-%b-%Y")
            uids = [u for u in await self.search(client, "SINCE", day) if u <= top]
            # No cursor moves until every chunk is in: an interrupted catch-up starts over
            # (what it already recorded is deduplicated) instead of leaving a cursor that
            # skips the rest.
            await self._delivery.deliver(client, validity, uids, since, move_cursor=False)
        await self._inbox.deliver(self._channel, [], Cursor(validity, top), self._key)
        self._moved = False

    async def _first_run_since(self) -> datetime | None:
        """Where a first run's catch-up starts: at the first start (recorded before any login,
        kept across restarts), less `backfill`, less FIRST_START_MARGIN if the login is late."""
        await self._remember_start()
        if self._started is None:  # an Inbox that keeps no start: from now, as before
            return self._clock() - self._backfill if self._backfill else None
        started, ours = self._started
        late = self._sessions > 1 or not ours
        lookback = max(self._backfill, FIRST_START_MARGIN if late else timedelta(0))
        if lookback:
            return started - lookback
        # Logged in at once: only what arrived after the start. INTERNALDATE has whole
        # seconds, so the start's own second is left out and mail from before stays unanswered.
        return started.replace(microsecond=0) + timedelta(seconds=1)

    async def _sync(self, client: aioimaplib.IMAP4, validity: int) -> None:
        await self._sync_new(client, validity)
        # After new mail: a staff mark on a message is only useful once the message is in.
        if self._flags is not None:
            await self._flags.sync(client, validity)

    async def _sync_new(self, client: aioimaplib.IMAP4, validity: int) -> None:
        """Fetch everything past the cursor; search again until nothing is new, because an
        EXISTS that arrives inside a FETCH or SEARCH response is not repeated in IDLE."""
        while True:
            uids = await self.new_uids(client, self._key)
            if not uids:
                return
            await self._delivery.deliver(client, validity, uids, None)
