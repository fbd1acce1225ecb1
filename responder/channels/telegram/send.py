"""Sending posts through the Bot API: limits, topics, long texts, and errors by class."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from responder.channels.base import FetchFile
from responder.channels.telegram.botapi import BotApi
from responder.channels.telegram.errors import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from responder.channels.telegram.files import FilePoster
from responder.channels.telegram.limits import SendSchedule
from responder.core.channel import Keyboard, Topic
from responder.domain.models import Delivered, OutboundReply
from responder.errors import (
    ChannelDown,
    PermanentError,
    RecipientBlocked,
    SignInRefused,
    TransientError,
)
from responder.wire.telegram.post import Post
from responder.wire.telegram.text import split_html

log = logging.getLogger(__name__)
T = TypeVar("T")
NO_PREVIEW = {"is_disabled": True}
HTML = "HTML"
# answerCallbackQuery refuses a query older than about 15 seconds or answered already
# ("query is too old and response timeout expired or query ID is invalid"): after a
# restart or a retry. Only the toast is lost, so the edit still goes ahead.
STALE_QUERY = ("query is too old", "query id is invalid")
# editMessageText with the text and keyboard the message already has: a retry of an edit
# Telegram made but whose answer we lost. The message shows what we wanted, so: done.
NOT_MODIFIED = "message is not modified"


class Sender:
    """Knows the staff group's topics (one per ticket) for this run; the ticket's first
    post records its topic, so after a restart the topic comes with the post."""

    def __init__(
        self,
        channel: str,
        bot: BotApi,
        schedule: SendSchedule,
        staff: int | None,
        files: FetchFile | None = None,
    ) -> None:
        self._channel = channel
        self._bot = bot
        self._schedule = schedule
        self._staff = staff
        self._forum = False
        self._topics: dict[str, int] = {}
        self._topic_lock = asyncio.Lock()
        self._dead_threads: set[int] = set()
        self._files = FilePoster(bot, files, self.guard, self._wait)

    async def learn_staff_group(self) -> None:
        """Whether the staff group has topics; a group the bot cannot see is logged, and
        customers are still answered."""
        if self._staff is None:
            return
        try:
            chat = await self._bot.get_chat(self._staff)
        except (BadRequest, Forbidden) as exc:
            log.error(
                "telegram %s: cannot see the staff group %s (%s): add the bot to the group, "
                "or fix staff_chat_id",
                self._channel,
                self._staff,
                exc,
            )
            return
        self._forum = bool(chat.get("is_forum"))

    async def send(self, reply: OutboundReply) -> Delivered:
        post = Post.from_bytes(reply.message)
        if post.callback is not None:
            await self._answer(post.callback, post.callback_text)
        if post.edit is not None:
            await self._edit(post)
            # No new message: the edited one is already known (and mapped) as what it was.
            return Delivered(self._channel, str(post.chat_id), (), None)
        thread = await self._thread(post.topic)
        ids: list[str] = []
        markup = _markup(post.buttons)
        if post.copy_from is not None and post.copy_message is not None:
            await self._wait(post.chat_id)
            copied = await self.guard(
                self._bot.copy_message(
                    post.chat_id,
                    post.copy_from,
                    post.copy_message,
                    caption=post.caption,
                    parse_mode=HTML if post.caption else None,
                    message_thread_id=thread,
                    reply_parameters=_reply(post.reply_to),
                    # The keyboard goes on the copy only when no text of ours follows it.
                    reply_markup=None if post.text.strip() else markup,
                ),
                post.chat_id,
                thread,
            )
            ids.append(str(copied["message_id"]))
        if post.file is not None:
            ids.append(await self._files.post(reply.reply_id, post, thread))
        for n, chunk in enumerate(split_html(post.text)):
            await self._wait(post.chat_id)
            sent = await self.guard(
                self._bot.send_message(
                    post.chat_id,
                    chunk,
                    parse_mode=HTML,
                    message_thread_id=thread,
                    reply_parameters=_reply(post.reply_to) if n == 0 else None,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=markup if n == 0 else None,
                ),
                post.chat_id,
                thread,
            )
            ids.append(str(sent["message_id"]))
        for n, file in enumerate(post.files):
            # The caption goes under the first file when the words did not go on their own.
            caption = post.caption if n == 0 and not post.text.strip() else None
            one = dataclasses.replace(post, text="", file=file, caption=caption, files=())
            ids.append(await self._files.post(reply.reply_id, one, thread))
        return Delivered(self._channel, str(post.chat_id), tuple(ids), _str(thread))

    async def _answer(self, query: str, text: str | None) -> None:
        """Stops the spinner on the button and shows `text` as a toast."""
        try:
            await self.guard(self._answer_call(query, text), chat=None)
        except _StaleQuery as exc:
            log.info("telegram %s: callback query %s not answered: %s", self._channel, query, exc)

    async def _answer_call(self, query: str, text: str | None) -> bool:
        try:
            return await self._bot.answer_callback_query(query, text=text)
        except BadRequest as exc:
            if any(part in exc.message.lower() for part in STALE_QUERY):
                raise _StaleQuery(exc.message) from None
            raise

    async def _edit(self, post: Post) -> None:
        """editMessageText on a message of ours; without reply_markup Telegram drops the
        message's inline keyboard, which is what no buttons mean."""
        assert post.edit is not None
        chunks = split_html(post.text)
        if len(chunks) != 1:
            raise PermanentError(f"chat {post.chat_id}: an edit must fit in one message")
        await self._wait(post.chat_id)
        await self.guard(self._edit_call(post, chunks[0]), post.chat_id)

    async def _edit_call(self, post: Post, text: str) -> None:
        assert post.edit is not None
        try:
            await self._bot.edit_message_text(
                chat_id=post.chat_id,
                message_id=post.edit,
                text=text,
                parse_mode=HTML,
                reply_markup=_markup(post.buttons),
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:
            if NOT_MODIFIED not in exc.message.lower():
                # "message to edit not found", "message can't be edited": the guard makes
                # these permanent, as a retry cannot bring the message back.
                raise
            log.info("telegram %s: message %s already edited", self._channel, post.edit)

    async def _thread(self, topic: Topic | None) -> int | None:
        if topic is None or not self._forum:
            return None
        if not topic.ref:  # an answer in a topic a staff member wrote in
            return topic.thread
        if topic.thread is not None and topic.thread not in self._dead_threads:
            return topic.thread
        async with self._topic_lock:
            known = self._topics.get(topic.ref)
            if known is not None and known not in self._dead_threads:
                return known
            assert self._staff is not None
            await self._wait(self._staff)
            created = await self.guard(
                self._bot.create_forum_topic(self._staff, topic.name), self._staff, None
            )
            thread = int(created["message_thread_id"])
            self._topics[topic.ref] = thread
            return thread

    async def _wait(self, chat: int) -> None:
        delay = self._schedule.reserve(chat, group=SendSchedule.is_group(chat))
        if delay > 0:
            await asyncio.sleep(delay)

    async def guard(self, call: Awaitable[T], chat: int | None, thread: int | None = None) -> T:
        """The Bot API's errors as ours: what a retry can fix, and what it cannot."""
        try:
            return await call
        except RetryAfter as exc:
            wait = exc.retry_after
            self._schedule.pause(wait)
            raise TransientError(f"Telegram asked us to wait {wait:.0f}s (429)", wait) from None
        except Forbidden as exc:
            if chat is not None and chat != self._staff and chat > 0:
                raise RecipientBlocked(f"chat {chat}: {exc.message}") from None
            raise PermanentError(f"chat {chat}: {exc.message}") from None
        except InvalidToken:
            # Its text carries the token; say what it means instead.
            raise SignInRefused("Telegram refused the bot token") from None
        except BadRequest as exc:
            if thread is not None and "thread" in exc.message.lower():
                # The ticket's topic was deleted in the group: open a new one on the retry.
                self._dead_threads.add(thread)
                raise TransientError(f"topic {thread} is gone: {exc.message}", 1.0) from None
            raise PermanentError(f"chat {chat}: {exc.message}") from None
        except NetworkError as exc:  # also TimedOut and 5xx answers such as 502
            # The Bot API out of reach, not this chat's trouble: wait for it to come back.
            raise ChannelDown(f"{type(exc).__name__}: {exc.message}") from None
        except TelegramError as exc:
            raise TransientError(f"{type(exc).__name__}: {exc.message}") from None


class _StaleQuery(Exception):
    """answerCallbackQuery came too late (not a TelegramError, so the guard lets it by)."""


def _markup(rows: Keyboard | None) -> dict[str, Any] | None:
    """InlineKeyboardMarkup: rows of buttons, each a label and its callback_data."""
    if not rows:
        return None
    keyboard = [[{"text": label, "callback_data": data} for label, data in row] for row in rows]
    return {"inline_keyboard": keyboard}


def _reply(message_id: int | None) -> dict[str, Any] | None:
    if message_id is None:
        return None
    # The customer may have deleted the message meanwhile; send anyway.
    return {"message_id": message_id, "allow_sending_without_reply": True}


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)
