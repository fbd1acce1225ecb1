"""What the daemon posts to Telegram, as the bytes a replies row keeps until it is sent."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Topic:
    """The staff group's forum topic for a ticket; `thread` once it exists."""

    ref: str
    name: str
    thread: int | None = None


@dataclass(frozen=True)
class Post:
    """One outgoing Telegram message: our text (HTML), or a copy of a message already in a
    chat (a staff member's answer, a customer's photo) with an optional new caption."""

    chat_id: int
    text: str = ""  # HTML (parse_mode=HTML); split at 4096 characters when sent
    copy_from: int | None = None  # chat id the copied message is in
    copy_message: int | None = None
    caption: str | None = None  # HTML, replaces a copied message's caption
    reply_to: int | None = None  # a message in chat_id this one answers
    topic: Topic | None = None  # in a staff group with topics: the ticket's topic

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Post:
        data = json.loads(raw)
        topic = data.pop("topic", None)
        return cls(**data, topic=Topic(**topic) if topic else None)


def post_id(channel: str) -> str:
    """A unique id for the replies row; Telegram's own message id is known only once sent."""
    return f"<{uuid.uuid4().hex}@{channel}.telegram>"
