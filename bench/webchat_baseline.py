"""The floor for a web chat message to its acknowledgement in the visitor's stream: bare
aiohttp answering the widget's session/messages/events protocol, nothing recorded."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from aiohttp import web

READY = b"baseline ready\n"
REPLY = "Terima kasih, pesan Anda sudah kami terima. Kami balas secepatnya."
KEEPALIVE = 15.0  # the daemon's default
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


def frame(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    return b"id: " + str(event["id"]).encode() + b"\nevent: message\ndata: " + data + b"\n\n"


class Echo:
    """A token is the visitor; a message POST puts the visitor's own event and an
    acknowledgement on each of that visitor's open streams at once, then answers 202."""

    def __init__(self) -> None:
        self._streams: dict[str, set[asyncio.Queue[bytes]]] = {}
        self._numbers = 0

    def _id(self) -> str:
        self._numbers += 1
        return f"{int(time.time() * 1000):013d}-b{self._numbers:010d}"

    async def session(self, request: web.Request) -> web.Response:
        await request.read()
        visitor = uuid.uuid4().hex
        self._streams.setdefault(visitor, set())
        answer = {"token": visitor, "visitor": visitor, "open": True, "history": []}
        return web.json_response(answer)

    async def messages(self, request: web.Request) -> web.Response:
        visitor = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if visitor not in self._streams:
            return web.json_response({"error": "bad token"}, status=401)
        doc = await request.json()
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        mine = {"id": self._id(), "from": "visitor", "text": doc["text"], "at": at}
        mine |= {"kind": "message", "client_id": doc["client_id"]}
        ack = {"id": self._id(), "from": "shop", "text": REPLY, "at": at}
        ack["kind"] = "acknowledgement"
        for queue in self._streams[visitor]:
            queue.put_nowait(frame(mine) + frame(ack))
        return web.json_response({"id": mine["id"]}, status=202)

    async def events(self, request: web.Request) -> web.StreamResponse:
        visitor = request.query.get("token", "")
        if visitor not in self._streams:
            return web.json_response({"error": "bad token"}, status=401)
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._streams[visitor].add(queue)
        try:
            response = web.StreamResponse(headers=SSE_HEADERS)
            await response.prepare(request)
            await response.write(b": open\n\n")
            while True:
                try:
                    chunk = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    chunk = b": keepalive\n\n"
                await response.write(chunk)
        except (ConnectionResetError, RuntimeError):
            return response
        finally:
            self._streams[visitor].discard(queue)


async def serve(port: int, channel: str) -> None:
    echo = Echo()
    app = web.Application()
    base = f"/chat/{channel}"
    app.router.add_post(f"{base}/session", echo.session)
    app.router.add_post(f"{base}/messages", echo.messages)
    app.router.add_get(f"{base}/events", echo.events)
    # Streams end by the client closing them, or cancelled at cleanup.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webchat_baseline", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--channel", required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.channel))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
