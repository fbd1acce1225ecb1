"""A small Telegram Bot API client on aiohttp: the methods the channel calls, plain dicts back.

Issue 16 caps the daemon at 90 MB with email, Telegram and WhatsApp configured; importing
python-telegram-bot and httpx cost 19 MB of it, while aiohttp is loaded anyway (the HTTP
endpoint, the Graph API client)."""

from __future__ import annotations

import io
import json
from typing import Any, TypedDict, Unpack
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies_environment, proxy_bypass

import aiohttp

from responder.channels.diagnose import os_cause
from responder.channels.telegram.errors import (
    BadRequest,
    NetworkError,
    TelegramError,
    TimedOut,
    from_answer,
)
from responder.common.bounded import read_within

JSON = dict[str, Any]
MASK = "[token]"
# Connections to the Bot API: a long poll holds one, sends in parallel lanes use the rest.
CONNECTIONS = 8
# Bytes a second an upload may take at the slowest before it counts as timed out: a 50 MB
# file (the Bot API's limit) gets the timeout plus about 7 minutes.
UPLOAD_RATE = 128 * 1024


class BotApi:
    """One bot's calls to `base_url` + token + "/" + method (base_url as config.bot_url gives
    it: "https://api.telegram.org/bot"), over a session opened on first use."""

    def __init__(self, token: str, base_url: str, timeout: float, poll_timeout: float) -> None:
        self._token = token
        self._url = f"{base_url}{token}/"
        # Files are downloaded from https://api.telegram.org/file/bot<token>/<file_path>
        # (Bot API, getFile): the same server, "file/" before "bot".
        root, _, _ = base_url.rpartition("/bot")
        self._files = f"{root}/file/bot{token}/"
        self.timeout = timeout
        self.poll_timeout = poll_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxy = _proxy(base_url)
        self.me: JSON | None = None  # getMe's User, once initialize() succeeded

    @property
    def username(self) -> str:
        return str((self.me or {}).get("username", ""))

    @property
    def id(self) -> int:
        return int((self.me or {}).get("id", 0))

    async def initialize(self) -> None:
        """getMe once: checks the token and learns the bot's name."""
        if self.me is None:
            self.me = await self.get_me()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> BotApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(
        self, method: str, params: JSON | None = None, *, timeout: float | None = None
    ) -> Any:
        """POST `params` as JSON; the answer's `result`, or the error Telegram reported."""
        body = {k: v for k, v in (params or {}).items() if v is not None}
        return await self._post(method, timeout, json=body)

    async def upload(
        self, method: str, field: str, data: bytes, filename: str, params: JSON
    ) -> Any:
        """POST multipart/form-data with one file; numbers and objects as JSON text, which is
        how the Bot API reads form fields."""
        # The name as it is, in UTF-8 (RFC 7578 4.2); aiohttp would percent-encode it, and
        # Telegram would show the %20s. A customer's file name may hold anything: no line breaks.
        form = aiohttp.FormData(quote_fields=False)
        for key, value in params.items():
            if value is not None:
                form.add_field(key, value if isinstance(value, str) else json.dumps(value))
        name = "".join(c if c.isprintable() else "_" for c in filename) or "file"
        # A stream, not bytes: aiohttp warns that a large bytes body may hold up the loop.
        body = io.BytesIO(data)
        form.add_field(field, body, filename=name, content_type="application/octet-stream")
        return await self._post(method, self.timeout + len(data) / UPLOAD_RATE, data=form)

    async def _post(self, method: str, timeout: float | None, **body: Any) -> Any:
        seconds = self.timeout if timeout is None else timeout
        failure: TelegramError | None = None
        try:
            async with self._open().post(
                self._url + method,
                timeout=aiohttp.ClientTimeout(total=seconds),
                proxy=self._proxy[0],
                proxy_auth=self._proxy[1],
                **body,
            ) as response:
                status = response.status
                try:
                    doc = await response.json(content_type=None)
                except ValueError:  # not JSON: a proxy's error page
                    doc = None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # aiohttp's texts may carry the URL, and with it the token: say what happened in
            # our words, chained only to the socket's own error (what diagnose() reads).
            failure = self._unreachable(exc)
        if failure is not None:
            raise failure
        if 200 <= status < 300 and isinstance(doc, dict) and doc.get("ok") is True:
            return doc.get("result")
        error = from_answer(status, doc)
        error.message = self._clean(error.message)
        error.args = (error.message,)
        raise error

    async def download(self, file_path: str, limit: int) -> bytes | None:
        """The file getFile named, by its file_path; None when it is over `limit` bytes."""
        seconds = self.timeout + limit / UPLOAD_RATE
        failure: TelegramError | None = None
        try:
            async with self._open().get(
                self._files + file_path,
                timeout=aiohttp.ClientTimeout(total=seconds),
                proxy=self._proxy[0],
                proxy_auth=self._proxy[1],
            ) as response:
                if response.status == 404:  # not the token's fault, as a method's 404 is
                    raise BadRequest("Not Found: the file is no longer on Telegram's servers")
                if response.status != 200:
                    raise from_answer(response.status, None)
                return await read_within(response.content, limit)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            failure = self._unreachable(exc)
        assert failure is not None
        raise failure

    def _unreachable(self, exc: BaseException) -> NetworkError:
        root = os_cause(exc)
        if isinstance(exc, TimeoutError) or isinstance(root, TimeoutError):
            error: NetworkError = TimedOut()
            root = TimeoutError("timed out")
        else:
            error = NetworkError(self._clean(f"{type(exc).__name__}: {exc}"))
        if root is not None and self._token not in f"{root} {root!r}":
            error.__cause__ = root
        error.__suppress_context__ = True
        return error

    def _clean(self, text: str) -> str:
        return text.replace(self._token, MASK)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    # -- the methods the channel calls (core.telegram.org/bots/api) -------------------------

    async def get_me(self) -> JSON:
        return dict(await self.call("getMe"))

    async def get_updates(
        self, offset: int | None, allowed_updates: list[str], timeout: float | None = None
    ) -> list[JSON]:
        """Long polling: the raw Update objects, waiting up to `timeout` (poll_timeout)."""
        poll = self.poll_timeout if timeout is None else timeout
        params = {"offset": offset, "timeout": _seconds(poll), "allowed_updates": allowed_updates}
        return list(await self.call("getUpdates", params, timeout=poll + self.timeout))

    async def send_message(self, chat_id: int | str, text: str, **options: Any) -> JSON:
        """sendMessage; options: parse_mode, message_thread_id, reply_parameters,
        link_preview_options, reply_markup."""
        return dict(await self.call("sendMessage", {"chat_id": chat_id, "text": text} | options))

    async def copy_message(
        self, chat_id: int | str, from_chat_id: int | str, message_id: int, **options: Any
    ) -> JSON:
        """copyMessage: the new MessageId ({"message_id": ...})."""
        params = {"chat_id": chat_id, "from_chat_id": from_chat_id, "message_id": message_id}
        return dict(await self.call("copyMessage", params | options))

    async def edit_message_text(
        self, chat_id: int | str, message_id: int, text: str, **options: Any
    ) -> Any:
        params = {"chat_id": chat_id, "message_id": message_id, "text": text}
        return await self.call("editMessageText", params | options)

    async def answer_callback_query(self, query_id: str, text: str | None = None) -> bool:
        params = {"callback_query_id": query_id, "text": text}
        return bool(await self.call("answerCallbackQuery", params))

    async def get_chat(self, chat_id: int | str) -> JSON:
        return dict(await self.call("getChat", {"chat_id": chat_id}))

    async def get_chat_member(self, chat_id: int | str, user_id: int) -> JSON:
        return dict(await self.call("getChatMember", {"chat_id": chat_id, "user_id": user_id}))

    async def create_forum_topic(self, chat_id: int | str, name: str) -> JSON:
        """createForumTopic: the ForumTopic, its message_thread_id among it."""
        return dict(await self.call("createForumTopic", {"chat_id": chat_id, "name": name}))

    async def get_file(self, file_id: str) -> JSON:
        """getFile: the File, with file_size and file_path (files up to 20 MB; a link valid
        for at least an hour)."""
        return dict(await self.call("getFile", {"file_id": file_id}))

    async def send_document(
        self, chat_id: int | str, data: bytes, filename: str, **options: Unpack[FileOptions]
    ) -> JSON:
        """sendDocument with the file's bytes (at most 50 MB, the Bot API's upload limit):
        the Message, its `document` among it."""
        params = {"chat_id": chat_id, **options}
        return dict(await self.upload("sendDocument", "document", data, filename, params))

    async def send_photo(
        self, chat_id: int | str, data: bytes, filename: str, **options: Unpack[FileOptions]
    ) -> JSON:
        """sendPhoto with a JPEG, PNG or WebP image's bytes (at most 10 MB): the Message,
        its `photo` sizes among it."""
        params = {"chat_id": chat_id, **options}
        return dict(await self.upload("sendPhoto", "photo", data, filename, params))


class FileOptions(TypedDict, total=False):
    """What a file sent to a chat may come with (sendDocument, sendPhoto)."""

    caption: str | None
    parse_mode: str | None
    message_thread_id: int | None
    reply_parameters: JSON | None


def _proxy(base_url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
    """HTTPS_PROXY (HTTP_PROXY) and NO_PROXY as python-telegram-bot's httpx honoured them, so
    a machine that reaches api.telegram.org only through a proxy keeps working. Not aiohttp's
    trust_env: it also reads ~/.netrc, which the systemd unit hides (ProtectHome=)."""
    url = urlsplit(base_url)
    proxies = getproxies_environment()
    found = proxies.get(url.scheme)
    if not found or proxy_bypass(url.hostname or ""):  # NO_PROXY (on Linux: the environment)
        return None, None
    proxy = urlsplit(found)
    if proxy.username is None:
        return found, None
    auth = aiohttp.BasicAuth(unquote(proxy.username), unquote(proxy.password or ""))
    return proxy._replace(netloc=proxy.netloc.rpartition("@")[2]).geturl(), auth


def _seconds(value: float) -> int | float:
    # The Bot API takes whole seconds (getUpdates "timeout": Integer); a fraction only
    # reaches a stand-in.
    return int(value) if float(value).is_integer() else value
