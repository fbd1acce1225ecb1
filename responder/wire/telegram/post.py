"""What the daemon posts to Telegram, as the bytes a replies row keeps until it is sent."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from responder.core.channel import FileRef, Keyboard, Topic

# Bot API, InlineKeyboardButton.callback_data: "Data to be sent in a callback query to the
# bot when the button is pressed, 1-64 bytes".
MAX_CALLBACK_DATA = 64


@dataclass(frozen=True)
class Post:
    """One outgoing Telegram message: our text (HTML), or a copy of a message already in a
    chat (a staff member's answer, a customer's photo) with an optional new caption; or an
    edit of a message we sent, and the answer to a button press."""

    chat_id: int
    text: str = ""  # HTML (parse_mode=HTML); split at 4096 characters when sent
    copy_from: int | None = None  # chat id the copied message is in
    copy_message: int | None = None
    caption: str | None = None  # HTML, replaces a copied message's caption; a file's caption
    # A file on another channel's servers, fetched and uploaded when sent (sendPhoto,
    # sendDocument); if it cannot be, its `failed` text is posted instead.
    file: FileRef | None = None
    # A canned answer's files (issue 18), read when sent and posted after the text: the first
    # with `caption` when there is no text (sendPhoto for a picture, else sendDocument).
    files: tuple[FileRef, ...] = ()
    reply_to: int | None = None  # a message in chat_id this one answers
    topic: Topic | None = None  # in a staff group with topics: the ticket's topic
    # Rows of (label, callback_data): an inline keyboard on the (first) message.
    buttons: Keyboard | None = None
    # Edit this message of ours in chat_id instead of sending: new text, new buttons
    # (None or empty removes the keyboard).
    edit: int | None = None
    # Answer this callback query first (answerCallbackQuery); callback_text is its toast.
    callback: str | None = None
    callback_text: str | None = None

    def __post_init__(self) -> None:
        # Lists (from JSON, or a careless caller) become tuples, so equal posts compare equal.
        object.__setattr__(self, "buttons", _keyboard(self.buttons))
        for row in self.buttons or ():
            for label, data in row:
                if not label:
                    raise ValueError("a button needs a label")
                if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ValueError(
                        f"callback_data must be 1-{MAX_CALLBACK_DATA} bytes (Bot API), "
                        f"got {len(data.encode())}: {data[:80]!r}"
                    )
        if self.edit is not None:
            if not self.text.strip():
                raise ValueError("an edit needs the new text (editMessageText)")
            if self.copy_from is not None or self.copy_message is not None:
                raise ValueError("a post either edits a message or copies one, not both")
        object.__setattr__(self, "files", tuple(self.files))
        carries = self.file is not None or self.files
        if carries and (self.copy_message is not None or self.edit is not None):
            raise ValueError("a post with a file neither copies nor edits a message")

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Post:
        # Rows written before a field existed simply lack it: the default applies.
        data = json.loads(raw)
        topic, file = data.pop("topic", None), data.pop("file", None)
        data["buttons"] = _keyboard(data.get("buttons"))
        data["files"] = tuple(FileRef(**f) for f in data.get("files", ()))
        return cls(
            **data, topic=Topic(**topic) if topic else None, file=FileRef(**file) if file else None
        )


def _keyboard(rows: Any) -> Keyboard | None:
    if rows is None:
        return None
    return tuple(tuple((str(label), str(data)) for label, data in row) for row in rows)


def post_id(channel: str) -> str:
    """A unique id for the replies row; Telegram's own message id is known only once sent."""
    return f"<{uuid.uuid4().hex}@{channel}.telegram>"
