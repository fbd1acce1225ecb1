"""The Bot API methods the stand-in answers, with Telegram's JSON shapes (a mixin)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from responder.wire.telegram.text import visible_length

JSON = dict[str, Any]
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes, InlineKeyboardButton.callback_data
# Telegram's answers, word for word, for tests to match and to pass to fail_next.
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_OBJECT_PARAMS = ("reply_markup", "reply_parameters", "allowed_updates", "commands", "entities")
_ADMIN_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_manage_topics",
)


@dataclass(frozen=True)
class SentMessage:
    """One message the bot sent, copied, forwarded or edited successfully."""

    method: str
    chat_id: int | str
    text: str | None
    parse_mode: str | None
    reply_to: int | None
    thread_id: int | None
    reply_markup: JSON | None
    message_id: int = 0
    at: float = field(default_factory=time.monotonic)


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

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


class BotApiMethods:
    """`_api_<method>` handlers; TelegramStandIn supplies the state they read and write."""

    bot_user: JSON
    staff: dict[int, str]
    sent: list[SentMessage]
    calls: list[ApiCall]
    answered_callbacks: list[JSON]
    commands: list[JSON]
    topics: dict[int | str, list[JSON]]
    _cond: threading.Condition
    _updates: deque[JSON]
    _allowed: list[str]
    _chats: dict[int | str, JSON]
    _messages: dict[tuple[int | str, int], JSON]
    _edits: dict[tuple[int | str, int], int]
    _queries: dict[str, bool]  # callback query id -> answered already
    _ids: itertools.count[int]
    _update_ids: itertools.count[int]
    _stopping: asyncio.Event | None
    _wake: asyncio.Event | None

    async def _api_getme(self, params: JSON) -> JSON:
        return self.bot_user

    async def _api_getupdates(self, params: JSON) -> list[JSON]:
        offset = int(params.get("offset", 0))
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        deadline = time.monotonic() + max(float(params.get("timeout", 0)), 0.0)
        with self._cond:
            if "allowed_updates" in params:  # sticky, as on Telegram; [] means "all"
                self._allowed = list(params["allowed_updates"])
            if offset < 0:  # -N: only the last N updates, forgetting the rest
                while len(self._updates) > -offset:
                    self._updates.popleft()
            while offset > 0 and self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        while True:
            wake = self._wake
            with self._cond:
                ready = [u for u in self._updates if self._is_allowed(u)][:limit]
            remaining = deadline - time.monotonic()
            stopping = self._stopping is None or self._stopping.is_set()
            if ready or remaining <= 0 or stopping or wake is None:
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), remaining)

    def _is_allowed(self, update: JSON) -> bool:
        return not self._allowed or any(kind in update for kind in self._allowed)

    async def _api_sendmessage(self, params: JSON) -> JSON:
        text = str(params.get("text", ""))
        _check_text(text, params)
        _check_markup(params)
        return self._send("sendMessage", params, {"text": text})

    async def _api_copymessage(self, params: JSON) -> JSON:
        _check_markup(params)
        source = self._source(params)
        text = params.get("caption", source.get("text", source.get("caption")))
        message = self._send("copyMessage", params, {"text": text} if text else {})
        return {"message_id": message["message_id"]}

    async def _api_forwardmessage(self, params: JSON) -> JSON:
        source = self._source(params)
        origin = {"type": "user", "date": source["date"], "sender_user": source.get("from")}
        extra = {k: source[k] for k in ("text", "caption", "photo") if k in source}
        return self._send("forwardMessage", params, extra | {"forward_origin": origin})

    async def _api_editmessagetext(self, params: JSON) -> JSON:
        key = (_chat_key(params["chat_id"]), int(params["message_id"]))
        text = str(params.get("text", ""))
        _check_text(text, params)
        _check_markup(params)
        # No reply_markup in an edit means no inline keyboard afterwards, as on Telegram.
        markup = _keyboard(params.get("reply_markup"))
        with self._cond:
            message = self._messages.get(key)
            if message is None:
                raise Fail(400, "Bad Request: message to edit not found")
            if _from(message) != self.bot_user["id"]:
                raise Fail(400, "Bad Request: message can't be edited")
            if message.get("text") == text and message.get("reply_markup") == markup:
                raise Fail(400, NOT_MODIFIED)
            message["text"], message["edit_date"] = text, int(time.time())
            message.pop("reply_markup", None)
            if markup is not None:
                message["reply_markup"] = markup
            self._edits[key] = self._edits.get(key, 0) + 1
            self._record("editMessageText", params, message)
            return dict(message)

    async def _api_createforumtopic(self, params: JSON) -> JSON:
        chat_id = _chat_key(params["chat_id"])
        topic = {"message_thread_id": next(self._ids), "name": str(params["name"])}
        topic["icon_color"] = int(params.get("icon_color", 7322096))
        with self._cond:
            self.topics.setdefault(chat_id, []).append(topic)
        return topic

    async def _api_answercallbackquery(self, params: JSON) -> bool:
        query = str(params["callback_query_id"])
        with self._cond:
            # A query can be answered once, and only one Telegram sent (push_callback).
            if self._queries.get(query, True):
                raise Fail(400, QUERY_TOO_OLD)
            self._queries[query] = True
            self.answered_callbacks.append(params)
        return True

    async def _api_getchat(self, params: JSON) -> JSON:
        with self._cond:
            chat = self._chats.get(_chat_key(params["chat_id"]))
        if chat is None:
            raise Fail(400, "Bad Request: chat not found")
        gifts = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription"), False
        )
        gifts["gifts_from_channels"] = False
        full = {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}
        return chat | full

    async def _api_getchatmember(self, params: JSON) -> JSON:
        user_id = int(params["user_id"])
        status = self.staff.get(user_id, "left")
        member: JSON = {"status": status, "user": {"id": user_id, "is_bot": False}}
        member["user"]["first_name"] = f"User {user_id}"
        if status == "administrator":
            member |= dict.fromkeys(_ADMIN_RIGHTS, False) | {"can_manage_chat": True}
        return member

    async def _api_setmycommands(self, params: JSON) -> bool:
        with self._cond:
            self.commands = list(params.get("commands", []))
        return True

    async def _api_deletewebhook(self, params: JSON) -> bool:
        return True

    async def _api_close(self, params: JSON) -> bool:
        return True

    async def _api_logout(self, params: JSON) -> bool:
        return True

    # -- helpers ----------------------------------------------------------------------------

    def _chat(self, chat_id: int | str) -> JSON:
        # Unknown chats count as private chats with a user who started the bot, so tests
        # need not push a message before the bot may write.
        return self._chats.get(chat_id) or {"id": chat_id, "type": "private", "first_name": "?"}

    def _new_message(self, chat: JSON, sender: JSON | None) -> JSON:
        message: JSON = {"message_id": next(self._ids), "date": int(time.time()), "chat": chat}
        if sender is not None:
            message["from"] = sender
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    def _source(self, params: JSON) -> JSON:
        key = (_chat_key(params["from_chat_id"]), int(params["message_id"]))
        with self._cond:
            source = self._messages.get(key)
        if source is None:
            raise Fail(400, "Bad Request: message to copy not found")
        return source

    def _send(self, method: str, params: JSON, content: JSON) -> JSON:
        with self._cond:
            message = self._new_message(self._chat(_chat_key(params["chat_id"])), self.bot_user)
            message.update(content)
            if "message_thread_id" in params:
                message["message_thread_id"] = int(params["message_thread_id"])
                message["is_topic_message"] = True
            markup = _keyboard(params.get("reply_markup"))
            if markup is not None:
                message["reply_markup"] = markup
            reply_to = _reply_to(params)
            if reply_to is not None:
                original = self._messages.get((message["chat"]["id"], reply_to))
                message["reply_to_message"] = original or {"message_id": reply_to, "date": 0}
                message["reply_to_message"].setdefault("chat", message["chat"])
            self._record(method, params, message)
            return dict(message)

    def _record(self, method: str, params: JSON, message: JSON) -> None:
        # Called with _cond held.
        thread = params.get("message_thread_id")
        self.sent.append(
            SentMessage(
                method=method,
                chat_id=_chat_key(params["chat_id"]),
                text=message.get("text"),
                parse_mode=params.get("parse_mode"),
                reply_to=_reply_to(params),
                thread_id=None if thread is None else int(thread),
                reply_markup=params.get("reply_markup"),
                message_id=int(message["message_id"]),
            )
        )
        self._cond.notify_all()


async def read_params(request: web.Request) -> JSON:
    """Query string plus JSON or form body; PTB sends form fields with JSON-encoded objects."""
    params: JSON = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _OBJECT_PARAMS:
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def _check_text(text: str, params: JSON) -> None:
    if not text.strip():
        raise Fail(400, "Bad Request: message text is empty")
    # Telegram counts the text after entity parsing, in UTF-16 code units.
    counted = (
        visible_length(text)
        if params.get("parse_mode") == "HTML"
        else len(text.encode("utf-16-le")) // 2
    )
    if counted > MAX_TEXT:
        raise Fail(400, "Bad Request: message is too long")


def _check_markup(params: JSON) -> None:
    """InlineKeyboardButton: a label, and callback_data of 1-64 bytes when given."""
    rows = (params.get("reply_markup") or {}).get("inline_keyboard") or []
    for button in (b for row in rows for b in row):
        if not button.get("text"):
            raise Fail(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
            raise Fail(400, "Bad Request: BUTTON_DATA_INVALID")


def _keyboard(markup: Any) -> JSON | None:
    # An inline keyboard without buttons is no keyboard; other markup (a reply keyboard)
    # belongs to the chat rather than the message, so a message never shows it.
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _from(message: JSON) -> Any:
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
        from_bot=_from(message) == bot_id,
    )


def _chat_key(value: Any) -> int | str:
    # Numeric ids arrive as strings in form bodies; "@channelname" stays a string.
    text = str(value)
    return int(text) if text.lstrip("-").isdigit() else text


def _reply_to(params: JSON) -> int | None:
    if "reply_parameters" in params:
        return int(params["reply_parameters"]["message_id"])
    if "reply_to_message_id" in params:
        return int(params["reply_to_message_id"])
    return None
