"""The webhook Meta calls: the subscription handshake, then signed notifications, each
message recorded durably before the 200 that stops Meta from sending it again."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from aiohttp import web

from responder.channels.base import Inbox
from responder.common.bounded import read_within
from responder.common.metrics import Metrics
from responder.config.whatsapp import WEBHOOK_PREFIX
from responder.domain.models import InboundMessage
from responder.wire.whatsapp.envelope import EnvelopeError, Notification, Status, split

log = logging.getLogger(__name__)

SIGNATURE = "X-Hub-Signature-256"
# A refused request is logged at most this often per channel: a scanner hammering the URL
# must not bury the log (the metric counts every one).
REFUSAL_LOG_SECONDS = 60.0


def signature_ok(body: bytes, header: str | None, secret: bytes) -> bool:
    """Meta signs the raw body: X-Hub-Signature-256: sha256=<HMAC-SHA256 hex, app secret>."""
    if not header or not header.startswith("sha256=") or not header.isascii():
        return False  # compare_digest refuses non-ASCII text: a crafted header must not raise
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


class Webhook:
    """One channel's webhook. `secrets` gives (app secret, verify token, body limit, phone
    number id) as configured now,
    so a reload's new secrets apply to the next request; `statuses` records the delivery
    reports into the inbox; intake waits for `open(inbox)` (until then Meta is asked to come
    back: 503)."""

    def __init__(
        self,
        channel: str,
        secrets: Callable[[], tuple[bytes, str, int, str]],
        statuses: Callable[[Inbox, Sequence[Status]], Awaitable[None]],
        metrics: Metrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.channel = channel
        self._secrets = secrets
        self._statuses = statuses
        self._metrics = metrics
        self._clock = clock
        self._inbox: Inbox | None = None
        self._logged: dict[str, float] = {}

    def open(self, inbox: Inbox | None) -> None:
        self._inbox = inbox

    def routes(self) -> list[web.RouteDef]:
        path = f"{WEBHOOK_PREFIX}{self.channel}"
        return [web.get(path, self.handshake), web.post(path, self.notify)]

    async def handshake(self, request: web.Request) -> web.Response:
        """Graph API webhooks: hub.mode=subscribe with our verify token gets hub.challenge."""
        _, verify, _, _ = self._secrets()
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
            token.encode(), verify.encode()
        ):
            self._refused("handshake", "a subscription request with a wrong verify token")
            return web.Response(status=403, text="wrong verify token\n")
        log.info("channel %s: Meta verified the webhook subscription", self.channel)
        return web.Response(text=query.get("hub.challenge", ""))

    async def notify(self, request: web.Request) -> web.Response:
        secret, _, limit, number = self._secrets()
        body = await _body(request, limit)
        if body is None:
            self._refused("too-big", f"a body over {limit} bytes")
            return web.Response(status=413, text="too big\n")
        if not signature_ok(body, request.headers.get(SIGNATURE), secret):
            # Checked before a byte of it is parsed (issue 16): only Meta knows the secret.
            self._refused("signature", f"a POST with a missing or wrong {SIGNATURE}")
            return web.Response(status=401, text="bad signature\n")
        try:
            note = split(body)
        except EnvelopeError as exc:
            # Signed by Meta, yet nothing of ours: answering 200 stops its retries, which
            # would bring the same body for days.
            log.warning("channel %s: webhook ignored: %s", self.channel, exc)
            return web.Response(text="ignored\n")
        for what in note.skipped:
            log.info("channel %s: webhook: skipped %s", self.channel, what)
        if any(m.phone_number_id != number for m in note.messages):
            note = self._own(note, number)
        inbox = self._inbox
        if inbox is None:
            return web.Response(status=503, text="starting\n")
        try:
            await self._record(inbox, note)
        except Exception as exc:
            # Not recorded, so not acknowledged: Meta sends it again later (issue 16).
            log.error(
                "channel %s: could not record a webhook (%s); Meta will retry", self.channel, exc
            )
            return web.Response(status=503, text="try again\n")
        return web.Response(text="ok\n")

    async def _record(self, inbox: Inbox, note: Notification) -> None:
        now = self._clock()
        messages = [InboundMessage(self.channel, m.wamid, m.raw, now) for m in note.messages]
        if messages:
            # Deduplicated by wamid in the store: a retry of a recorded message adds nothing.
            await inbox.deliver(self.channel, messages, None)
        if note.statuses:
            # Before the 200 too: a report not recorded comes again, and a repeat moves nothing.
            await self._statuses(inbox, note.statuses)

    def _own(self, note: Notification, number: str) -> Notification:
        """Only this channel's number's messages: Meta sends every number of the app to its
        one callback URL, and a reply from this number to another's customer would come
        from the wrong shop. The rest is acknowledged (200), never answered, and said."""
        others = sorted({m.phone_number_id for m in note.messages if m.phone_number_id != number})
        self._refused(
            "other-number",
            f"messages to phone number id {', '.join(others)}, not this channel's {number} "
            "(configure a channel for that number, or check phone_number_id)",
        )
        mine = tuple(m for m in note.messages if m.phone_number_id == number)
        return dataclasses.replace(note, messages=mine)

    def _refused(self, reason: str, what: str) -> None:
        self._metrics.webhook_refused(self.channel, reason)
        now = time.monotonic()
        if now - self._logged.get(reason, -REFUSAL_LOG_SECONDS) >= REFUSAL_LOG_SECONDS:
            self._logged[reason] = now
            log.warning(
                "channel %s: webhook refused %s (logged once a minute; /metrics counts all)",
                self.channel,
                what,
            )


async def _body(request: web.Request, limit: int) -> bytes | None:
    """The raw body, or None past `limit` bytes (read no further than that)."""
    return await read_within(request.content, limit, request.content_length)
