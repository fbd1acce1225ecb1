"""Small socket helpers shared by the development servers."""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Self


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that nothing listens on right now."""
    # Racy by nature, but the servers bind it within milliseconds and the kernel hands out
    # ephemeral ports round-robin, so a collision would need another process to win the race.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerContext:
    """`with server:` starts it and always stops it; host and port once it has started."""

    _port: int | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} has not been started yet")
        return self._port

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
