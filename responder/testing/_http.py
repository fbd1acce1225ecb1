"""An aiohttp app served from its own thread and event loop: the HTTP stand-ins' start and stop."""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import threading
from dataclasses import dataclass

from aiohttp import web

from responder.testing._net import ServerContext, free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Upload:
    """A file field of a multipart request, as a stand-in received it."""

    filename: str
    content_type: str
    data: bytes


async def read_form(request: web.Request) -> dict[str, str | Upload]:
    """A multipart/form-data body's fields, read with the standard library. Not aiohttp's
    reader: it silences a DeprecationWarning with warnings.catch_warnings(), which is not
    thread-safe, and from a stand-in's thread that raced pytest's own filters (a test failed
    now and then with the warning raised as an error)."""
    body = await request.read()
    head = f"Content-Type: {request.headers.get('Content-Type', '')}\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str | Upload] = {}
    for part in parsed.iter_parts() if parsed.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode(part.get_content_charset() or "utf-8", "replace")
        else:
            fields[name] = Upload(filename, part.get_content_type(), data)
    return fields


class ThreadedHTTPServer(ServerContext):
    """`start` serves `_app()` on 127.0.0.1 from a thread of its own, so blocking test code
    and the code under test's event loop can both talk to it; `stop` ends it. Subclasses
    build the app and may pick their ports (`_prepare`), open more sites (`_listen`) and
    answer waiting requests before shutdown (`_closing`)."""

    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stopping: asyncio.Event | None = None

    def _prepare(self) -> None:
        """Before the thread starts: the port, unless one was given."""
        if self._port is None:
            self._port = free_port(HOST)

    def _app(self) -> web.Application:
        """The routes; called in the server's loop."""
        raise NotImplementedError

    async def _listen(self, runner: web.AppRunner) -> None:
        await web.TCPSite(runner, HOST, self.port).start()

    def _closing(self) -> None:
        """In the server's loop once `stop` was called, before connections are closed."""

    def start(self) -> None:
        name = type(self).__name__
        if self._thread is not None:
            raise RuntimeError(f"{name} is already running")
        self._prepare()
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(ready, errors)), name=name
        )
        self._thread.start()
        ready.wait(10.0)
        if errors or not ready.is_set():
            self.stop()
            raise RuntimeError(f"{name} failed to start: {errors!r}")

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            # The loop may close between the check and the call (a failed start): no one waits.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        thread.join(10.0)

    async def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        runner = web.AppRunner(self._app(), access_log=None)  # URLs hold codes, tokens: log none
        try:
            await runner.setup()
            await self._listen(runner)
        except BaseException as exc:
            errors.append(exc)
        else:
            ready.set()
            await self._stopping.wait()
            self._closing()
        self._loop = None
        await runner.cleanup()
        ready.set()  # after a failure too: start() is waiting to read `errors`
