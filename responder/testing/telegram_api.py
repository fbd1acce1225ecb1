"""The Bot API methods the stand-in answers, with Telegram's JSON shapes (a mixin)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import deque
from typing import Any

from aiohttp import web

from responder.testing.telegram_params import (
    chat_key,
    check_markup,
    check_text,
    keyboard,
    reply_to_id,
)
from responder.testing.telegram_records import (
    JSON,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiCall,
    Fail,
    SentMessage,
    sender_id,
)

CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)

# ChatMemberAdministrator's flags the Bot API always sends.
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


class Poller:
    """One getUpdates call in flight, and whether a newer one ended it."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.ended = False
        self.conflict = False  # ended while its client was still there to be told

    def client_alive(self) -> bool:
        transport = self.request.transport
        return transport is not None and not transport.is_closing()


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
    files: dict[str, tuple[str, bytes]]  # file_id -> (file_path, bytes), for getFile
    _ids: itertools.count[int]
    _update_ids: itertools.count[int]
    _stopping: asyncio.Event | None
    _wake: asyncio.Event | None
    _poller: Poller | None
    conflicts: int

    async def _api_getme(self, params: JSON) -> JSON:
        return self.bot_user

    async def _api_getupdates(self, params: JSON) -> list[JSON]:
        return await self._long_poll(params, None)

    async def _poll(self, params: JSON, request: web.Request) -> list[JSON]:
        # One poller per bot, as on Telegram: a new getUpdates ends the one in flight with
        # 409 "terminated by other getUpdates request", which a test counts as two instances
        # polling the same bot (issue 19). One whose client is gone (killed mid-poll) just
        # ends: that is a takeover, not double polling.
        me = Poller(request)
        with self._cond:
            older, self._poller = self._poller, me
            if older is not None:
                older.ended = True
                if older.client_alive():
                    older.conflict = True
                    self.conflicts += 1
        if older is not None and self._wake is not None:
            self._wake.set()  # the older poll sees it was ended
            self._wake = asyncio.Event()
        try:
            return await self._long_poll(params, me)
        finally:
            with self._cond:
                if self._poller is me:
                    self._poller = None

    async def _long_poll(self, params: JSON, me: Poller | None) -> list[JSON]:
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
            if me is not None and me.ended:
                if me.conflict:
                    raise Fail(409, CONFLICT)
                return []
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
        check_text(text, params)
        check_markup(params)
        return self._send("sendMessage", params, {"text": text})

    async def _api_copymessage(self, params: JSON) -> JSON:
        check_markup(params)
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
        key = (chat_key(params["chat_id"]), int(params["message_id"]))
        text = str(params.get("text", ""))
        check_text(text, params)
        check_markup(params)
        # No reply_markup in an edit means no inline keyboard afterwards, as on Telegram.
        markup = keyboard(params.get("reply_markup"))
        with self._cond:
            message = self._messages.get(key)
            if message is None:
                raise Fail(400, "Bad Request: message to edit not found")
            if sender_id(message) != self.bot_user["id"]:
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
        chat_id = chat_key(params["chat_id"])
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
            chat = self._chats.get(chat_key(params["chat_id"]))
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
        key = (chat_key(params["from_chat_id"]), int(params["message_id"]))
        with self._cond:
            source = self._messages.get(key)
        if source is None:
            raise Fail(400, "Bad Request: message to copy not found")
        return source

    def _send(self, method: str, params: JSON, content: JSON, **record: Any) -> JSON:
        """A new message from the bot, recorded in `sent` (with `record`'s fields)."""
        with self._cond:
            message = self._new_message(self._chat(chat_key(params["chat_id"])), self.bot_user)
            message.update(content)
            if "message_thread_id" in params:
                message["message_thread_id"] = int(params["message_thread_id"])
                message["is_topic_message"] = True
            markup = keyboard(params.get("reply_markup"))
            if markup is not None:
                message["reply_markup"] = markup
            reply_to = reply_to_id(params)
            if reply_to is not None:
                original = self._messages.get((message["chat"]["id"], reply_to))
                message["reply_to_message"] = original or {"message_id": reply_to, "date": 0}
                message["reply_to_message"].setdefault("chat", message["chat"])
            self._record(method, params, message, **record)
            return dict(message)

    def _record(self, method: str, params: JSON, message: JSON, **record: Any) -> None:
        # Called with _cond held.
        thread = params.get("message_thread_id")
        fields: dict[str, Any] = {"text": message.get("text")} | record
        self.sent.append(
            SentMessage(
                method=method,
                chat_id=chat_key(params["chat_id"]),
                parse_mode=params.get("parse_mode"),
                reply_to=reply_to_id(params),
                thread_id=None if thread is None else int(thread),
                reply_markup=params.get("reply_markup"),
                message_id=int(message["message_id"]),
                **fields,
            )
        )
        self._cond.notify_all()
