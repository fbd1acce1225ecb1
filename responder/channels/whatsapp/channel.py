"""The WhatsApp channel: Meta's webhook in (on the daemon's HTTP endpoint), Graph API sends out,
one business phone number per channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from responder.channels.base import FetchFile, Inbox
from responder.channels.diagnose import Endpoint
from responder.channels.health import Condition, Conditioned
from responder.channels.whatsapp.graph import Graph, GraphError, Paced
from responder.channels.whatsapp.pace import EVERYONE, Pace
from responder.channels.whatsapp.webhook import Webhook
from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.domain.models import Delivered, DeliveryReport, FileData, OutboundReply
from responder.errors import ChannelDown, PermanentError
from responder.wire.whatsapp.envelope import Status
from responder.wire.whatsapp.outbound import UPLOAD, Outgoing

log = logging.getLogger(__name__)
UNKNOWN_OBJECT = 100  # Graph API: "Object with ID ... does not exist" (an expired media id)
# Cloud API, "Supported media types": what a media message may carry, in bytes.
MEDIA_LIMITS = {"document": 100 * 1024 * 1024, "image": 5 * 1024 * 1024}


class WhatsAppChannel(Conditioned):
    def __init__(
        self, config: Any, tasks: TaskGroup, metrics: Metrics, files: FetchFile | None = None
    ) -> None:
        self.name = config.name
        self._files = files  # a canned answer's files (issue 18), read as each reply goes
        self._tasks = tasks
        self._metrics = metrics
        # Meta allows up to 80 messages a second per number; four in flight keep well inside.
        self.lanes = {"customers": 4}
        # Parts of a split reply already sent, so a retry in this run sends only the rest.
        self._progress: dict[int, list[str]] = {}
        self._checking: asyncio.Task[None] | None = None
        self._pace = Pace()
        self._build(config)
        self.webhook = Webhook(self.name, self._secrets, self._statuses, metrics)

    def _build(self, config: Any) -> None:
        if config.access_token is None or config.app_secret is None or config.verify_token is None:
            # Only a config loaded for `check` or `simulate` lacks them.
            raise PermanentError(f"{config.name}: the WhatsApp secrets were not read")
        self.config = config
        api = urlsplit(config.api_url)
        port = api.port or (443 if api.scheme == "https" else 80)
        where = Endpoint(self.name, "whatsapp", api.hostname or config.api_url, port)
        self._condition = Condition(where, state="stopped")
        self._graph = Graph(
            config.api_url,
            config.phone_number_id,
            config.access_token.get_secret_value(),
            config.timeout.total_seconds(),
        )

    def _secrets(self) -> tuple[bytes, str, int, str]:
        c = self.config
        secret = c.app_secret.get_secret_value().encode()
        return secret, c.verify_token.get_secret_value(), c.max_body, c.phone_number_id

    def routes(self) -> list[web.RouteDef]:
        return self.webhook.routes()

    def lane(self, reply: OutboundReply) -> str:
        return "customers"

    async def start(self, inbox: Inbox) -> None:
        self._condition.starting()
        self.webhook.open(inbox)
        self._checking = self._tasks.spawn(self._check(), name=f"whatsapp:{self.name}:check")

    async def _check(self) -> None:
        """Ask Meta about the number at start, so a refused token shows now, not at the
        first reply; the webhook takes messages meanwhile either way."""
        try:
            await self.probe()
        except Exception as exc:
            problem = self._condition.failed(exc)
            log.error("channel %s: %s", self.name, problem)
        else:
            self._condition.connected()
            number = self.config.phone_number_id
            log.info("channel %s: Graph API answers for number %s", self.name, number)

    async def probe(self) -> None:
        await self._graph.number()

    async def fetch_file(self, ref: str, limit: int) -> FileData:
        """A customer's file by its media id, for the staff group (issue 16)."""
        try:
            content, mime = await self._graph.media(ref, limit)
        except GraphError as exc:
            if exc.code == UNKNOWN_OBJECT:
                gone = "WhatsApp no longer has it (Meta keeps files 30 days)"
                raise PermanentError(gone) from exc
            raise
        return FileData(content, "", mime)

    async def send(self, reply: OutboundReply) -> Delivered:
        out = Outgoing.from_bytes(reply.message)
        if not out.requests:
            # A staff answer with nothing WhatsApp can carry (a photo from the staff group is
            # not passed on yet): parked and reported, never counted as sent.
            raise PermanentError("nothing to send to WhatsApp: the reply has no text")
        async with self._pace.turn(out.to):
            return await self._send(reply, out)

    async def _send(self, reply: OutboundReply, out: Outgoing) -> Delivered:
        sent = self._progress.setdefault(reply.reply_id, [])
        graph = self._graph
        try:
            for request in out.requests[len(sent) :]:
                sent.append(await graph.send(await self._uploaded(request)))
        except Paced as exc:
            self._pace.hold(out.to if exc.per_customer else EVERYONE, exc.retry_after or 5.0)
            raise
        except ChannelDown as exc:  # a refused token (SignInRefused) included
            self._down(exc)
            raise
        except PermanentError:
            self._progress.pop(reply.reply_id, None)
            raise
        self._progress.pop(reply.reply_id, None)
        if self._condition.state != "connected":
            self._condition.connected()
        return Delivered(self.name, out.to, tuple(sent))

    async def _uploaded(self, request: dict[str, Any]) -> dict[str, Any]:
        """A media request with its file read (off the event loop) and uploaded now, its
        media id in place of the file; another request as it is."""
        upload = request.get(UPLOAD)
        if not isinstance(upload, dict):
            return request
        if self._files is None:
            raise PermanentError("no file fetcher: the reply's file cannot be read")
        kind = str(request["type"])
        limit = MEDIA_LIMITS.get(kind, MEDIA_LIMITS["document"])
        got = await self._files(str(upload["channel"]), str(upload["ref"]), limit)
        media = await self._graph.upload(got.content, got.mime, str(upload["name"]))
        rest = {key: value for key, value in request.items() if key != UPLOAD}
        return {**rest, kind: {**request[kind], "id": media}}

    def _down(self, exc: Exception) -> None:
        problem = self._condition.failed(exc)
        if problem.permanent:
            log.error("channel %s: %s", self.name, problem)

    async def _statuses(self, inbox: Inbox, statuses: Sequence[Status]) -> None:
        """Meta's reports on what we sent, recorded on the replies; counted once recorded."""
        reports = [
            DeliveryReport(s.wamid, s.status, _when(s.timestamp), s.error_code, s.error_title)
            for s in statuses
        ]
        await inbox.delivery(self.name, reports)
        for s in statuses:
            code = "" if s.error_code is None else str(s.error_code)
            self._metrics.delivery_status(self.name, s.status, code)
            if s.status == "failed":
                log.warning(
                    "channel %s: WhatsApp could not deliver %s to %s: error %s %s",
                    self.name,
                    s.wamid,
                    s.recipient,
                    code,
                    s.error_title,
                )

    async def stop(self) -> None:
        self.webhook.open(None)
        if self._checking is not None:
            self._checking.cancel()
        await self._graph.close()
        self._condition.stopped()

    async def reconfigure(self, config: Any) -> None:
        """New settings in place: the next request uses them; the webhook stays served."""
        old = self._graph
        if self._checking is not None:
            self._checking.cancel()
        self._build(config)
        await old.close()
        self._condition.starting()
        self._checking = self._tasks.spawn(self._check(), name=f"whatsapp:{self.name}:check")


def _when(timestamp: int | None) -> datetime | None:
    """Meta's Unix timestamp as a time; None when absent or out of range."""
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return None
