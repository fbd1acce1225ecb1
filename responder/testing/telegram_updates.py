"""The updates tests push to the Bot API stand-in, as Telegram's customers would send them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from responder.testing.telegram_api import BotApiMethods
from responder.testing.telegram_records import JSON


class CustomerUpdates(BotApiMethods):
    """`push_*` queue updates for getUpdates and wake its parked long polls; TelegramStandIn
    runs the loop they wake."""

    _loop: asyncio.AbstractEventLoop | None

    def _notify(self) -> None:
        loop = self._loop
        if loop is not None:
            # The loop may close between the check and the call; nobody is waiting then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._notify_now)

    def _notify_now(self) -> None:
        # A fresh Event per round, so a waiter never misses a set that happened before it awaited.
        if self._wake is not None:
            self._wake.set()
            self._wake = asyncio.Event()

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        from_id: int | None = None,
        first_name: str = "Customer",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "id",
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        is_bot: bool = False,
        photo: bool | bytes = False,
        document: tuple[str, str, bytes] | None = None,
        contact: tuple[str, int | None] | None = None,
        kind: str = "message",
    ) -> JSON:
        """Queue a message update from a user; returns the whole update dict. A photo's or
        a document's (name, MIME type, bytes) bytes can then be fetched by getFile. A shared
        `contact` is (phone_number, user_id): the card's own Telegram user, if any."""
        user = _user(chat_id if from_id is None else from_id, first_name, last_name, username)
        user["is_bot"] = is_bot
        if language_code is not None:
            user["language_code"] = language_code
        chat: JSON = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat.update({k: v for k, v in user.items() if k in ("first_name", "last_name")})
        else:
            chat["title"] = chat_title or f"Chat {chat_id}"
            chat["is_forum"] = message_thread_id is not None
        with self._cond:
            if chat_type != "private" and chat_id in self._chats:
                chat = self._chats[chat_id]  # a group added with add_group keeps its settings
            self._chats[chat_id] = chat
            message = self._new_message(chat, user if kind != "channel_post" else None)
            number = message["message_id"]
            if photo:
                size = len(photo) if isinstance(photo, bytes) else 1024
                message["photo"] = [
                    {"file_id": f"photo-{number}", "file_unique_id": "u1"}
                    | {"width": 90, "height": 90, "file_size": size}
                ]
                if isinstance(photo, bytes):
                    self.files[f"photo-{number}"] = (f"photos/file_{number}.jpg", photo)
            if document is not None:
                name, mime, data = document
                message["document"] = {"file_id": f"doc-{number}", "file_unique_id": "u2"} | {
                    "file_name": name,
                    "mime_type": mime,
                    "file_size": len(data),
                }
                self.files[f"doc-{number}"] = (f"documents/file_{number}", data)
            if contact is not None:
                phone, owner = contact
                # Bot API Contact: phone_number and first_name always; user_id when known.
                card: JSON = {"phone_number": phone, "first_name": first_name}
                message["contact"] = card | ({"user_id": owner} if owner is not None else {})
            elif photo or document is not None:
                if text:
                    message["caption"] = text
            else:
                message["text"] = text
            if reply_to_message_id is not None:
                original = self._messages.get((chat_id, reply_to_message_id))
                message["reply_to_message"] = original or {
                    "message_id": reply_to_message_id,
                    "date": message["date"],
                    "chat": chat,
                }
            if message_thread_id is not None:
                message["message_thread_id"] = message_thread_id
                message["is_topic_message"] = True
            if kind == "edited_message":
                message["edit_date"] = message["date"]
        return self._push({kind: message})

    def add_group(self, chat_id: int, title: str = "Staff", *, forum: bool = False) -> None:
        """Make a group known (as the bot's staff group), with topics if `forum`."""
        chat: JSON = {"id": chat_id, "type": "supergroup", "title": title, "is_forum": forum}
        with self._cond:
            self._chats[chat_id] = chat

    def push_edited(self, chat_id: int, text: str, **kwargs: Any) -> JSON:
        return self.push_message(chat_id, text, kind="edited_message", **kwargs)

    def push_channel_post(self, chat_id: int, text: str, **kwargs: Any) -> JSON:
        kwargs.setdefault("chat_type", "channel")
        return self.push_message(chat_id, text, kind="channel_post", **kwargs)

    def push_callback(
        self,
        chat_id: int,
        data: str,
        *,
        from_id: int | None = None,
        first_name: str = "Customer",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "id",
        message_id: int | None = None,
    ) -> JSON:
        """Queue a press of the button with `data` on message `message_id` in `chat_id`
        (default: the bot's last message there), by the chat's user unless `from_id`.

        A message with an inline keyboard must carry a button with that callback_data: a
        Telegram client can only send what a button holds."""
        user = _user(chat_id if from_id is None else from_id, first_name, last_name, username)
        if language_code is not None:
            user["language_code"] = language_code
        with self._cond:
            if message_id is None:
                message_id = self._last_message(chat_id)
            found = self._messages.get((chat_id, message_id))
            # A copy: the update shows the message as it was when pressed, not later edits.
            message: JSON = dict(found) if found else {"message_id": message_id, "date": 0}
            message.setdefault("chat", self._chat(chat_id))
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            offered = [button.get("callback_data") for row in rows for button in row]
            if offered and data not in offered:
                raise ValueError(f"message {message_id} has no button {data!r}: {offered!r}")
            query_id = str(next(self._ids) * 1_000_003)
            self._queries[query_id] = False
        # chat_instance: Telegram's global id for the chat the message is in.
        callback = {"id": query_id, "from": user, "chat_instance": str(-(10**12) - abs(chat_id))}
        return self._push({"callback_query": callback | {"message": message, "data": data}})

    def _last_message(self, chat_id: int) -> int:
        # Called with _cond held: the bot's last message in the chat, else anyone's.
        bot = self.bot_user["id"]
        keys = [k for k in self._messages if k[0] == chat_id]
        ours = [k[1] for k in keys if (self._messages[k].get("from") or {}).get("id") == bot]
        return max(ours or [k[1] for k in keys], default=0)

    def _push(self, payload: JSON) -> JSON:
        with self._cond:
            update = {"update_id": next(self._update_ids)} | payload
            self._updates.append(update)
        self._notify()
        return update


def _user(user_id: int, first: str, last: str | None, username: str | None) -> JSON:
    user: JSON = {"id": user_id, "is_bot": False, "first_name": first}
    if last is not None:
        user["last_name"] = last
    if username is not None:
        user["username"] = username
    return user
