"""The Bot API's failures by class, sorted from its error answer the way python-telegram-bot
sorted them, so the send guard, the polling loop and `check --connect` tell them apart."""

from __future__ import annotations

from typing import Any


class TelegramError(Exception):
    """A Bot API call failed; `message` is Telegram's description (never the token)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidToken(TelegramError):
    """401: the token is not a bot's; 404: a malformed token (Telegram answers both)."""


class Forbidden(TelegramError):
    """403: blocked by the user, kicked from the group, or not allowed to write there."""


class BadRequest(TelegramError):
    """400: this request cannot succeed as it is (chat not found, message to edit not found)."""


class ChatMigrated(TelegramError):
    """The group became a supergroup with a new id (ResponseParameters.migrate_to_chat_id)."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"Group migrated to supergroup. New chat id: {new_chat_id}")
        self.new_chat_id = new_chat_id


class RetryAfter(TelegramError):
    """429: flood control; no request may go for `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Flood control exceeded. Retry in {retry_after:g} seconds")
        self.retry_after = retry_after


class Conflict(TelegramError):
    """409: another getUpdates (a second instance) or a webhook holds this bot's updates."""


class NetworkError(TelegramError):
    """The Bot API out of reach, or its front end failing (502 and other 5xx answers)."""


class TimedOut(NetworkError):
    """No answer within the timeout."""

    def __init__(self, message: str = "Timed out") -> None:
        super().__init__(message)


def from_answer(status: int, doc: Any) -> TelegramError:
    """The error for a Bot API answer that is not a success: by its parameters first (a
    migration or a wait), then by the HTTP status, as python-telegram-bot did."""
    answer: dict[str, Any] = doc if isinstance(doc, dict) else {}
    description = answer.get("description")
    text = _plain(str(description)) if description else "Unknown HTTPError"
    found = answer.get("parameters")
    parameters: dict[str, Any] = found if isinstance(found, dict) else {}
    if isinstance(parameters.get("migrate_to_chat_id"), int):
        return ChatMigrated(parameters["migrate_to_chat_id"])
    if isinstance(parameters.get("retry_after"), int | float) and parameters["retry_after"] > 0:
        return RetryAfter(float(parameters["retry_after"]))
    if status == 403:
        return Forbidden(text)
    if status in (401, 404):
        # 404 is Telegram's answer to a malformed token (and to an unknown method, which we
        # never call).
        return InvalidToken(text)
    if status in (400, 413):  # 413: a file over the Bot API's upload limit; no retry helps
        return BadRequest(text)
    if status == 409:
        return Conflict(text)
    if status == 502:
        return NetworkError(str(description) if description else "Bad Gateway")
    if status >= 500:
        return NetworkError(f"{text} ({status})")
    if 200 <= status < 300:  # 200 without "ok": true, or not JSON at all
        return TelegramError("Invalid server response")
    return TelegramError(f"{text} ({status})")


def _plain(description: str) -> str:
    """ "Bad Request: chat not found" as "Chat not found", as python-telegram-bot showed it
    (the delivery log and the guard's messages kept that wording)."""
    text = description
    for prefix in ("Error: ", "[Error]: ", "Bad Request: "):
        text = text.removeprefix(prefix)
    return text[:1].upper() + text[1:] if text != description else text
