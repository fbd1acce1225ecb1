"""Who may call the web chat's API, and from where: the panel (the daemon's own origin) and
the shop's pages (allowed_origins, with CORS headers); the address rate limits count."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from aiohttp import web

CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Last-Event-ID"


@dataclass(frozen=True)
class Caller:
    """A request's origin, when it may go on; `cors` when it is one of the shop's pages."""

    origin: str | None
    cors: bool = False

    def headers(self) -> dict[str, str]:
        # Vary on every answer: a cache must not hand one origin's answer to another.
        if self.cors and self.origin is not None:
            return {"Access-Control-Allow-Origin": self.origin, "Vary": "Origin"}
        return {"Vary": "Origin"}


def caller(
    request: web.Request, own: str, allowed: tuple[str, ...], *, bare: bool = False
) -> Caller | None:
    """The caller if its Origin is ours or allowed; None (refused) for any other. A request
    without Origin goes on only where `bare`: browsers send none on a same-origin GET (the
    panel's EventSource), and a token still has to be shown."""
    origin = request.headers.get("Origin")
    if origin is None:
        return Caller(None) if bare else None
    origin = origin.strip().lower()
    if origin == own:
        return Caller(origin)
    if origin in allowed:
        return Caller(origin, cors=True)
    return None


def preflight(request: web.Request, allowed: tuple[str, ...]) -> web.Response:
    """The CORS preflight (Fetch standard, "CORS protocol"): answered for allowed origins
    only; any other gets 403 and no Access-Control header."""
    origin = (request.headers.get("Origin") or "").strip().lower()
    if origin not in allowed:
        return web.Response(status=403, text="origin not allowed\n", headers={"Vary": "Origin"})
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
    )


def client_address(request: web.Request) -> str:
    """The visitor's IP address: the last hop the admin's proxy added to X-Forwarded-For
    when the request comes from loopback (the proxy in front, README), else the peer. A
    visitor cannot choose it: the proxy appends what it saw after whatever they sent."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and _loopback(peer):
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return peer


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
