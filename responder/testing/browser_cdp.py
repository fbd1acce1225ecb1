"""One Chrome DevTools Protocol connection: commands by id, events to each session's
listener (flattened sessions: a page's commands carry its sessionId on the one websocket)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]


class BrowserError(Exception):
    """The browser refused a command, a page threw, or something did not happen in time."""


class Cdp:
    """Commands and events over the browser's DevTools websocket."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._next = 0
        self._waiting: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._listeners: dict[str | None, Listener] = {}
        self.closed = False

    async def connect(self) -> None:
        self._http = aiohttp.ClientSession()
        # Screenshots arrive as one base64 message of several megabytes.
        self._ws = await self._http.ws_connect(self._url, max_msg_size=0, heartbeat=None)
        self._reader = asyncio.create_task(self._read(), name="cdp-reader")

    def listen(self, session: str | None, listener: Listener) -> None:
        """Events of `session` (None: the browser's own) go to `listener(method, params)`."""
        self._listeners[session] = listener

    def forget(self, session: str) -> None:
        self._listeners.pop(session, None)

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        if self._ws is None or self.closed:
            raise BrowserError(f"{method}: the browser connection is closed")
        self._next += 1
        ident = self._next
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = (method, future)
        try:
            await self._ws.send_str(json.dumps(message))
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise BrowserError(f"{method}: no answer within {timeout}s") from None
        finally:
            self._waiting.pop(ident, None)

    async def close(self) -> None:
        self.closed = True
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._http is not None:
            await self._http.close()
        self._fail_waiting("the browser connection closed")

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                self._dispatch(json.loads(frame.data))
        finally:
            self.closed = True
            self._fail_waiting("the browser went away")

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            method, future = self._waiting.get(message["id"], ("", None))
            if future is None or future.done():
                return
            if "error" in message:
                error = message["error"]
                future.set_exception(BrowserError(f"{method}: {error.get('message', error)}"))
            else:
                future.set_result(message.get("result", {}))
            return
        listener = self._listeners.get(message.get("sessionId"))
        if listener is not None:
            try:
                listener(message.get("method", ""), message.get("params", {}))
            except Exception:  # one listener's bug must not stop the reader for every page
                log.exception("CDP event %s", message.get("method"))

    def _fail_waiting(self, why: str) -> None:
        for method, future in list(self._waiting.values()):
            if not future.done():
                future.set_exception(BrowserError(f"{method}: {why}"))
