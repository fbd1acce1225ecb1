"""The web chat's files (issue 17): a visitor's image or PDF uploaded, kept and recorded with
its message; every file of theirs served back to them only; a staff member's file fetched
from the staff desk's channel and kept for the visitor it answers."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

from aiohttp import web

from responder.channels.base import FetchFile
from responder.channels.webchat.answers import answers, bearer, clean, fail
from responder.channels.webchat.api import LANGUAGES, ChatApi
from responder.channels.webchat.limits import Buckets
from responder.domain.models import FileData
from responder.errors import PermanentError, TransientError
from responder.wire.webchat.events import fetches_of, reply_file
from responder.wire.webchat.files import FILE_TYPES, ChatFile, file_name, sniff
from responder.wire.webchat.record import CLIENT_ID, VISITOR, VisitorMessage

log = logging.getLogger(__name__)

CAPTION = 1000  # characters of words sent with a file (Telegram captions take 1,024)
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
REFUSED_TYPE = "only images (JPEG, PNG, WebP, GIF) and PDF files can be sent"
# Uploads read at once on the channel (each up to max_file, in memory until kept), files one
# visitor may send in a minute (a burst of as many, then one every 60/n s), the time one
# upload may take, and files read from the database at once for downloads.
UPLOADS = 4
FILES_PER_MINUTE = 3
UPLOAD_SECONDS = 120
DOWNLOADS = 4


class ChatFiles:
    """POST files (the visitor's upload, with its client id and words), GET files/<key>."""

    def __init__(self, api: ChatApi, fetch: FetchFile | None) -> None:
        self.api = api
        self.fetch = fetch  # files from the staff desk's channel (app/channel_control)
        self._uploads = 0
        self._per_visitor = Buckets(FILES_PER_MINUTE)
        self._downloads = asyncio.Semaphore(DOWNLOADS)

    def routes(self) -> list[web.RouteDef]:
        base = self.api.config.path
        return [
            web.post(f"{base}/files", self.upload),
            web.get(f"{base}/files/{{key}}", self.download),
        ]

    @answers
    async def upload(self, request: web.Request) -> web.Response:
        """The file is the raw body; `client_id`, `name`, `text` and `language` are in the
        query. Kept, then recorded as the visitor's message (a retry is the same one); 413
        over max_file, 415 for what is not an image or a PDF by its bytes."""
        api = self.api
        opened, who = api.admit(request)
        visitor = api.visitor(opened, bearer(request), who)
        api.limit(request, who, visitor)
        query = request.query
        client_id, text = query.get("client_id", ""), clean(query.get("text", ""))
        if not CLIENT_ID.fullmatch(client_id):
            fail(400, "client_id: 8 to 64 letters, digits, - or _ (a UUID)", who)
        if len(text) > CAPTION:
            fail(400, f"text: at most {CAPTION} characters with a file", who)
        if self._uploads >= UPLOADS:
            # Each upload is held in memory until kept: a few at once on the channel.
            api.refused("rate", "uploads over the limit")
            fail(429, "too many files at once: wait a little", who, {"Retry-After": "5"})
        self._uploads += 1
        try:
            async with asyncio.timeout(UPLOAD_SECONDS):
                content = await api.body(request, api.config.max_file, who)
        except TimeoutError:
            fail(408, "the upload took too long", who)
        finally:
            self._uploads -= 1
        if not content:
            fail(400, "the file is empty", who)
        mime = sniff(content)
        if mime is None:
            # The bytes decide, not the name or Content-Type the browser declared.
            api.refused("type", "a file that is neither an image nor a PDF")
            fail(415, REFUSED_TYPE, who)
        if wait := self._per_visitor.take(visitor):
            # What is kept stays until the retention purge: a few files a minute a visitor.
            api.refused("rate", "files over the limit")
            fail(429, "too many files: wait a little", who, {"Retry-After": str(wait)})
        name = file_name(query.get("name", ""), mime)
        file = ChatFile(f"v{client_id}", name, mime, len(content))
        try:
            await opened.inbox.keep_file(api.name, visitor, file.key, FileData(content, name, mime))
        except Exception as exc:
            log.error("channel %s: could not keep a visitor's file: %s", api.name, exc)
            fail(503, "not recorded: try again", who)
        asked = query.get("language")
        language = asked if asked in LANGUAGES else api.language(visitor)
        now = api.site.clock()
        record = VisitorMessage(visitor, text, client_id, now, language, None, file)
        return await api.record(opened, who, record)

    @answers
    async def download(self, request: web.Request) -> web.Response:
        """A file of the visitor's conversation, to them only (the token in the query, as
        an <img> cannot send a header); another visitor's key is not found."""
        api = self.api
        opened, who = api.admit(request, bare=True)
        # Not counted against the address's rate: a reload shows every picture of the
        # conversation at once, and each is only ever the visitor's own (browser-cached).
        now = api.site.clock()
        visitor = opened.file_tokens.visitor(request.query.get("token"), now)
        if visitor is None:
            visitor = api.visitor(opened, bearer(request), who)
        key = request.match_info["key"]
        if not (0 < len(key) <= 80 and set(key) <= _KEY_CHARS):
            fail(404, "no such file", who)
        etag = f'"{key}"'  # a key names one file for good
        cache = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={**who.headers(), **cache})
        async with self._downloads:  # one file at a time per slot: the database thread
            found = await opened.inbox.kept_file(api.name, visitor, key)
        if found is None:
            fail(404, "no such file", who)
        # Shown in the panel (an image) or saved (a PDF); never sniffed into something else.
        disposition = "inline" if found.mime.startswith("image/") else "attachment"
        headers = {
            **who.headers(),
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(found.name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            **cache,
        }
        return web.Response(body=found.content, content_type=found.mime, headers=headers)

    async def fetch_file(self, ref: str, limit: int) -> FileData:
        """A visitor's file by "<visitor>/<key>" (the ref their message's attachment
        carries), for the staff desk's channel."""
        opened = self.api.opened
        visitor, _, key = ref.partition("/")
        if opened is None:
            raise PermanentError("the web chat channel is not running")
        if not VISITOR.fullmatch(visitor):
            raise PermanentError(f"no web chat file {ref!r}")
        found = await opened.inbox.kept_file(self.api.name, visitor, key)
        if found is None:
            raise PermanentError("the file is no longer kept (purged)")
        if len(found.content) > limit:
            raise PermanentError(f"the file is {len(found.content)} bytes, over {limit}")
        return found

    async def keep_answer(self, visitor: str, payload: bytes, reply_id: int) -> None:
        """A staff answer's file (or a canned answer's files, issue 18), fetched from the
        desk's channel (or the templates folder) and kept for `visitor` under the reply's
        keys (once: a resend finds them kept), so its
        event can show it. PermanentError when it is too big or not what it said it was."""
        for n, fetch in enumerate(fetches_of(payload)):
            await self._keep(visitor, fetch, reply_file(fetch, reply_id, n))

    async def _keep(self, visitor: str, fetch: dict[str, object], file: ChatFile) -> None:
        opened = self.api.opened
        if opened is None:
            raise PermanentError("the web chat channel is not running")
        if await opened.inbox.kept_file(self.api.name, visitor, file.key) is None:
            if self.fetch is None:
                raise PermanentError("no channel here lends staff members' files")
            limit = self.api.config.max_file
            try:
                got = await self.fetch(str(fetch.get("channel")), str(fetch.get("ref")), limit)
            except TransientError as exc:
                # The desk's channel out of reach is not this one's outage (ChannelDown):
                # the visitors' other answers go on; this one is tried again after a while.
                raise TransientError(f"fetching the file: {exc}", exc.retry_after) from exc
            if len(got.content) > limit:
                raise PermanentError(f"the file is over the limit of {limit} bytes")
            if sniff(got.content) != file.mime or file.mime not in FILE_TYPES:
                raise PermanentError(f"the file is not the {file.mime} it was said to be")
            kept = FileData(got.content, file.name, file.mime)
            await opened.inbox.keep_file(self.api.name, visitor, file.key, kept)
