"""A website chat visitor as the widget is one, over real HTTP: a session, messages, and the
event stream read as a browser's EventSource reads it (for tests and benchmarks)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

PANEL_ORIGIN = "https://bantuan.toko-contoh.id"  # the daemon's public origin: the panel's


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Stream:
    """One open event stream: events as they come (dicts, with the SSE id beside each) and
    the comment lines (keepalives)."""

    response: aiohttp.ClientResponse
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    ended: bool = False
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        """Parse the stream until it ends (the text/event-stream format)."""
        fields: dict[str, str] = {}
        try:
            async for raw in self.response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    self._arrived.set()
                elif line:
                    key, _, value = line.partition(":")
                    fields[key] = value.removeprefix(" ")
                elif fields:
                    if "data" in fields:
                        self.events.append(json.loads(fields["data"]))
                        self.ids.append(fields.get("id", ""))
                    fields = {}
                    self._arrived.set()
        except (aiohttp.ClientError, asyncio.CancelledError):
            pass
        finally:
            self.ended = True
            self._arrived.set()

    async def wait(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first `n` events, waiting for them; AssertionError if they do not come."""

        async def enough() -> None:
            while len(self.events) < n and not self.ended:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(enough(), timeout)
        assert len(self.events) >= n, f"{len(self.events)} events, the stream ended"
        return self.events[:n]

    async def wait_end(self, timeout: float = 10.0) -> None:
        async def ended() -> None:
            while not self.ended:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(ended(), timeout)

    async def wait_comment(self, text: str, timeout: float = 10.0) -> None:
        async def seen() -> None:
            while text not in self.comments:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(seen(), timeout)


class Visitor:
    """One browser on the panel: its token, as the widget keeps it in localStorage."""

    def __init__(
        self, base: str, origin: str | None = PANEL_ORIGIN, *, address: str | None = None
    ) -> None:
        self.base = base.rstrip("/")  # http://127.0.0.1:<port>/chat/<name>
        self.origin = origin
        self.token: str | None = None
        self.file_token: str | None = None  # for files/<key> links only
        self.visitor: str | None = None
        self._headers: dict[str, str] = {}
        if origin is not None:
            self._headers["Origin"] = origin
        if address is not None:  # as the admin's proxy says who it saw
            self._headers["X-Forwarded-For"] = address
        self._http = aiohttp.ClientSession()

    async def close(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> Visitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Answer:
        headers = {**self._headers, **kw.pop("headers", {})}
        data = body if isinstance(body, bytes) else None
        payload = None if isinstance(body, bytes) or body is None else body
        async with self._http.request(
            method, f"{self.base}/{path}", json=payload, data=data, headers=headers, **kw
        ) as response:
            text = await response.text()
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            return Answer(response.status, parsed, dict(response.headers))

    async def session(self, language: str = "id", token: str | None = None) -> Answer:
        """POST session with the token kept (or `token`); keeps the one it gets."""
        answer = await self.request(
            "POST", "session", {"token": token or self.token, "language": language}
        )
        if answer.status == 200:
            self.token, self.visitor = answer.body["token"], answer.body["visitor"]
            self.file_token = answer.body.get("file_token")
        return answer

    async def send(self, text: str, client_id: str | None = None, **more: Any) -> Answer:
        body = {"text": text, "client_id": client_id or str(uuid.uuid4()), **more}
        headers = {"Authorization": f"Bearer {self.token}"}
        return await self.request("POST", "messages", body, headers=headers)

    async def upload(
        self,
        data: bytes,
        name: str,
        text: str = "",
        client_id: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> Answer:
        """POST files as the panel sends a chosen file: the bytes as the body, the rest in
        the query."""
        params = {"client_id": client_id or str(uuid.uuid4()), "name": name, "text": text}
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type}
        return await self.request("POST", "files", data, headers=headers, params=params)

    async def leave_email(self, address: str) -> Answer:
        """POST email as the panel's offline form does."""
        body = {"email": address, "client_id": str(uuid.uuid4()), "language": "id"}
        headers = {"Authorization": f"Bearer {self.token}"}
        return await self.request("POST", "email", body, headers=headers)

    async def file(self, key: str, token: str | None = None) -> tuple[int, bytes, dict[str, str]]:
        """GET files/<key> as the panel's <img> or link does: the token in the query."""
        params = {"token": token or self.file_token or ""}
        async with self._http.get(
            f"{self.base}/files/{key}", params=params, headers=self._headers
        ) as response:
            return response.status, await response.read(), dict(response.headers)

    async def poll(self, after: str | None = None) -> Answer:
        params = {"token": self.token or "", **({"after": after} if after else {})}
        return await self.request("GET", "poll", params=params)

    @asynccontextmanager
    async def stream(
        self, after: str | None = None, last_event_id: str | None = None
    ) -> AsyncIterator[Stream]:
        """An open event stream, read in the background until the block ends."""
        headers = {**self._headers, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        params = {"token": self.token or "", **({"after": after} if after else {})}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        response = await self._http.get(
            f"{self.base}/events", params=params, headers=headers, timeout=timeout
        )
        stream = Stream(response)
        reader = asyncio.create_task(stream.read(), name="test:webchat:stream")
        try:
            yield stream
        finally:
            response.close()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
