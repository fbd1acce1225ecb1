"""Replies pushed to the panel: Server-Sent Events with resume from the last event id, and a
long poll where streaming is blocked; the database replays, the hub adds what comes live."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import web

from responder.channels.webchat.answers import answers, fail
from responder.channels.webchat.api import ChatApi, Opened
from responder.channels.webchat.guard import Caller
from responder.channels.webchat.history import after
from responder.channels.webchat.streams import Listener
from responder.common.tasks import TaskGroup
from responder.wire.webchat.events import Event, encode

POLL_SECONDS = 25.0  # under the 30 s many proxies and mobile networks allow a quiet request
# A stream not ending on its own this long after the channel stopped is cancelled.
CLOSE_GRACE = 2.0
SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    # nginx buffers a proxied answer unless told not to (its proxy_buffering): the events
    # would wait for the buffer to fill.
    "X-Accel-Buffering": "no",
}


class EventStreams:
    """GET events and poll; every stream is pumped by a named task of the channel's task
    group, ended and awaited (or cancelled) by `close()`."""

    def __init__(self, api: ChatApi, tasks: TaskGroup) -> None:
        self._api = api
        self._tasks = tasks
        self._pumps: set[asyncio.Task[None]] = set()
        self._numbers = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        base = self._api.config.path
        return [web.get(f"{base}/events", self.events), web.get(f"{base}/poll", self.poll)]

    async def close(self) -> None:
        """End every stream (the hub is closed first by the caller) and wait for them."""
        pumps = list(self._pumps)
        if not pumps:
            return
        _, late = await asyncio.wait(pumps, timeout=CLOSE_GRACE)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def _listener(self, request: web.Request) -> tuple[ChatApi, Opened, Caller, str]:
        api = self._api
        opened, who = api.admit(request, bare=True)
        visitor = api.visitor(opened, request.query.get("token"), who)
        api.limit(request, who)
        return api, opened, who, visitor

    @answers
    async def events(self, request: web.Request) -> web.StreamResponse:
        api, opened, who, visitor = self._listener(request)
        limits = api.config.limits
        if api.hub.count(visitor) >= limits.streams_per_visitor:
            api.refused("streams", "a visitor opening more streams than allowed")
            fail(429, "too many open streams for this visitor", who, {"Retry-After": "10"})
        if api.hub.count() >= limits.streams:
            api.refused("streams", "a stream over the channel's limit of open streams")
            fail(503, "too many open streams: poll instead", who, {"Retry-After": "30"})
        last = request.headers.get("Last-Event-ID") or request.query.get("after")
        with api.hub.listen(visitor, lambda: _connected(request)) as listener:
            # Listening before reading: an event recorded meanwhile is either read or pushed,
            # and one both read and pushed goes once (by its id).
            missed = await after(opened.inbox, api.name, visitor, last)
            response = web.StreamResponse(headers={**SSE_HEADERS, **who.headers()})
            await response.prepare(request)
            name = f"webchat:{api.name}:stream:{next(self._numbers)}"
            catch_up = partial(after, opened.inbox, api.name, visitor)
            pump = self._tasks.spawn(self._pump(response, listener, missed, catch_up), name=name)
            self._pumps.add(pump)
            try:
                await pump
            finally:
                pump.cancel()
                self._pumps.discard(pump)
        return response

    async def _pump(
        self,
        response: web.StreamResponse,
        listener: Listener,
        missed: list[Event],
        catch_up: Callable[[str | None], Awaitable[list[Event]]],
    ) -> None:
        keepalive = self._api.config.keepalive.total_seconds()
        peers = self._api.peers
        sent = {str(e["id"]) for e in missed}
        last = max(sent, default=None)
        try:
            await response.write(b": open\n\n" + b"".join(_frame(e) for e in missed))
            while not listener.ended:
                events = await listener.next(keepalive)
                # Several instances (issue 19): the visitor's message may have gone to another
                # instance behind the load balancer, or staff answered through one that holds
                # the bot. What it recorded is read at its notice (PostgreSQL's NOTIFY), or at
                # each quiet keepalive where no notice comes (SQLite); one instance alone,
                # or one that hears the others, reads nothing at a keepalive.
                behind = listener.behind()
                if not listener.ended and (behind or (not events and peers.unheard())):
                    events = [*events, *await catch_up(last)]
                fresh = [e for e in events if str(e["id"]) not in sent]
                if fresh:
                    sent.update(str(e["id"]) for e in fresh)
                    last = max(sent)
                    await response.write(b"".join(_frame(e) for e in fresh))
                elif not listener.ended:
                    await response.write(b": keepalive\n\n")
        except (ConnectionResetError, RuntimeError):
            return  # the visitor left (RuntimeError: aiohttp's "cannot write to closing transport")

    @answers
    async def poll(self, request: web.Request) -> web.Response:
        """Events after `after` at once if there are any, else the first to come within 25 s."""
        api, opened, who, visitor = self._listener(request)
        last = request.query.get("after")
        with api.hub.listen(visitor, lambda: _connected(request)) as listener:
            found = await after(opened.inbox, api.name, visitor, last)
            deadline = asyncio.get_running_loop().time() + POLL_SECONDS
            while not found and not listener.ended:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                # Pushed after listening began, with nothing recorded before: all of it new.
                found = await listener.next(left)
                if listener.behind():  # another instance recorded something (issue 19)
                    read = await after(opened.inbox, api.name, visitor, last)
                    found = _merged(found, read)
        return web.json_response({"events": found}, headers=who.headers())


def _merged(pushed: list[Event], read: list[Event]) -> list[Event]:
    """Both lists' events, each once (by id), in order."""
    by_id = {str(e["id"]): e for e in [*read, *pushed]}
    return [by_id[key] for key in sorted(by_id)]


def _connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _frame(event: Event) -> bytes:
    """One event in the text/event-stream format (HTML Living Standard, "Server-sent
    events"): the id the browser sends back as Last-Event-ID on reconnecting."""
    return (
        b"id: " + str(event["id"]).encode() + b"\nevent: message\ndata: " + encode(event) + b"\n\n"
    )
