"""A customer's file kept by another channel (WhatsApp media) posted into the staff group:
fetched through the composition root and uploaded, or said in its place when it cannot be."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from responder.channels.base import FetchFile
from responder.channels.telegram.botapi import BotApi
from responder.core.canned import CANNED
from responder.core.channel import FileRef
from responder.errors import PermanentError, TransientError
from responder.wire.telegram.post import Post

log = logging.getLogger(__name__)

# The Bot API uploads up to 50 MB (sendDocument) and 10 MB (sendPhoto); the daemon holds a
# file in memory while it passes it on, so a small VPS's budget sets the lower bound here.
FILE_LIMIT = 20 * 1024 * 1024
PHOTO_LIMIT = 10 * 1024 * 1024
CANNED_LIMIT = 50 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})  # a sticker (WebP) goes as a file
# A fetch that keeps failing: after this many tries staff are told instead (issue 16).
FETCH_TRIES = 3
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
}

Guard = Callable[[Awaitable[Any], int | None, int | None], Awaitable[Any]]


class FilePoster:
    """Posts files into one chat through `bot`; `guard` sorts the Bot API's errors and
    `wait` keeps Telegram's send limits, as for every other post."""

    def __init__(
        self,
        bot: BotApi,
        fetch: FetchFile | None,
        guard: Guard,
        wait: Callable[[int], Awaitable[None]],
    ) -> None:
        self._bot = bot
        self._fetch = fetch
        self._guard = guard
        self._wait = wait
        self._failures: dict[int, int] = {}  # reply id -> fetches failed in this run

    async def post(self, reply_id: int, post: Post, thread: int | None) -> str:
        """The id of the message that went: the file, or the words saying it did not."""
        file = post.file
        assert file is not None
        try:
            got = await self._get(file)
        except TransientError as exc:
            if file.channel == CANNED:
                raise  # the shop's own file: retried like any reply, then parked
            tries = self._failures[reply_id] = self._failures.get(reply_id, 0) + 1
            if tries < FETCH_TRIES:
                # Plain TransientError: the other channel's outage (ChannelDown) is not this
                # one's, whose other posts must go on. The outbox tries again after its backoff.
                raise TransientError(f"fetching the file: {exc}", exc.retry_after) from exc
            return await self._instead(reply_id, post, thread, str(exc))
        except PermanentError as exc:
            if file.channel == CANNED:
                raise  # parked and reported: the admin removed or changed the file
            return await self._instead(reply_id, post, thread, str(exc))
        self._failures.pop(reply_id, None)
        content, mime = got.content, got.mime or file.mime
        name = file.name or f"{file.kind}{EXTENSIONS.get(mime, '')}"
        photo = file.kind == "image" and mime in PHOTO_TYPES and len(content) <= PHOTO_LIMIT
        upload = self._bot.send_photo if photo else self._bot.send_document
        await self._wait(post.chat_id)
        sent = await self._guard(
            upload(
                post.chat_id,
                content,
                name,
                caption=post.caption,
                parse_mode="HTML" if post.caption else None,
                message_thread_id=thread,
            ),
            post.chat_id,
            thread,
        )
        return str(sent["message_id"])

    async def _get(self, file: FileRef) -> Any:
        if self._fetch is None:
            raise PermanentError("no channel here keeps customers' files")
        # A canned file was checked against the Bot API's own limit (`responder check`).
        limit = CANNED_LIMIT if file.channel == CANNED else FILE_LIMIT
        return await self._fetch(file.channel, file.ref, limit)

    async def _instead(self, reply_id: int, post: Post, thread: int | None, reason: str) -> str:
        file = post.file
        assert file is not None
        log.warning("reply %d: the customer's %s was not fetched: %s", reply_id, file.kind, reason)
        self._failures.pop(reply_id, None)
        words = file.failed.replace("{reason}", html.escape(reason[:300]))
        text = f"{post.caption}\n{words}" if post.caption else words
        await self._wait(post.chat_id)
        sent = await self._guard(
            self._bot.send_message(post.chat_id, text, parse_mode="HTML", message_thread_id=thread),
            post.chat_id,
            thread,
        )
        return str(sent["message_id"])
