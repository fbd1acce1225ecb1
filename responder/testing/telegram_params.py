"""Bot API request parameters: decoding them, and the limits Telegram checks them against."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from responder.testing._http import read_form
from responder.testing.telegram_records import JSON, Fail
from responder.wire.telegram.text import visible_length

# The Bot API's own limits, so a client that ignores them fails here rather than in production.
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes, InlineKeyboardButton.callback_data
_OBJECT_PARAMS = ("reply_markup", "reply_parameters", "allowed_updates", "commands", "entities")


async def read_params(request: web.Request) -> JSON:
    """Query string plus JSON or form body (the Bot API takes all three); in a form, objects
    are JSON text and a file is an Upload."""
    params: JSON = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    elif request.content_type == "multipart/form-data":
        params.update(await read_form(request))
    elif request.can_read_body:
        form = await request.post()
        params.update((key, str(value)) for key, value in form.items())
    for key in _OBJECT_PARAMS:
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def check_text(text: str, params: JSON) -> None:
    if not text.strip():
        raise Fail(400, "Bad Request: message text is empty")
    if counted_length(text, params) > MAX_TEXT:
        raise Fail(400, "Bad Request: message is too long")


def counted_length(text: str, params: JSON) -> int:
    """A text or caption as Telegram counts it: after entity parsing, in UTF-16 code units."""
    if params.get("parse_mode") == "HTML":
        return visible_length(text)
    return len(text.encode("utf-16-le")) // 2


def check_markup(params: JSON) -> None:
    """InlineKeyboardButton: a label, and callback_data of 1-64 bytes when given."""
    rows = (params.get("reply_markup") or {}).get("inline_keyboard") or []
    for button in (b for row in rows for b in row):
        if not button.get("text"):
            raise Fail(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
            raise Fail(400, "Bad Request: BUTTON_DATA_INVALID")


def keyboard(markup: Any) -> JSON | None:
    # An inline keyboard without buttons is no keyboard; other markup (a reply keyboard)
    # belongs to the chat rather than the message, so a message never shows it.
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def chat_key(value: Any) -> int | str:
    # Numeric ids arrive as strings in form bodies; "@channelname" stays a string.
    text = str(value)
    return int(text) if text.lstrip("-").isdigit() else text


def reply_to_id(params: JSON) -> int | None:
    if "reply_parameters" in params:
        return int(params["reply_parameters"]["message_id"])
    if "reply_to_message_id" in params:
        return int(params["reply_to_message_id"])
    return None
