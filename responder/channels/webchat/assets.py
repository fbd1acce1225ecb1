"""The web chat widget's files: the loader a shop's page includes, the panel's frame, and
its script and stylesheet under a version in the URL (issue 17)."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from urllib.parse import urlsplit

from aiohttp import web

STATIC = files("responder.channels.webchat") / "static"
FILES = ("chat.css", "chat.js", "frame.html", "offline.js", "widget.js")
_BYTES = {name: (STATIC / name).read_bytes() for name in FILES}
# One version for every file: a change to any of them is a new URL for chat.js and chat.css,
# which browsers may then keep for a year.
ASSET_VERSION = hashlib.sha256(b"".join(_BYTES[name] for name in FILES)).hexdigest()[:12]

VERSIONED = {"chat.js": "text/javascript", "chat.css": "text/css", "offline.js": "text/javascript"}
IMMUTABLE = "public, max-age=31536000, immutable"
# The loader's URL never changes, so browsers must ask again within minutes to learn a new
# VERSION.
LOADER_CACHE = "public, max-age=300"
CONFIG_SLOT = b"/*RESPONDER_CONFIG*/ null"
LANGUAGES = ("id", "en")
# An origin as a CSP source expression: scheme, host, optional port; nothing that could end
# the directive (";", ",", spaces) or add another.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+", re.ASCII)


@dataclass(frozen=True)
class WidgetSite:
    """What the files need from the channel's config, read on every request so a reload
    applies: http.public_url, the channel's allowed_origins, language and title."""

    public_url: str
    allowed_origins: tuple[str, ...]
    language: str
    title: str


def public_origin(public_url: str) -> str:
    """The origin browsers see for `public_url` (RFC 6454): scheme://host[:port], no path,
    no port where it is the scheme's own."""
    parts = urlsplit(public_url.lower())
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = parts.port
    own = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != own else "")


def frame_policy(allowed_origins: tuple[str, ...]) -> str:
    """The frame's Content-Security-Policy: its own files only, embedded only by the shop
    (CSP Level 2 frame-ancestors; browsers then ignore X-Frame-Options)."""
    ancestors = " ".join(o for o in allowed_origins if _ORIGIN.fullmatch(o)) or "'none'"
    return (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {ancestors}"
    )


def asset_routes(channel: str, site: Callable[[], WidgetSite]) -> list[web.RouteDef]:
    """GET routes for one channel, under /chat/<channel>/."""
    base = f"/chat/{channel}/"

    async def loader(request: web.Request) -> web.Response:
        now = site()
        config = {
            "channel": channel,
            "base": f"{now.public_url}{base}",
            "origin": public_origin(now.public_url),
            "version": ASSET_VERSION,
            "language": _language(now.language),
        }
        # JSON is a JavaScript expression; "<" escaped so no "</script>" ever appears.
        value = json.dumps(config, ensure_ascii=True).replace("<", "\\u003c").encode()
        body = _BYTES["widget.js"].replace(CONFIG_SLOT, value, 1)
        return web.Response(
            body=body,
            content_type="text/javascript",
            charset="utf-8",
            headers={"Cache-Control": LOADER_CACHE, "Cross-Origin-Resource-Policy": "cross-origin"},
        )

    async def frame(request: web.Request) -> web.Response:
        now = site()
        asked = request.query.get("lang", "")
        parent = request.query.get("origin", "")
        # The frame posts to its parent only at an origin the shop allowed.
        if parent not in now.allowed_origins:
            parent = ""
        values = {
            "lang": asked if asked in LANGUAGES else "",
            "channel_lang": _language(now.language),
            "channel": channel,
            "parent_origin": parent,
            "title": now.title,
            "version": ASSET_VERSION,
        }
        page = _BYTES["frame.html"].decode()
        page = re.sub(r"\{(\w+)\}", lambda m: html.escape(values[m.group(1)], quote=True), page)
        return web.Response(
            text=page,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Content-Security-Policy": frame_policy(now.allowed_origins),
                "Cache-Control": "no-cache",
            },
        )

    async def versioned(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if request.match_info["version"] != ASSET_VERSION or name not in VERSIONED:
            # An old page asking for files this daemon no longer has: a miss, not stale bytes
            # cached for a year under the wrong version.
            raise web.HTTPNotFound(text="no such file\n", headers={"Cache-Control": "no-store"})
        return web.Response(
            body=_BYTES[name],
            content_type=VERSIONED[name],
            charset="utf-8",
            headers={"Cache-Control": IMMUTABLE},
        )

    return [
        web.get(f"{base}widget.js", loader),
        web.get(f"{base}frame", frame),
        web.get(base + "{version:[0-9a-f]{12}}/{name:(?:chat|offline)\\.(?:js|css)}", versioned),
    ]


def _language(value: str) -> str:
    return value if value in LANGUAGES else "id"
