"""A Telegram Bot API stand-in over real HTTP (aiohttp, own thread) that records what bots send."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from http import HTTPStatus

from aiohttp import web

from responder.testing._http import HOST, ThreadedHTTPServer
from responder.testing._sent import SentLog
from responder.testing.telegram_api import Poller
from responder.testing.telegram_files import MAX_DOCUMENT, BotApiFiles
from responder.testing.telegram_params import read_params
from responder.testing.telegram_records import (
    JSON,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiCall,
    Fail,
    SentMessage,
    StoredMessage,
    stored,
)
from responder.testing.telegram_updates import CustomerUpdates

__all__ = [
    "NOT_MODIFIED",
    "QUERY_TOO_OLD",
    "ApiCall",
    "SentMessage",
    "StoredMessage",
    "TelegramStandIn",
]


class TelegramStandIn(CustomerUpdates, BotApiFiles, SentLog[SentMessage], ThreadedHTTPServer):
    """Bot API on 127.0.0.1: `BotApi(stand_in.token, stand_in.base_url, ...)`.

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
        self.files: dict[str, tuple[str, bytes]] = {}
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._wake: asyncio.Event | None = None
        self._poller: Poller | None = None  # the getUpdates call in flight
        self.conflicts = 0  # a second poller told 409 Conflict (issue 19: double polling)

    @property
    def base_url(self) -> str:
        # As config.bot_url: the token and then "/<method>" go after it.
        return f"http://{HOST}:{self.port}/bot"

    # -- lifecycle --------------------------------------------------------------------------

    def _app(self) -> web.Application:
        self._wake = asyncio.Event()
        # Uploads up to the Bot API's 50 MB, and a little over, reach its own check.
        app = web.Application(client_max_size=MAX_DOCUMENT + 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        return app

    async def _download(self, request: web.Request) -> web.Response:
        """A file by the file_path getFile gave (core.telegram.org/bots/api#file)."""
        if self.invalid_token or request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401}, status=401)
        path = request.match_info["path"]
        with self._cond:
            found = next((d for p, d in self.files.values() if p == path), None)
        if found is None:
            return web.json_response({"ok": False, "error_code": 404}, status=404)
        return web.Response(body=found, content_type="application/octet-stream")

    def _closing(self) -> None:
        self._notify_now()  # parked long polls see _stopping and answer [] at once

    # -- test controls: faults and inspection -----------------------------------------------

    def fail_next(
        self,
        method: str,
        code: int,
        count: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` ("*" for any) with error `code`, and
        ResponseParameters when retry_after or migrate_to_chat_id is given."""
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after or 0}",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: chat not found",
            }.get(code, HTTPStatus(code).phrase)
            if migrate_to_chat_id is not None:
                description = "Bad Request: group chat was upgraded to a supergroup chat"
            if (method, code) == ("answerCallbackQuery", 400):
                description = QUERY_TOO_OLD
        with self._cond:
            bucket = self._failures.setdefault(method, deque())
            fail = Fail(code, description, retry_after, migrate_to_chat_id)
            bucket.extend([fail] * count)

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
            if method.lower() == "getupdates":
                # The poll needs its connection: a poller whose client is gone (kill -9)
                # is not a second bot instance (see _api_getupdates).
                body["result"] = await self._poll(params, request)
            else:
                body["result"] = await handler(params)
        except Fail as fail:
            status = fail.code
            body = {"ok": False, "error_code": fail.code, "description": fail.description}
            if fail.parameters() is not None:
                body["parameters"] = fail.parameters()
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
