"""The web chat widget's files as the daemon's HTTP endpoint serves them (issue 17): the
loader with its settings, the frame only the shop may embed, versioned files cached for a
year, and a miss for any other version."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
import pytest

from responder.channels.webchat.assets import (
    ASSET_VERSION,
    WidgetSite,
    asset_routes,
    frame_policy,
    public_origin,
)
from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.config.csat import HttpConfig
from responder.testing._net import free_port
from responder.web.health import LoopMonitor
from responder.web.server import HttpServer

SHOP = "https://toko-contoh.id"
SITE = WidgetSite(
    public_url="https://bantuan.toko-contoh.id",
    allowed_origins=(SHOP, "https://www.toko-contoh.id"),
    language="id",
    title='Toko "Contoh" <b>&',
)


@dataclass
class Served:
    base: str
    session: aiohttp.ClientSession
    site: list[WidgetSite]

    async def get(self, path: str) -> tuple[int, str, Mapping[str, str]]:
        async with self.session.get(self.base + path) as response:
            return response.status, await response.text(), response.headers


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    tasks = TaskGroup()
    current = [SITE]
    server = HttpServer(
        HttpConfig(host="127.0.0.1", port=free_port()),
        Metrics(),
        dict,
        LoopMonitor(tasks),
        routes=asset_routes("web", lambda: current[0]),
    )
    await server.start()
    session = aiohttp.ClientSession()
    try:
        yield Served(f"http://127.0.0.1:{server.port}", session, current)
    finally:
        await session.close()
        await server.stop()
        await tasks.cancel_all()


async def test_the_loader_carries_the_channel_settings_and_is_cached_for_minutes(
    served: Served,
) -> None:
    status, text, headers = await served.get("/chat/web/widget.js")
    assert status == 200
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=300"
    config = re.search(r"var CONFIG = (\{.*?\});", text)
    assert config is not None, text[:400]
    assert '"base": "https://bantuan.toko-contoh.id/chat/web/"' in config.group(1)
    assert '"origin": "https://bantuan.toko-contoh.id"' in config.group(1)
    assert f'"version": "{ASSET_VERSION}"' in config.group(1)
    assert '"language": "id"' in config.group(1)
    # A reload's new address is in the next copy served.
    served.site[0] = WidgetSite("https://chat.toko-contoh.id:8443", (SHOP,), "en", "Toko")
    _, text, _ = await served.get("/chat/web/widget.js")
    assert '"base": "https://chat.toko-contoh.id:8443/chat/web/"' in text
    assert '"language": "en"' in text


async def test_only_the_shops_origins_may_frame_the_panel(served: Served) -> None:
    status, page, headers = await served.get(f"/chat/web/frame?v={ASSET_VERSION}&lang=en")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors https://toko-contoh.id https://www.toko-contoh.id" in policy
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "X-Frame-Options" not in headers  # the CSP decides; DENY would contradict it
    assert headers["Cache-Control"] == "no-cache"
    assert f'src="{ASSET_VERSION}/chat.js"' in page
    assert f'href="{ASSET_VERSION}/chat.css"' in page
    assert 'lang="en"' in page
    # The title is text in the page, never markup.
    assert "<title>Toko &quot;Contoh&quot; &lt;b&gt;&amp;</title>" in page
    assert "<b>" not in page
    # The frame posts to the embedding page only at an origin the shop allowed.
    _, page, _ = await served.get(f"/chat/web/frame?lang=id&origin={SHOP}")
    assert f'data-parent-origin="{SHOP}"' in page
    _, page, _ = await served.get("/chat/web/frame?lang=xx&origin=https://evil.example")
    assert 'data-parent-origin=""' in page and 'data-lang=""' in page


async def test_versioned_files_are_immutable_and_another_version_is_a_miss(
    served: Served,
) -> None:
    for name, kind in (("chat.js", "text/javascript"), ("chat.css", "text/css")):
        status, text, headers = await served.get(f"/chat/web/{ASSET_VERSION}/{name}")
        assert status == 200 and text
        assert headers["Content-Type"] == f"{kind}; charset=utf-8"
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    other = "0" * 12 if ASSET_VERSION != "0" * 12 else "1" * 12
    for path in (f"{other}/chat.js", "old/chat.css", f"{ASSET_VERSION}/frame.html"):
        status, _, headers = await served.get(f"/chat/web/{path}")
        assert status == 404, path
        assert "immutable" not in headers.get("Cache-Control", "")


async def test_the_rest_of_the_endpoint_keeps_its_safe_headers(served: Served) -> None:
    _, _, headers = await served.get("/healthz")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"


def test_origins_as_browsers_write_them() -> None:
    assert public_origin("https://Bantuan.Toko-Contoh.id/help") == "https://bantuan.toko-contoh.id"
    assert public_origin("https://h.example:443") == "https://h.example"
    assert public_origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert public_origin("http://[::1]:80/x") == "http://[::1]"
    # Nothing that could end the directive reaches the policy.
    assert frame_policy(("https://a.example; script-src *",)).endswith("frame-ancestors 'none'")
    assert frame_policy(()).endswith("frame-ancestors 'none'")
