"""The checks Meta makes on a send's JSON payload before it accepts the message."""

from __future__ import annotations

from typing import Any

from responder.testing.whatsapp_records import JSON, invalid_parameter

# Meta's documented limits, so a client that ignores them fails here rather than in production.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_INTERACTIVE_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_LIST_BUTTON = 20
MAX_SECTIONS = 10
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_ID = 200
MAX_ROW_DESCRIPTION = 72
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
CAPTIONED = ("image", "document", "video")
TYPES = ("text", "interactive", "template", "reaction", *MEDIA_TYPES)


def check_message(payload: Any) -> str:
    """Raise Graph's 400 for what Meta refuses; return the message type."""
    if not isinstance(payload, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    if payload.get("messaging_product") != "whatsapp":
        raise invalid_parameter("The parameter messaging_product is required.")
    if payload.get("recipient_type", "individual") not in ("individual", "group"):
        raise invalid_parameter("Param recipient_type must be one of {individual, group}.")
    to = payload.get("to")
    if not isinstance(to, str) or not any(c.isdigit() for c in to):
        raise invalid_parameter("The parameter to is required.")
    kind = payload.get("type", "text")  # Meta's default when type is left out
    if kind not in TYPES:
        raise invalid_parameter(f"Param type must be one of {{{', '.join(TYPES)}}}.")
    context = payload.get("context")
    if context is not None and not isinstance(_get(context, "message_id"), str):
        raise invalid_parameter("The parameter context['message_id'] is required.")
    body = payload.get(kind)
    if not isinstance(body, dict):
        raise invalid_parameter(f"The parameter {kind} is required.")
    if kind == "text":
        _check_text(body)
    elif kind == "interactive":
        _check_interactive(body)
    elif kind == "template":
        _check_template(body)
    elif kind == "reaction":
        _check_reaction(body)
    else:
        _check_media(kind, body)
    return str(kind)


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def _limit(value: Any, name: str, most: int, code: int = 100, least: int = 1) -> str:
    if not isinstance(value, str) or len(value) < least:
        raise invalid_parameter(f"The parameter {name} is required.")
    if len(value) > most:
        raise invalid_parameter(f"Param {name} must be at most {most} characters long.", code)
    return value


def _check_text(body: JSON) -> None:
    text = _limit(body.get("body"), "text['body']", MAX_TEXT)
    if not text.strip():
        raise invalid_parameter("Param text['body'] must not be empty.")


def _check_interactive(body: JSON) -> None:
    kind = body.get("type")
    if kind not in ("button", "list", "cta_url", "flow", "product", "product_list"):
        raise invalid_parameter("The parameter interactive['type'] is required.")
    action = body.get("action")
    if not isinstance(action, dict):
        raise invalid_parameter("The parameter interactive['action'] is required.")
    if kind not in ("button", "list"):
        return
    _limit(_get(body.get("body"), "text"), "interactive['body']['text']", MAX_INTERACTIVE_BODY)
    if kind == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
            raise invalid_parameter("Param interactive['action']['buttons'] must have 1-3 items.")
        for button in buttons:
            reply = _get(button, "reply")
            if _get(button, "type") != "reply" or not isinstance(reply, dict):
                raise invalid_parameter("Param interactive['action']['buttons'][]['type'].")
            _limit(reply.get("id"), "button id", MAX_BUTTON_ID, 131009)
            _limit(reply.get("title"), "button title", MAX_BUTTON_TITLE, 131009)
        return
    _limit(action.get("button"), "interactive['action']['button']", MAX_LIST_BUTTON, 131009)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
        raise invalid_parameter("Param interactive['action']['sections'] must have 1-10 items.")
    rows = [row for section in sections for row in (_get(section, "rows") or [])]
    if not 1 <= len(rows) <= MAX_ROWS:
        raise invalid_parameter("Total row count exceed max allowed count: 10", 131009)
    for row in rows:
        _limit(_get(row, "id"), "row id", MAX_ROW_ID, 131009)
        _limit(_get(row, "title"), "row title", MAX_ROW_TITLE, 131009)
        if _get(row, "description") is not None:
            _limit(row["description"], "row description", MAX_ROW_DESCRIPTION, 131009, 0)


def _check_template(body: JSON) -> None:
    if not isinstance(body.get("name"), str) or not body["name"]:
        raise invalid_parameter("The parameter template['name'] is required.")
    if not isinstance(_get(body.get("language"), "code"), str):
        raise invalid_parameter("The parameter template['language']['code'] is required.")


def _check_reaction(body: JSON) -> None:
    if not isinstance(body.get("message_id"), str) or not body["message_id"]:
        raise invalid_parameter("The parameter reaction['message_id'] is required.")
    if not isinstance(body.get("emoji"), str):  # "" takes a reaction back
        raise invalid_parameter("The parameter reaction['emoji'] is required.")


def _check_media(kind: str, body: JSON) -> None:
    sources = [key for key in ("id", "link") if isinstance(body.get(key), str) and body[key]]
    if len(sources) != 1:
        raise invalid_parameter(f"Param {kind} must have exactly one of id or link.")
    if "caption" in body:
        if kind not in CAPTIONED:
            raise invalid_parameter(f"Param {kind}['caption'] is not supported.")
        _limit(body["caption"], f"{kind}['caption']", MAX_CAPTION, least=0)
