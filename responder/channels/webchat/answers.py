"""How the web chat's routes refuse: a JSON error an allowed page can read (CORS headers),
raised from wherever the reason is found; and the request's body, read within a limit."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from aiohttp import web

from responder.channels.webchat.guard import Caller
from responder.common.bounded import read_within

# C0 controls but tab and newline, DEL, C1, lone surrogates: nothing a person types.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class Refused(Exception):
    """An answer other than the route's own (4xx, 503), raised from deep in a handler."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


Handler = Callable[[Any, web.Request], Awaitable[web.StreamResponse]]


def answers(handler: Handler) -> Handler:
    """The route answers what it raised as Refused."""

    @functools.wraps(handler)
    async def answer(self: Any, request: web.Request) -> web.StreamResponse:
        try:
            return await handler(self, request)
        except Refused as refused:
            return refused.response

    return answer


def fail(status: int, error: str, who: Caller, more: dict[str, str] | None = None) -> NoReturn:
    """Answer `status` with {"error": ...}."""
    headers = {**who.headers(), **(more or {})}
    raise Refused(web.json_response({"error": error}, status=status, headers=headers))


async def read_body(
    request: web.Request, limit: int, who: Caller, too_big: Callable[[], None]
) -> bytes:
    """The raw body, read no further than `limit` bytes: 413 past it (`too_big` told)."""
    body = await read_within(request.content, limit, request.content_length)
    if body is None:
        too_big()
        fail(413, f"too big: at most {limit} bytes", who)
    return body


def json_object(body: bytes, who: Caller) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        fail(400, "expected a JSON object", who)
    if not isinstance(doc, dict):
        fail(400, "expected a JSON object", who)
    return doc


def bearer(request: web.Request) -> str | None:
    """The token of `Authorization: Bearer <token>`."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def clean(text: str) -> str:
    """What a person typed, without controls a browser would not send (a lone surrogate would
    not even encode); line ends as "\\n"."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
