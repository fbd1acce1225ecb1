"""Meta's WhatsApp webhook POST bodies for tests, their X-Hub-Signature-256, and a poster."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from responder.testing import whatsapp_messages as m
from responder.testing.whatsapp_records import JSON

WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"


def sign(body: bytes, app_secret: str) -> str:
    """X-Hub-Signature-256 as Meta sends it: HMAC-SHA256 of the raw body under the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def encode(body: JSON) -> bytes:
    # Meta escapes non-ASCII (\u00e9): a receiver must verify the bytes, never re-serialised JSON.
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()


def post_webhook(
    url: str,
    body: JSON | bytes,
    app_secret: str,
    *,
    signature: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, str]:
    """POST a webhook as Meta does, signed unless `signature` is given ("" sends none).
    Blocking: from async code call it through asyncio.to_thread."""
    raw = body if isinstance(body, bytes) else encode(body)
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
    header = sign(raw, app_secret) if signature is None else signature
    if header:
        headers["X-Hub-Signature-256"] = header
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
    return _send(request, timeout)


def verify_subscription(
    url: str, verify_token: str, challenge: str = "1158201444", *, timeout: float = 10.0
) -> tuple[int, str]:
    """Meta's GET handshake when the webhook is configured; a receiver echoes hub.challenge."""
    query = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    separator = "&" if "?" in url else "?"
    request = urllib.request.Request(url + separator + urllib.parse.urlencode(query))
    return _send(request, timeout)


def _send(request: urllib.request.Request, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode("utf-8", "replace")


@dataclass
class Webhooks:
    """Whole webhook bodies for one business number; each method is one customer event."""

    phone_number_id: str = "106540352242922"
    display_phone_number: str = DISPLAY_NUMBER
    waba_id: str = WABA_ID

    def envelope(self, value: JSON, field: str = "messages") -> JSON:
        """`value` (contacts, messages or statuses) inside Meta's entry/changes wrapping."""
        inner: JSON = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": self.display_phone_number,
                "phone_number_id": self.phone_number_id,
            },
            **value,
        }
        change = {"value": inner, "field": field}
        entry = {"id": self.waba_id, "changes": [change]}
        return {"object": "whatsapp_business_account", "entry": [entry]}

    def inbound(self, sender: str, name: str, *messages: JSON) -> JSON:
        """Messages from one customer (as m.message builds them), with their profile."""
        contacts = [{"profile": {"name": name}, "wa_id": sender}]
        return self.envelope({"contacts": contacts, "messages": list(messages)})

    def reply_to(self, message_id: str) -> JSON:
        """A message's `context` when the customer replies to (or taps a button on) ours."""
        return {"from": self.display_phone_number, "id": message_id}

    def _one(self, sender: str, kind: str, content: Any, name: str, **extra: Any) -> JSON:
        context = extra.pop("context", None)
        if isinstance(context, str):
            context = self.reply_to(context)
        built = m.message(sender, kind, content, context=context, **extra)
        return self.inbound(sender, name, built)

    def text(self, sender: str, body: str, *, name: str = "Customer", **extra: Any) -> JSON:
        return self._one(sender, "text", m.text(body), name, **extra)

    def button_reply(
        self, sender: str, reply_id: str, title: str, *, name: str = "Customer", **extra: Any
    ) -> JSON:
        return self._one(sender, "interactive", m.button_reply(reply_id, title), name, **extra)

    def list_reply(
        self,
        sender: str,
        reply_id: str,
        title: str,
        description: str | None = None,
        *,
        name: str = "Customer",
        **extra: Any,
    ) -> JSON:
        content = m.list_reply(reply_id, title, description)
        return self._one(sender, "interactive", content, name, **extra)

    def quick_reply(
        self, sender: str, payload: str, text: str, *, name: str = "Customer", **extra: Any
    ) -> JSON:
        """A tap on a template's quick-reply button (type "button")."""
        return self._one(sender, "button", m.quick_reply(payload, text), name, **extra)

    def media(
        self,
        sender: str,
        kind: str,
        media_id: str,
        mime_type: str,
        sha256: str,
        *,
        name: str = "Customer",
        caption: str | None = None,
        filename: str | None = None,
        voice: bool | None = None,
        animated: bool | None = None,
        **extra: Any,
    ) -> JSON:
        """image / document / audio / video / sticker: the GraphStandIn media's id and sha256."""
        content = m.media(
            kind, media_id, mime_type, sha256,
            caption=caption, filename=filename, voice=voice, animated=animated,
        )  # fmt: skip
        return self._one(sender, kind, content, name, **extra)

    def location(
        self,
        sender: str,
        latitude: float,
        longitude: float,
        *,
        place: str | None = None,  # the location's `name`; `name` is the customer's
        address: str | None = None,
        url: str | None = None,
        name: str = "Customer",
        **extra: Any,
    ) -> JSON:
        content = m.location(latitude, longitude, name=place, address=address, url=url)
        return self._one(sender, "location", content, name, **extra)

    def contacts(self, sender: str, *cards: JSON, name: str = "Customer", **extra: Any) -> JSON:
        """Shared contacts (m.contact builds each card)."""
        return self._one(sender, "contacts", list(cards), name, **extra)

    def reaction(
        self,
        sender: str,
        message_id: str,
        emoji: str | None,
        *,
        name: str = "Customer",
        **extra: Any,
    ) -> JSON:
        return self._one(sender, "reaction", m.reaction(message_id, emoji), name, **extra)

    def unsupported(
        self, sender: str, kind: str = "unsupported", *, name: str = "Customer", **extra: Any
    ) -> JSON:
        """A message WhatsApp cannot pass on (a poll, a view-once...): type and errors only."""
        body = self._one(sender, kind, None, name, **extra)
        body["entry"][0]["changes"][0]["value"]["messages"][0]["errors"] = m.unsupported_errors()
        return body

    def statuses(self, *items: JSON) -> JSON:
        """Status callbacks (m.status builds each) for messages we sent."""
        return self.envelope({"statuses": list(items)})

    def status(self, message_id: str, state: str, recipient_id: str, **extra: Any) -> JSON:
        """One sent / delivered / read status for a message we sent."""
        return self.statuses(m.status(message_id, state, recipient_id, **extra))

    def failed(
        self, message_id: str, recipient_id: str, code: int, title: str, details: str, **kw: Any
    ) -> JSON:
        """A failed status: Meta could not deliver the message we sent (e.g. 131047)."""
        errors = [m.status_error(code, title, details)]
        return self.statuses(m.status(message_id, "failed", recipient_id, errors=errors, **kw))
