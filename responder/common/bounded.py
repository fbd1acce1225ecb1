"""Reading an HTTP body no further than a limit: a sender (or a server) that sends more
than it may costs no memory past it."""

from __future__ import annotations

from aiohttp import StreamReader


async def read_within(
    content: StreamReader, limit: int, declared: int | None = None
) -> bytes | None:
    """The whole body, or None as soon as it is past `limit` bytes (or says it will be, by
    its Content-Length `declared`)."""
    if declared is not None and declared > limit:
        return None
    chunks, size = [], 0
    async for chunk in content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
