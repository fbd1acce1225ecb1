"""What the daemon sends to WhatsApp, as the bytes a replies row keeps until it is sent: the
Graph API message requests for one reply, in order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from responder.core.channel import FileRef, Keyboard, TemplateSend

# Cloud API, "Send messages": a text body holds at most 4096 characters; an interactive
# message's body 1024; reply buttons are at most 3 (title 20 characters, id 256), a list at
# most 10 rows (title 24, description 72, id 200) behind a button of 20 characters.
TEXT_LIMIT = 4096
INTERACTIVE_BODY = 1024
MAX_BUTTONS = 3
BUTTON_TITLE = 20
BUTTON_ID = 256
MAX_ROWS = 10
ROW_TITLE = 24
ROW_ID = 200
CAPTION = 1024  # a document's or image's caption
UPLOAD = "responder_upload"  # a media request's file, uploaded when it is sent


@dataclass(frozen=True)
class Outgoing:
    """One reply to one customer: the message requests, sent one after another."""

    to: str  # the customer's WhatsApp id (wa_id)
    requests: tuple[dict[str, Any], ...]

    def to_bytes(self) -> bytes:
        doc = {"to": self.to, "requests": list(self.requests)}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Outgoing:
        doc = json.loads(raw)
        return cls(str(doc["to"]), tuple(doc["requests"]))


def build(
    to: str,
    text: str,
    *,
    buttons: Keyboard | None = None,
    context: str | None = None,
    menu: str = "Pilih",
    files: tuple[FileRef, ...] = (),
) -> Outgoing:
    """The requests for `text` (split where it is too long) with `buttons` under its last
    part, then `files`, the first captioned with the text where it fits; `context`: the
    customer's message it answers (shown quoted)."""
    if files and not buttons and len(text.strip()) <= CAPTION:
        requests = [
            _media(to, file, text.strip() if n == 0 else "") for n, file in enumerate(files)
        ]
        if context:
            requests[0] = {**requests[0], "context": {"message_id": context}}
        return Outgoing(to, tuple(requests))
    out = _words(to, text, buttons, context, menu)
    return Outgoing(to, out.requests + tuple(_media(to, file, "") for file in files))


def _words(
    to: str, text: str, buttons: Keyboard | None, context: str | None, menu: str
) -> Outgoing:
    choices = [choice for row in buttons or () for choice in row]
    parts = split_text(text, INTERACTIVE_BODY if choices else TEXT_LIMIT)
    requests: list[dict[str, Any]] = [_text(to, part) for part in parts[:-1]]
    last = parts[-1] if parts else ""
    if not choices:
        if last.strip():
            requests.append(_text(to, last))
    elif len(choices) <= MAX_BUTTONS:
        requests.append(_buttons(to, last, choices))
    else:
        for start in range(0, len(choices), MAX_ROWS):
            body = last if start == 0 else "…"
            requests.append(_list(to, body, choices[start : start + MAX_ROWS], menu))
    if context and requests:
        requests[0] = {**requests[0], "context": {"message_id": context}}
    return Outgoing(to, tuple(requests))


def _media(to: str, file: FileRef, caption: str) -> dict[str, Any]:
    """A document or image message (Cloud API, "Media messages") whose media id the channel
    gets by uploading the file as it sends (POST /{phone number id}/media); UPLOAD says
    which file, and is taken out before the request goes."""
    kind = "image" if file.kind == "image" else "document"
    body: dict[str, Any] = {"filename": file.name} if kind == "document" else {}
    if caption:
        body["caption"] = caption
    upload = {"channel": file.channel, "ref": file.ref, "name": file.name, "mime": file.mime}
    return {**_base(to, kind), kind: body, UPLOAD: upload}


def template(to: str, send: TemplateSend) -> Outgoing:
    """An approved template (Cloud API, "Send message templates"): its body variables as text
    parameters, and a payload for each quick-reply button, which a press sends back."""
    components: list[dict[str, Any]] = []
    if send.parameters:
        parameters = [{"type": "text", "text": value} for value in send.parameters]
        components.append({"type": "body", "parameters": parameters})
    for index, payload in enumerate(send.payloads):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),  # Meta's examples give the position as text
                "parameters": [{"type": "payload", "payload": payload}],
            }
        )
    body: dict[str, Any] = {"name": send.name, "language": {"code": send.language}}
    if components:
        body["components"] = components
    return Outgoing(to, ({**_base(to, "template"), "template": body},))


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at a paragraph, else a line, else a
    word in the last fifth of a part, else where the limit falls."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window, floor = text[:limit], limit * 4 // 5
        cut = next((at for sep in ("\n\n", "\n", " ") if (at := window.rfind(sep)) >= floor), limit)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def _base(to: str, kind: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind}


def _text(to: str, body: str) -> dict[str, Any]:
    # No link previews: an automatic reply should not fetch what a customer's words point at.
    return {**_base(to, "text"), "text": {"body": body, "preview_url": False}}


def _buttons(to: str, body: str, choices: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        **_base(to, "interactive"),
        "interactive": {
            "type": "button",
            "body": {"text": body or "…"},
            "action": {"buttons": [_reply(label, data) for label, data in choices]},
        },
    }


def _reply(label: str, data: str) -> dict[str, Any]:
    return {"type": "reply", "reply": {"id": data[:BUTTON_ID], "title": _cut(label, BUTTON_TITLE)}}


def _list(to: str, body: str, choices: list[tuple[str, str]], menu: str) -> dict[str, Any]:
    rows = [{"id": data[:ROW_ID], "title": _cut(label, ROW_TITLE)} for label, data in choices]
    return {
        **_base(to, "interactive"),
        "interactive": {
            "type": "list",
            "body": {"text": body or "…"},
            "action": {"button": _cut(menu, BUTTON_TITLE), "sections": [{"rows": rows}]},
        },
    }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
