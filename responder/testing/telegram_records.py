"""What the Bot API stand-in records (sends, messages, calls) and how it answers an error."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
# Telegram's answers, word for word, for tests to match and to pass to fail_next.
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@dataclass(frozen=True)
class SentMessage:
    """One message the bot sent, copied, forwarded or edited successfully; for a file
    (sendDocument, sendPhoto) `text` is its caption."""

    method: str
    chat_id: int | str
    text: str | None
    parse_mode: str | None
    reply_to: int | None
    thread_id: int | None
    reply_markup: JSON | None
    message_id: int = 0
    at: float = field(default_factory=time.monotonic)
    file_name: str | None = None
    file_size: int | None = None
    file_id: str | None = None  # the sent file's, which getFile downloads (tg.files)


@dataclass(frozen=True)
class StoredMessage:
    """A message as the chat shows it now: after any edits, with its inline keyboard."""

    chat_id: int | str
    message_id: int
    text: str | None
    buttons: tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback_data)
    reply_markup: JSON | None
    edits: int  # successful editMessageText calls on it
    from_bot: bool


@dataclass(frozen=True)
class ApiCall:
    """Every request that reached the stand-in, failed ones included (for rate-limit checks)."""

    method: str
    params: JSON
    status: int
    at: float


class Fail(Exception):
    """An error answer: the Bot API's error_code, description and optional retry_after."""

    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def parameters(self) -> JSON | None:
        """ResponseParameters: what the bot can do about it, when Telegram says."""
        found = {"retry_after": self.retry_after, "migrate_to_chat_id": self.migrate_to_chat_id}
        given = {k: v for k, v in found.items() if v is not None}
        return given or None


def sender_id(message: JSON) -> Any:
    """The id of the user who wrote `message`, None for a channel post."""
    return (message.get("from") or {}).get("id")


def stored(key: tuple[int | str, int], message: JSON, edits: int, bot_id: int) -> StoredMessage:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return StoredMessage(
        chat_id=key[0],
        message_id=key[1],
        text=message.get("text", message.get("caption")),
        buttons=tuple(
            tuple((str(b.get("text")), str(b.get("callback_data", ""))) for b in row)
            for row in rows
        ),
        reply_markup=message.get("reply_markup"),
        edits=edits,
        from_bot=sender_id(message) == bot_id,
    )
