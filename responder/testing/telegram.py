"""A Telegram Bot API stand-in over real HTTP (aiohttp, own thread) that records what bots send."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import deque
from http import HTTPStatus
from typing import Any

from aiohttp import web

from responder.testing._http import HOST, ThreadedHTTPServer
from responder.testing.telegram_api import (
    JSON,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiCall,
    BotApiMethods,
    Fail,
    SentMessage,
    StoredMessage,
    read_params,
    stored,
)

__all__ = [
    "NOT_MODIFIED",
    "QUERY_TOO_OLD",
    "ApiCall",
    "SentMessage",
    "StoredMessage",
    "TelegramStandIn",
]

# The Bot API's own limits, so a client that ignores them fails here rather than in production.
# ChatMemberAdministrator's required flags; PTB refuses the object without any of them.


class TelegramStandIn(BotApiMethods, ThreadedHTTPServer):
    """Bot API on 127.0.0.1: `telegram.Bot(stand_in.token, base_url=stand_in.base_url)`.

    Tests push customer updates (push_message, push_callback, ...) that getUpdates long
    polling hands out with Telegram's offset semantics, read what the bot sent from `sent`,
    and inject failures (fail_next, invalid_token) the way Telegram reports them.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        token: str = "123456:TEST-token",
        bot_username: str = "responder_test_bot",
        staff: dict[int, str] | None = None,  # user id -> "member" / "administrator" / ...
    ) -> None:
        self._port = port
        self.token = token
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Responder Test",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.staff: dict[int, str] = dict(staff or {})
        self.invalid_token = False
        self.sent: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.answered_callbacks: list[JSON] = []
        self.commands: list[JSON] = []
        self.topics: dict[int | str, list[JSON]] = {}
        self._cond = threading.Condition()
        self._updates: deque[JSON] = deque()
        self._allowed: list[str] = []
        self._failures: dict[str, deque[Fail]] = {}
        self._chats: dict[int | str, JSON] = {}
        self._messages: dict[tuple[int | str, int], JSON] = {}
        self._edits: dict[tuple[int | str, int], int] = {}
        self._queries: dict[str, bool] = {}
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._wake: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        # PTB appends the token and then "/<method>" to this.
        return f"http://{HOST}:{self.port}/bot"

    # -- lifecycle --------------------------------------------------------------------------

    def _app(self) -> web.Application:
        self._wake = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        return app

    def _closing(self) -> None:
        self._notify_now()  # parked long polls see _stopping and answer [] at once

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

    # -- test controls: incoming updates ----------------------------------------------------

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
        photo: bool = False,
        kind: str = "message",
    ) -> JSON:
        """Queue a message update from a user; returns the whole update dict."""
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
            if photo:
                message["photo"] = [
                    {"file_id": f"photo-{message['message_id']}", "file_unique_id": "u1"}
                    | {"width": 90, "height": 90, "file_size": 1024}
                ]
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

    # -- test controls: faults and inspection -----------------------------------------------

    def fail_next(
        self,
        method: str,
        code: int,
        count: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` ("*" for any) with error `code`."""
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after or 0}",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: chat not found",
            }.get(code, HTTPStatus(code).phrase)
            if (method, code) == ("answerCallbackQuery", 400):
                description = QUERY_TOO_OLD
        with self._cond:
            bucket = self._failures.setdefault(method, deque())
            bucket.extend([Fail(code, description, retry_after)] * count)

    def message(self, chat_id: int | str, message_id: int) -> StoredMessage:
        """A message as it is now (text, buttons, edit count); KeyError if there is none."""
        with self._cond:
            key = (chat_id, message_id)
            found = self._messages.get(key)
            if found is None:
                raise KeyError(f"no message {message_id} in chat {chat_id}")
            return stored(key, found, self._edits.get(key, 0), self.bot_user["id"])

    def messages(self, chat_id: int | str) -> list[StoredMessage]:
        """Every message in the chat, the customer's and the bot's, oldest first."""
        with self._cond:
            keys = sorted(k for k in self._messages if k[0] == chat_id)
            bot = self.bot_user["id"]
            return [stored(k, self._messages[k], self._edits.get(k, 0), bot) for k in keys]

    def send_times(self, chat_id: int | str) -> list[float]:
        """Monotonic timestamps of every successful send to `chat_id`, oldest first."""
        with self._cond:
            return [s.at for s in self.sent if str(s.chat_id) == str(chat_id)]

    def wait_for_sent(self, n: int, timeout: float) -> list[SentMessage]:
        """Block until at least `n` messages were sent; returns all sent so far."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.sent) >= n, timeout):
                raise TimeoutError(self._shortfall(n, timeout))
            return list(self.sent)

    # Same signature as wait_for_sent on purpose, hence the timeout argument.
    async def wait_for_sent_async(self, n: int, timeout: float) -> list[SentMessage]:
        """Like wait_for_sent, polling so the caller's event loop keeps running."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if len(self.sent) >= n:
                    return list(self.sent)
                if time.monotonic() >= deadline:
                    raise TimeoutError(self._shortfall(n, timeout))
            await asyncio.sleep(0.01)

    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._cond:
            return list(self._updates)

    def _shortfall(self, n: int, timeout: float) -> str:
        got = [(s.method, s.chat_id, s.text) for s in self.sent]
        return f"wanted {n} sent messages within {timeout}s, got {len(got)}: {got!r}"

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: JSON = {}
        status, body = 200, JSON(ok=True, result=None)
        try:
            params = await read_params(request)
            if self.invalid_token or request.match_info["token"] != self.token:
                raise Fail(401, "Unauthorized")
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                raise Fail(404, "Not Found")
            self._take_failure(method)
            body["result"] = await handler(params)
        except Fail as fail:
            status = fail.code
            body = {"ok": False, "error_code": fail.code, "description": fail.description}
            if fail.retry_after is not None:
                body["parameters"] = {"retry_after": fail.retry_after}
        except (KeyError, ValueError, TypeError) as exc:
            status = 400
            body = {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
        with self._cond:
            self.calls.append(ApiCall(method, params, status, time.monotonic()))
        return web.json_response(body, status=status)

    def _take_failure(self, method: str) -> None:
        with self._cond:
            for key in (method, "*"):
                bucket = self._failures.get(key)
                if bucket:
                    raise bucket.popleft()

    # -- Bot API methods (each gets the decoded parameters, returns "result") --------------


def _user(user_id: int, first: str, last: str | None, username: str | None) -> JSON:
    user: JSON = {"id": user_id, "is_bot": False, "first_name": first}
    if last is not None:
        user["last_name"] = last
    if username is not None:
        user["username"] = username
    return user
