"""The web chat's API (/work/notes/webchat-protocol.md, issue 17): a visitor's session, and
their messages recorded durably before the 202; who may call it and how often."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from responder.channels.base import Alone, Inbox, Peers, Site
from responder.channels.webchat.answers import (
    answers,
    bearer,
    clean,
    fail,
    json_object,
    read_body,
)
from responder.channels.webchat.guard import Caller, caller, client_address, preflight
from responder.channels.webchat.history import latest
from responder.channels.webchat.limits import Buckets
from responder.channels.webchat.streams import Hub
from responder.channels.webchat.tokens import Tokens, new_visitor
from responder.common.metrics import Metrics
from responder.config.webchat import WebChatChannelConfig, origin_of
from responder.domain.models import InboundMessage
from responder.wire.webchat.events import visitor_event
from responder.wire.webchat.record import CLIENT_ID, VisitorMessage, stamp

log = logging.getLogger(__name__)

SESSION_BODY = 4 * 1024  # a token and a language
LANGUAGES = ("id", "en")
# Visitors whose browser language is remembered for their messages; the oldest is forgotten.
REMEMBERED = 20_000
PRESS_LIMIT = 200
REFUSAL_LOG_SECONDS = 60.0
FILE_TOKEN_LIFETIME = timedelta(days=1)  # a page open longer renews its session


@dataclass(frozen=True)
class Opened:
    """What the API works with once the channel has started."""

    inbox: Inbox
    tokens: Tokens
    # Short-lived, good for files/<key> only: the one token a link to a file carries (an
    # <img> sends no header), so a shared or logged link opens no conversation.
    file_tokens: Tokens


class ChatApi:
    """One channel's API. `config` gives its section as configured now (a reload's limits
    apply to the next request); requests are answered 503 until `opened` is set (start)."""

    def __init__(
        self,
        config: Callable[[], WebChatChannelConfig],
        hub: Hub,
        site: Site,
        metrics: Metrics,
        peers: Peers | None = None,
    ) -> None:
        self._config = config
        self.name = config().name
        self.hub = hub
        self.site = site
        self.peers: Peers = peers or Alone()
        self._metrics = metrics
        self.opened: Opened | None = None
        limits = config().limits
        self._by_address = Buckets(limits.address_per_minute)
        self._by_visitor = Buckets(limits.visitor_per_minute)
        self._languages: OrderedDict[str, str] = OrderedDict()
        self._logged: dict[str, float] = {}

    @property
    def config(self) -> WebChatChannelConfig:
        return self._config()

    def reconfigured(self) -> None:
        limits = self.config.limits
        self._by_address.per_minute = limits.address_per_minute
        self._by_visitor.per_minute = limits.visitor_per_minute

    def routes(self) -> list[web.RouteDef]:
        base = self.config.path
        return [
            web.post(f"{base}/session", self.session),
            web.post(f"{base}/messages", self.messages),
            *(
                web.options(f"{base}/{path}", self.options)
                for path in ("session", "messages", "email", "events", "poll", "files")
            ),
        ]

    async def options(self, request: web.Request) -> web.Response:
        return preflight(request, self.config.allowed_origins)

    # -- admission ----------------------------------------------------------------------------

    def admit(self, request: web.Request, *, bare: bool = False) -> tuple[Opened, Caller]:
        """The caller, if its origin may call us and the channel has started; else raised as
        the answer (403 without any CORS header, 503)."""
        config = self.config
        found = caller(
            request, origin_of(self.site.public_url()), config.allowed_origins, bare=bare
        )
        if found is None:
            self.refused("origin", f"a request from origin {request.headers.get('Origin')!r}")
            fail(403, "origin not allowed", Caller(None))
        if self.opened is None:
            fail(503, "starting", found)
        return self.opened, found

    def visitor(self, opened: Opened, token: object, who: Caller) -> str:
        visitor = opened.tokens.visitor(token, self.site.clock())
        if visitor is None:
            self.refused("token", "a missing, forged or expired visitor token")
            fail(401, "bad or expired token: start a new session", who)
        return visitor

    def limit(self, request: web.Request, who: Caller, visitor: str | None = None) -> None:
        """429 with Retry-After when the address, or the visitor, is over its rate."""
        wait = self._by_address.take(client_address(request))
        if not wait and visitor is not None:
            wait = self._by_visitor.take(visitor)
        if wait:
            self.refused("rate", "requests over the rate limit")
            fail(429, "too many requests: wait a little", who, {"Retry-After": str(wait)})

    def refused(self, reason: str, what: str) -> None:
        self._metrics.chat_refused(self.name, reason)
        now = time.monotonic()
        if now - self._logged.get(reason, -REFUSAL_LOG_SECONDS) >= REFUSAL_LOG_SECONDS:
            self._logged[reason] = now
            log.warning(
                "channel %s: refused %s (logged once a minute; /metrics counts all)",
                self.name,
                what,
            )

    async def body(self, request: web.Request, limit: int, who: Caller) -> bytes:
        def too_big() -> None:
            self.refused("too-big", f"a body over {limit} bytes")

        return await read_body(request, limit, who, too_big)

    def language(self, visitor: str) -> str | None:
        return self._languages.get(visitor)

    # -- the routes ---------------------------------------------------------------------------

    @answers
    async def session(self, request: web.Request) -> web.Response:
        """A valid token keeps its visitor (renewed); any other starts a new one."""
        opened, who = self.admit(request)
        self.limit(request, who)
        doc = json_object(await self.body(request, SESSION_BODY, who), who)
        config, now = self.config, self.site.clock()
        visitor = opened.tokens.visitor(doc.get("token"), now) or new_visitor()
        asked = doc.get("language")
        language = asked if asked in LANGUAGES else config.language
        self._remember(visitor, language)
        expires = now + config.token_lifetime
        is_open, opens = self.site.hours(language)
        history = await latest(opened.inbox, self.name, visitor)
        answer = {
            "token": opened.tokens.issue(visitor, expires),
            "visitor": visitor,
            "expires": stamp(expires),
            "open": is_open,
            "opens": opens,
            "title": config.title,
            "max_file": config.max_file,  # the panel says so before uploading more
            "file_token": opened.file_tokens.issue(visitor, now + FILE_TOKEN_LIFETIME),
            "history": history,
            "last_event_id": history[-1]["id"] if history else None,
            # When the panel offers its email form (closed, or no staff answer this long):
            # None when no email channel answers this chat.
            "ask_email_after": (
                int(config.ask_email_after.total_seconds())
                if self.site.by_email(self.name)
                else None
            ),
        }
        return web.json_response(answer, headers=who.headers())

    @answers
    async def messages(self, request: web.Request) -> web.Response:
        """Recorded (deduplicated by the browser's client id) before the 202 says so."""
        opened, who = self.admit(request)
        visitor = self.visitor(opened, bearer(request), who)
        self.limit(request, who, visitor)
        doc = json_object(await self.body(request, self.config.max_message, who), who)
        text, client_id, press = doc.get("text"), doc.get("client_id"), doc.get("press")
        if not isinstance(text, str) or not (text := clean(text)).strip():
            fail(400, "text: write something", who)
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            fail(400, "client_id: 8 to 64 letters, digits, - or _ (a UUID)", who)
        if press is not None and not (isinstance(press, str) and 0 < len(press) <= PRESS_LIMIT):
            fail(400, "press: the data of a button of ours", who)
        asked = doc.get("language")
        language = asked if asked in LANGUAGES else self.language(visitor)
        record = VisitorMessage(visitor, text, client_id, self.site.clock(), language, press)
        return await self.record(opened, who, record)

    async def record(self, opened: Opened, who: Caller, record: VisitorMessage) -> web.Response:
        """Recorded (deduplicated by the browser's client id) before the 202 says so; a new
        one is shown in every open tab of the visitor's."""
        visitor, now = record.visitor, record.at
        raw = record.to_bytes()
        try:
            message = InboundMessage(self.name, record.external_id, raw, now)
            await opened.inbox.deliver(self.name, [message], None)
            entry = await opened.inbox.recorded(self.name, record.external_id)
        except Exception as exc:
            # Not recorded, so not acknowledged: the browser sends it again.
            log.error("channel %s: could not record a visitor's message: %s", self.name, exc)
            fail(503, "not recorded: try again", who)
        if entry is None or (event := visitor_event(entry.raw, entry.row)) is None:
            fail(503, "not recorded: try again", who)
        if entry.raw == raw:
            # New (a retry's row carries the first try's bytes): every open tab shows it,
            # those held by other instances too (issue 19).
            self.hub.publish(visitor, event)
            await self.peers.tell(self.name, visitor)
        return web.json_response({"id": event["id"]}, status=202, headers=who.headers())

    def _ask_email_after(self, config: WebChatChannelConfig) -> int | None:
        if not self.site.by_email(self.name):
            return None
        return int(config.ask_email_after.total_seconds())

    def _remember(self, visitor: str, language: str) -> None:
        self._languages.pop(visitor, None)
        self._languages[visitor] = language
        if len(self._languages) > REMEMBERED:
            self._languages.popitem(last=False)
