"""A TCP relay in front of a real server, for the faults a network adds: out of reach until
opened, a connection held before it reaches the server, answers that come late."""

from __future__ import annotations

import asyncio

from responder.testing._net import free_port


class Relay:
    """Listens on its own port once `open()`ed (before that, connections are refused: the
    server out of reach) and passes bytes both ways to `target`. While `stall` is set, each
    new connection waits that long before it reaches the server (counted in `held`); while
    `hold` is set, each chunk the server answers waits that long; while `gate` is clear, new
    connections wait for it."""

    def __init__(self, target: int) -> None:
        self.port = free_port()
        self.stall = 0.0
        self.hold = 0.0
        self.held = 0
        self._target = target
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.gate = asyncio.Event()
        self.gate.set()

    def drop(self) -> None:
        """Break every open connection, as a sleeping phone or a restarted proxy does."""
        for task in self._pipes:
            task.cancel()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._pipes:
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.stall:
            self.held += 1
            await asyncio.sleep(self.stall)
        await self.gate.wait()
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        pipes = {
            asyncio.ensure_future(self._pipe(reader, up_writer, answers=False)),
            asyncio.ensure_future(self._pipe(up_reader, writer, answers=True)),
        }
        self._pipes |= pipes
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:  # a pipe cancelled before it ran closes nothing itself
            self._pipes -= pipes
            writer.close()
            up_writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, answers: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if answers and self.hold:
                    await asyncio.sleep(self.hold)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
