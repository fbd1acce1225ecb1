"""A WhatsApp Cloud API (Graph) stand-in over real HTTP (aiohttp, own thread) that records sends."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import web

from responder.testing._http import HOST, ThreadedHTTPServer
from responder.testing._sent import SentLog
from responder.testing.whatsapp_media import DOWNLOAD_PATH, MediaEndpoints
from responder.testing.whatsapp_payloads import check_message
from responder.testing.whatsapp_records import (
    INVALID_TOKEN,
    JSON,
    GraphCall,
    GraphError,
    SentWhatsApp,
    StoredMedia,
    invalid_parameter,
    known_error,
    new_wamid,
    no_such_object,
)
from responder.testing.whatsapp_templates import TemplateBook

__all__ = ["GraphCall", "GraphError", "GraphStandIn", "SentWhatsApp", "StoredMedia"]

API_VERSION = "v23.0"
_Handler = Callable[[web.Request], Awaitable[JSON]]


class GraphStandIn(MediaEndpoints, SentLog[SentWhatsApp], ThreadedHTTPServer):
    """Cloud API on 127.0.0.1: a channel posts to `{base_url}/{phone_number_id}/messages`
    with `Authorization: Bearer {token}`.

    Tests read what was sent from `sent`, add customer media (add_media) for webhooks to
    name, approve message templates (approve_template), inject failures (fail_next,
    invalid_token) the way Graph reports them, and hold sends (delay_next) to stop a sender
    at a known moment.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        token: str = "EAAG-test-token",
        phone_number_id: str = "106540352242922",
    ) -> None:
        self._port = port
        self.token = token
        self.phone_number_id = phone_number_id
        self.invalid_token = False
        self.sent: list[SentWhatsApp] = []
        self.calls: list[GraphCall] = []
        self.media: dict[str, StoredMedia] = {}
        self.downloads: list[str] = []
        self._cond = threading.Condition()
        self._failures: dict[str, deque[GraphError]] = {}
        self._holds: deque[tuple[float, bool]] = deque()
        self.held = 0  # sends that have reached a hold so far
        self._media_ids = itertools.count(1037543291543636)  # Meta's media ids are long numbers
        self.templates = TemplateBook()

    @property
    def base_url(self) -> str:
        """The channel's api_url: Graph's root with the version."""
        return f"http://{HOST}:{self.port}/{API_VERSION}"

    # -- lifecycle --------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        version = r"{version:v\d+\.\d+}"
        app.router.add_get(DOWNLOAD_PATH, self._download)
        app.router.add_post(f"/{version}/{{node}}/messages", self._route(self._messages))
        app.router.add_post(f"/{version}/{{node}}/media", self._route(self._media_upload))
        app.router.add_get(f"/{version}/{{node}}", self._route(self._media_get))
        return app

    # -- test controls: faults and inspection -----------------------------------------------

    def fail_next(
        self,
        code: int,
        times: int = 1,
        http_status: int | None = None,
        retry_after: int | None = None,
        *,
        endpoint: str = "messages",
    ) -> None:
        """Answer the next `times` calls of `endpoint` ("messages", "media" for upload and
        retrieval, "number" for GET /{phone_number_id}, "*" for any) with Graph's error
        `code` and Meta's HTTP status for it: 130429 and 131056 (429), 131047 and 131051
        (400), 190 (expired token, 401), 500 and 503 (as 131000 and 131016), others in
        ERRORS, or any code (400). `http_status`
        overrides the status; `retry_after` adds a Retry-After header, which Graph itself
        does not document."""
        error = known_error(code, http_status=http_status, retry_after=retry_after)
        with self._cond:
            self._failures.setdefault(endpoint, deque()).extend([error] * times)

    def approve_template(
        self, name: str, language: str, *, body: int = 0, quick_replies: int = 0
    ) -> None:
        """Let sends of template `name` in `language` through, as Meta does once it approved
        that translation: with `body` variables and `quick_replies` quick-reply buttons. A
        send of any other is refused with 132001, a wrong variable count with 132000."""
        self.templates.approve(name, language, body=body, quick_replies=quick_replies)

    def delay_next(self, seconds: float, times: int = 1, *, taken: bool = False) -> None:
        """Hold the next `times` sends for `seconds` before answering. Unless `taken`, the
        message is taken only after the hold and only if its caller is still connected (one
        that died waiting sent nothing); with `taken` it counts as sent first, so a caller
        that dies in the hold never hears that Meta took it."""
        with self._cond:
            self._holds.extend([(seconds, taken)] * times)

    def sent_to(self, to: str) -> list[SentWhatsApp]:
        """Every accepted send to `to` ("+62..." matches "62..."), oldest first."""
        with self._cond:
            return [s for s in self.sent if _digits(s.to) == _digits(to)]

    def _shortfall(self, n: int, timeout: float) -> str:
        got = [(s.to, s.type, s.payload.get(s.type)) for s in self.sent]
        return f"wanted {n} sent messages within {timeout}s, got {len(got)}: {got!r}"

    # -- HTTP -------------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return not self.invalid_token and header == f"Bearer {self.token}"

    def _download_url(self, media_id: str) -> str:
        return f"http://{HOST}:{self.port}{DOWNLOAD_PATH}?mid={media_id}&ext={int(time.time())}"

    def _route(self, handler: _Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def answer(request: web.Request) -> web.Response:
            status, body, headers = 200, JSON(), {}
            try:
                if not self._authorized(request):
                    raise GraphError(401, 190, INVALID_TOKEN)
                body = await handler(request)
            except GraphError as error:
                status, body = error.status, error.body()
                if error.retry_after is not None:
                    headers["Retry-After"] = str(error.retry_after)
            with self._cond:
                self.calls.append(GraphCall(request.method, request.path, status, time.monotonic()))
            return web.json_response(body, status=status, headers=headers)

        return answer

    def _take_failure(self, endpoint: str) -> None:
        with self._cond:
            for key in (endpoint, "*"):
                bucket = self._failures.get(key)
                if bucket:
                    raise bucket.popleft()

    def _check_node(self, request: web.Request) -> str:
        node = request.match_info["node"]
        if node != self.phone_number_id:
            raise no_such_object(node, "post")
        return node

    async def _messages(self, request: web.Request) -> JSON:
        node = self._check_node(request)
        try:
            payload = await request.json()
        except ValueError:
            raise invalid_parameter("The request body must be valid JSON.") from None
        self._take_failure("messages")
        kind = check_message(payload)
        if kind == "template":
            self.templates.check(payload["template"])
        to = str(payload["to"])
        record = SentWhatsApp(node, to, kind, payload, new_wamid(_digits(to)))
        with self._cond:
            seconds, taken = self._holds.popleft() if self._holds else (0.0, True)
        if taken:
            self._take(record)
        if seconds:
            with self._cond:
                self.held += 1
            await asyncio.sleep(seconds)
        if not taken:
            if request.transport is None:
                raise GraphError(499, 1, "the caller went away before the message was taken")
            self._take(record)
        message: JSON = {"id": record.wamid}
        if kind == "template":
            message["message_status"] = "accepted"
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": _digits(to)}],
            "messages": [message],
        }

    def _take(self, record: SentWhatsApp) -> None:
        with self._cond:
            self.sent.append(record)
            self._cond.notify_all()

    async def _media_upload(self, request: web.Request) -> JSON:
        self._check_node(request)
        self._take_failure("media")
        return await self._upload(request)

    async def _media_get(self, request: web.Request) -> JSON:
        node = request.match_info["node"]
        if node == self.phone_number_id:
            self._take_failure("number")
            return self._number()
        self._take_failure("media")
        return self._media_info(node)

    def _number(self) -> JSON:
        """GET /{phone_number_id}: the WhatsApp Business Phone Number node's default fields."""
        return {
            "verified_name": "Toko Contoh",
            "code_verification_status": "VERIFIED",
            "display_phone_number": "+1 555-078-3881",
            "quality_rating": "GREEN",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
            "id": self.phone_number_id,
        }


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)
