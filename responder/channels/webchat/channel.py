"""The website chat channel: visitors' messages in through the widget's API on the daemon's
HTTP endpoint, replies out to their open streams; the database keeps the conversation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from responder.channels.base import Alone, FetchFile, Inbox, Peers, Site
from responder.channels.diagnose import Endpoint
from responder.channels.health import Condition, Conditioned
from responder.channels.webchat.api import ChatApi, Opened
from responder.channels.webchat.assets import WidgetSite, asset_routes
from responder.channels.webchat.files import ChatFiles
from responder.channels.webchat.offline import OfflineForm
from responder.channels.webchat.stream import EventStreams
from responder.channels.webchat.streams import Hub
from responder.channels.webchat.tokens import SECRET_KEY, Tokens
from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.config.webchat import WebChatChannelConfig
from responder.core.reply_kinds import STAFF_REPLY
from responder.domain.models import Delivered, FileData, OutboundReply
from responder.errors import PermanentError
from responder.wire.webchat.events import reply_event
from responder.wire.webchat.record import ADDRESS_PREFIX

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WebChatChannel(Conditioned):
    def __init__(
        self,
        config: WebChatChannelConfig,
        tasks: TaskGroup,
        metrics: Metrics,
        site: Site | None = None,
        files: FetchFile | None = None,
        peers: Peers | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        # Pushing an event is a few microseconds; a lane's worth in flight costs nothing.
        self.lanes = {"visitors": 8}
        # Without the composition root (the channel built alone): loopback, always open.
        site = site or Site(lambda: "http://127.0.0.1", _utcnow, lambda _language: (True, None))
        self.hub = Hub()
        # Several instances on one database (issue 19): what the others record for a visitor
        # whose stream is held here wakes it.
        self.peers: Peers = peers or Alone()
        self.peers.follow(self.name, self.hub.nudge)
        self.api = ChatApi(lambda: self.config, self.hub, site, metrics, self.peers)
        self.streams = EventStreams(self.api, tasks)
        self.offline = OfflineForm(self.api)
        self.files = ChatFiles(self.api, files)
        self.site = site
        where = Endpoint(self.name, "http", "the http endpoint", 0)
        self._condition = Condition(where, state="stopped")

    def routes(self) -> list[web.RouteDef]:
        """The widget's files (assets.py), the API and the streams, under /chat/<name>/."""
        return [
            *asset_routes(self.name, self._widget_site),
            *self.api.routes(),
            *self.offline.routes(),
            *self.files.routes(),
            *self.streams.routes(),
        ]

    def _widget_site(self) -> WidgetSite:
        config = self.config  # as configured now: a reload's origins and words apply
        return WidgetSite(
            self.site.public_url(), config.allowed_origins, config.language, config.title
        )

    def lane(self, reply: OutboundReply) -> str:
        return "visitors"

    async def start(self, inbox: Inbox) -> None:
        self._condition.starting()
        # Made once and kept in the database: tokens outlive restarts (issue 17).
        secret = await inbox.secret(SECRET_KEY)
        self.hub.reopen()
        files = Tokens(secret, f"{self.name}/files")  # no channel name has a "/"
        self.api.opened = Opened(inbox, Tokens(secret, self.name), files)
        self._condition.connected()

    async def send(self, reply: OutboundReply) -> Delivered:
        """Recorded already (the replies row is the panel's copy): pushed to the visitor's
        open streams, if any; one not connected reads it when the panel comes back."""
        event = reply_event(reply.message, reply.reply_id)
        if event is None:
            raise PermanentError("nothing to show in the chat panel: the reply has no text")
        recipient = reply.recipients[0] if reply.recipients else ""
        visitor = recipient.removeprefix(ADDRESS_PREFIX)
        if recipient.startswith(ADDRESS_PREFIX):
            # A staff member's file is kept before the panel is told of it (issue 17).
            try:
                await self.files.keep_answer(visitor, reply.message, reply.reply_id)
            except PermanentError as exc:
                if not event.get("text") or event.get("kind") != STAFF_REPLY:
                    raise  # a canned answer is parked whole: the files are what it promises
                # A staff member's words still reach the visitor; the file's loss is logged.
                log.error(
                    "channel %s: reply %s: its file not passed on: %s",
                    self.name,
                    reply.reply_id,
                    exc,
                )
                event.pop("file", None)
                event.pop("files", None)
            self.hub.publish(visitor, event)
            await self.peers.tell(self.name, visitor)
        return Delivered(self.name, recipient)

    async def fetch_file(self, ref: str, limit: int) -> FileData:
        """A visitor's image or PDF, for the staff desk (FileSource)."""
        return await self.files.fetch_file(ref, limit)

    async def close_streams(self) -> None:
        """End every open stream and poll: at stop, before the HTTP endpoint waits for its
        requests to finish."""
        self.hub.close()
        await self.streams.close()

    async def stop(self) -> None:
        await self.close_streams()
        self.api.opened = None
        self._condition.stopped()

    async def reconfigure(self, config: Any) -> None:
        """New limits, origins and words apply to the next request; streams stay open."""
        self.config = config
        self.api.reconfigured()
