"""The Graph API calls the channel makes, each failure sorted by Meta's error code into the
exception tree: retried, paced, refused for good, or the channel's sign-in refused."""

from __future__ import annotations

from typing import Any

import aiohttp

from responder.common.bounded import read_within
from responder.errors import ChannelDown, PermanentError, SignInRefused, TransientError

# Cloud API error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
TOKEN_REFUSED = frozenset({190})  # access token expired or revoked (HTTP 401)
# Throughput (130429), too many messages to one customer (131056), app or account request
# limits (4, 80007): the same message goes through later.
PACED = frozenset({4, 80007, 130429, 131056})
# Meta: space messages to one customer (its pair rate limit is about one per six seconds;
# hitting it, a minute is polite), and slow down the whole number for a moment on 130429.
PACE_SECONDS = {131056: 60.0, 130429: 5.0}
PER_CUSTOMER = 131056
SERVER_SIDE = frozenset({1, 2, 131000, 131016})  # unknown, service or temporary trouble
WINDOW_CLOSED = 131047  # more than 24 hours since the customer last wrote


class GraphError(PermanentError):
    """A request Meta refused for good; `code` is its error code."""

    def __init__(self, message: str, code: int | None) -> None:
        super().__init__(message)
        self.code = code


class Paced(TransientError):
    """Meta asked us to wait: before writing to this customer again (`per_customer`), or
    to anyone."""

    def __init__(self, message: str, retry_after: float | None, per_customer: bool) -> None:
        super().__init__(message, retry_after)
        self.per_customer = per_customer


class WindowClosed(GraphError):
    """Free-form messages reach a customer only within 24 hours of their last message."""


class Graph:
    """Calls to `api_url` (https://graph.facebook.com/v23.0, or a stand-in) as one phone
    number, over a session this object opens and closes."""

    def __init__(self, api_url: str, phone_number_id: str, token: str, timeout: float) -> None:
        self._url = api_url.rstrip("/")
        self._number = phone_number_id
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, request: dict[str, Any]) -> str:
        """POST /{phone number id}/messages; returns the wamid Meta gave the message."""
        doc = await self._call("POST", f"{self._number}/messages", request)
        messages = doc.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            wamid = messages[0].get("id")
            if isinstance(wamid, str):
                return wamid
        raise TransientError(f"Graph API answered without a message id: {str(doc)[:200]}")

    async def media(self, media_id: str, limit: int) -> tuple[bytes, str]:
        """A customer's file: GET /{media id} for its URL (valid five minutes), then the
        bytes from that URL with the same token (Cloud API, Media: Download Media);
        returns (content, MIME type). A file over `limit` bytes is refused unread."""
        info = await self._call("GET", media_id, None)
        url, mime, size = info.get("url"), str(info.get("mime_type") or ""), info.get("file_size")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise TransientError(f"Graph API named no download URL for media {media_id}")
        if isinstance(size, int) and size > limit:
            raise PermanentError(f"{_mb(size)}, over the {_mb(limit)} passed on")
        session = self._open()
        try:
            async with session.get(url, headers=self._headers) as response:
                if response.status != 200:
                    raise classify(response.status, await _json(response))
                content = await read_within(response.content, limit)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ChannelDown(f"Graph API out of reach: {type(exc).__name__}: {exc}") from exc
        if content is None:
            raise PermanentError(f"over the {_mb(limit)} passed on")
        return content, mime

    async def upload(self, content: bytes, mime: str, name: str) -> str:
        """POST /{phone number id}/media, multipart (Cloud API, Media: Upload Media): the
        file, its type and messaging_product; returns the media id a message sends."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime)
        form.add_field("file", content, filename=name, content_type=mime)
        session = self._open()
        try:
            async with session.post(
                f"{self._url}/{self._number}/media", data=form, headers=self._headers
            ) as response:
                status, doc = response.status, await _json(response)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ChannelDown(f"Graph API out of reach: {type(exc).__name__}: {exc}") from exc
        if 200 <= status < 300 and isinstance(doc, dict) and isinstance(doc.get("id"), str):
            return str(doc["id"])
        if 200 <= status < 300:
            raise TransientError(f"Graph API answered an upload without a media id: {doc}")
        raise classify(status, doc)

    async def number(self) -> dict[str, Any]:
        """GET /{phone number id}: the number as Meta knows it; a cheap sign-in check."""
        return await self._call("GET", self._number, None)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        session = self._open()
        try:
            async with session.request(
                method, f"{self._url}/{path}", json=body, headers=self._headers
            ) as response:
                status = response.status
                doc = await _json(response)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ChannelDown(f"Graph API out of reach: {type(exc).__name__}: {exc}") from exc
        if 200 <= status < 300 and isinstance(doc, dict):
            return doc
        raise classify(status, doc)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return None


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def classify(status: int, doc: Any) -> Exception:
    """Meta's error object as our exception, by its code first and the HTTP status after."""
    found = doc.get("error") if isinstance(doc, dict) else None
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    data = error.get("error_data")
    details: dict[str, Any] = data if isinstance(data, dict) else {}
    text = str(details.get("details") or error.get("message") or f"HTTP {status}")[:300]
    message = f"Graph API {status}, error {code}: {text}" if code is not None else text
    if code in TOKEN_REFUSED or status == 401:
        return SignInRefused(f"Meta refused the access token ({message})")
    if code in PACED or status == 429:
        return Paced(message, PACE_SECONDS.get(code or 0), code == PER_CUSTOMER)
    if code in SERVER_SIDE or status >= 500:
        return ChannelDown(message)
    if code == WINDOW_CLOSED:
        return WindowClosed(message, code)
    return GraphError(message, code)
