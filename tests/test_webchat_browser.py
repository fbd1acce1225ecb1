"""The website chat in a real browser (issue 17, "Done when"): Debian's Chromium, headless,
on a shop's page served on loopback that embeds the widget with its one line; the daemon
answers through the same pipeline as every channel, staff from the Telegram stand-in's group.

Screenshots of what the visitor sees are saved in each test's directory, and also in the
directory RESPONDER_SCREENSHOTS names (`RESPONDER_SCREENSHOTS=docs pytest ...` refreshes the
README's pictures)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from responder.app.daemon import App
from responder.testing import TelegramStandIn, free_port
from responder.testing.browser import Chromium, Frame, Page
from responder.testing.browser_page import SHIFT
from tests.harness import (
    STAFF_GROUP,
    add_staff_bot,
    db_rows,
    html_site,
    local,
    running,
    staff_answer,
    wait_sent,
    wait_until,
)
from tests.relay import Relay

HOST = "document.querySelector('[data-responder-chat]').shadowRoot"
LAUNCHER = f"{HOST}.querySelector('button')"
BADGE = f"{HOST}.querySelector('.badge')"
IFRAME = f"{HOST}.querySelector('iframe')"
# Each message in the panel: who, what kind, the text as shown.
HOURS = """\
business_hours:
  weekly:
    mon: ["08:00-17:00"]
"""
MESSAGES = """Array.from(document.querySelectorAll('#log .msg')).map((li) => [
  li.className.replace('msg msg-', ''), li.dataset.kind || '',
  li.querySelector('.text').textContent])"""
ICON = '<link rel="icon" href="data:,">'


def shop_page(public: str) -> str:
    """A shop's page, with the one line the README tells the shop to paste."""
    return f"""<!doctype html><html lang="id"><meta charset="utf-8">{ICON}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Toko Contoh</title>
<style>body {{ font: 16px Georgia, serif; margin: 40px; }} button {{ all: unset; }}</style>
<h1>Toko Contoh</h1><p>Kaos katun, ukuran S sampai XL.</p>
<script src="{public}/chat/web/widget.js" async></script>
</html>"""


class Ticking:
    """The daemon's clock: from `start`, running (events keep their order in time); a test
    moves it on by hand too."""

    def __init__(self, start: datetime) -> None:
        self.start, self.began = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began)


@dataclass
class World:
    config: Path
    app: App
    browser: Chromium
    shop: str  # the shop page's origin (allowed)
    public: str  # http.public_url: the relay in front of the daemon
    relay: Relay
    tg: TelegramStandIn
    shots: Path


@asynccontextmanager
async def world(
    tmp_path: Path,
    tg: TelegramStandIn,
    language: str,
    extra: str = "",
    clock: Any = None,
    channel: str = "",
    channels: str = "",
) -> AsyncIterator[World]:
    """The shop's page, the daemon (the web chat, then `channels`, then the staff bot), and
    the browser."""
    port = free_port()
    relay = Relay(port)
    await relay.open()
    public = f"http://127.0.0.1:{relay.port}"
    async with html_site({"/": shop_page(public)}) as shop:
        config = tmp_path / "config.yaml"
        config.write_text(
            f"""\
timezone: Asia/Jakarta
state_dir: {tmp_path / "state"}
delivery: {{retry_base: 0.2s, retry_cap: 1s, max_attempts: 5}}
http: {{host: 127.0.0.1, port: {port}, public_url: "{public}"}}
{extra}
channels:
  - name: web
    type: webchat
    allowed_origins: ["{shop}"]
    title: Toko Contoh
    language: id
{channel}{channels}"""
        )
        (tmp_path / "state").mkdir()
        add_staff_bot(config, tmp_path, tg)
        try:
            async with (
                running(config, clock) as app,
                Chromium(
                    tmp_path / "profile",
                    language=language,
                    timezone="Asia/Jakarta",
                    width=1024,
                    height=720,
                ) as b,
            ):
                yield World(config, app, b, shop, public, relay, tg, tmp_path)
        finally:
            relay.gate.set()
            await relay.close()


async def shot(w: World, page: Page, name: str) -> None:
    await page.screenshot(w.shots / name)
    docs = os.environ.get("RESPONDER_SCREENSHOTS")
    if docs:
        shutil.copyfile(w.shots / name, Path(docs) / name)


async def open_panel(page: Page, keyboard: bool = False) -> Frame:
    """Click the launcher as a visitor does (or Tab to it and press Enter); the panel opens
    with the cursor in its field."""
    await page.wait_for(LAUNCHER)
    if keyboard:
        await page.press("Tab")
        assert await page.evaluate(f"{HOST}.activeElement === {LAUNCHER}")
        await page.press("Enter")
    else:
        await page.click(LAUNCHER)
    frame = await page.frame(IFRAME)
    await frame.wait_for("document.activeElement && document.activeElement.id === 'text'")
    return frame


async def write(page: Page, frame: Frame, text: str) -> None:
    """Type into the panel's field and press Enter; wait until the daemon has it."""
    await frame.click("document.getElementById('text')")
    await page.type_text(text)
    await page.press("Enter")
    mine = "[...document.querySelectorAll('#log .msg-visitor:not(.pending) .text')]"
    await frame.wait_for(f"{mine}.some((p) => p.textContent === {json.dumps(text)})")


async def shown(frame: Frame, count: int) -> list[list[str]]:
    """The panel's messages once there are `count` of them."""
    await frame.wait_for(f"{MESSAGES}.length >= {count}")
    messages: list[list[str]] = await frame.evaluate(MESSAGES)
    return messages


async def staff_reply(w: World, text: str) -> None:
    """A staff member answers the ticket's post in the Telegram group."""
    [relay] = await wait_sent(w.tg, STAFF_GROUP, 1)
    await staff_answer(w.tg, relay, text)


async def test_a_visitor_writes_staff_answer_from_the_group_and_a_reload_keeps_it_all(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    async with world(tmp_path, tg, "id-ID") as w:
        page = await w.browser.new_page()
        await page.goto(f"{w.shop}/")
        frame = await open_panel(page)
        assert await page.evaluate(f"{LAUNCHER}.getAttribute('aria-expanded')") == "true"
        # The panel speaks the visitor's language, its controls labelled for screen readers.
        labels = await frame.evaluate(
            """[document.documentElement.lang, document.getElementById('text').labels[0]
            .textContent, document.getElementById('send').textContent,
            document.getElementById('log').getAttribute('aria-live'),
            document.getElementById('title').textContent]"""
        )
        assert labels == ["id", "Tulis pesan", "Kirim", "polite", "Toko Contoh"]
        await write(page, frame, "Halo kak, ukuran L masih ada?")
        [_, ack] = await shown(frame, 2)
        [ticket] = await db_rows(w.config, "tickets")
        assert ack[:2] == ["shop", "acknowledgement"] and f"#{ticket['ref']}" in ack[2]

        # Escape closes the panel and gives the focus back to the launcher; a staff reply
        # meanwhile lights the badge.
        await page.press("Escape")
        await page.wait_for(f"{LAUNCHER}.getAttribute('aria-expanded') === 'false'")
        assert await page.evaluate(f"{HOST}.activeElement === {LAUNCHER}")
        await staff_reply(w, "Masih ada kak, silakan diorder ya")
        assert await page.wait_for(f"{BADGE}.offsetParent && {BADGE}.textContent") == "1"
        label = await page.evaluate(f"{LAUNCHER}.getAttribute('aria-label')")
        assert label == "Buka chat, 1 pesan belum dibaca"
        await shot(w, page, "webchat-unread.png")

        await page.click(LAUNCHER)
        frame = await page.frame(IFRAME)
        conversation = await shown(frame, 3)
        assert conversation[2] == ["staff", "staff_reply", "Masih ada kak, silakan diorder ya"]
        assert not await page.evaluate(f"{BADGE}.offsetParent")
        await shot(w, page, "webchat-conversation.png")
        await page.viewport(390, 844, mobile=True)  # a phone
        await shot(w, page, "webchat-phone.png")
        await page.viewport(1024, 720)

        # A reload keeps the conversation (and the open panel); so does a new tab.
        visitor = "localStorage.getItem('responder-chat:web').split('.')[0]"
        before = await frame.evaluate(visitor)
        await page.reload()
        frame = await page.frame(IFRAME)
        assert await shown(frame, 3) == conversation
        assert await frame.evaluate(visitor) == before  # the same visitor (token renewed)
        tab = await w.browser.new_page()
        await tab.goto(f"{w.shop}/")
        assert await shown(await open_panel(tab), 3) == conversation
        assert page.problems == [] and tab.problems == [] and page.dialogs == []
    assert len(await db_rows(w.config, "tickets")) == 1


async def test_script_sent_as_a_message_shows_as_text_and_runs_nowhere(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    attack = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    answer = "<b>Bold?</b> <script>alert(3)</script> 🙏"
    async with world(tmp_path, tg, "en-US") as w:
        page = await w.browser.new_page()
        await page.goto(f"{w.shop}/")
        frame = await open_panel(page, keyboard=True)
        assert await frame.evaluate("document.getElementById('send').textContent") == "Send"
        await write(page, frame, attack)
        await shown(frame, 2)
        await staff_reply(w, answer)
        messages = await shown(frame, 3)
        await asyncio.sleep(0.5)  # an injected handler would have run by now
        assert messages[0] == ["visitor", "message", attack]
        assert messages[2] == ["staff", "staff_reply", answer]
        # Visible as typed, and not one element made of it: no dialog, no request for "x".
        seen = await frame.evaluate("document.getElementById('log').innerText")
        assert attack in seen and answer in seen
        made = "document.querySelectorAll('#log script, #log img, #log b').length"
        assert await frame.evaluate(made) == 0
        assert page.dialogs == []
        assert not [url for url, _ in page.statuses if url.endswith("/x")]
        assert page.problems == []


async def test_a_page_of_another_origin_can_neither_show_the_panel_nor_call_the_api(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    async with world(tmp_path, tg, "id-ID") as w:
        # Same host, another port: another origin, not in allowed_origins.
        async with html_site({"/": shop_page(w.public)}) as other:
            page = await w.browser.new_page()
            await page.goto(f"{other}/")
            await page.click(LAUNCHER)  # the loader is public; the panel is not
            frame_url = f"{w.public}/chat/web/frame"
            refused = await _refusal(page, frame_url)
            assert "frame-ancestors" in refused and w.shop in refused
            frame = await page.frame(IFRAME)
            assert await frame.evaluate("document.getElementById('log')") is None
            # Calling the API from that page: refused (403), which the page cannot read.
            calls = f"""Promise.all([
              fetch('{w.public}/chat/web/session', {{method: 'POST', body: '{{}}',
                headers: {{'Content-Type': 'text/plain'}}}}).then(() => 'read', () => 'refused'),
              fetch('{w.public}/chat/web/poll?token=x').then(() => 'read', () => 'refused')])"""
            assert await page.evaluate(calls) == ["refused", "refused"]
            calls = [f"{w.public}/chat/web/session", f"{w.public}/chat/web/poll?token=x"]
            assert await _statuses(page, calls) == [403, 403]
        # The same request from the shop's origin is answered, with CORS for it only.
        async with aiohttp.ClientSession() as http:
            for origin, status in ((other, 403), (w.shop, 200)):
                async with http.post(
                    f"{w.public}/chat/web/session", json={"token": None}, headers={"Origin": origin}
                ) as response:
                    assert response.status == status
                    allowed = response.headers.get("Access-Control-Allow-Origin")
                    assert allowed == (w.shop if status == 200 else None)
    assert await db_rows(w.config, "inbound") == []


async def _statuses(page: Page, urls: list[str]) -> list[int]:
    """The HTTP statuses of these requests (reported a moment after the page saw them)."""
    for _ in range(100):
        statuses = dict(page.statuses)
        if all(url in statuses for url in urls):
            return [statuses[url] for url in urls]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answer seen for {urls}: {page.statuses}")


async def _refusal(page: Page, frame_url: str) -> str:
    for _ in range(100):
        found = [p for p in page.problems if "frame-ancestors" in p]
        if found and any(frame_url in p for p in page.problems):
            return "\n".join(page.problems)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no refusal reported: {page.problems}")


async def test_a_dropped_stream_resumes_from_the_last_event_and_loses_nothing(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    async with world(tmp_path, tg, "id-ID") as w:
        page = await w.browser.new_page()
        await page.goto(f"{w.shop}/")
        frame = await open_panel(page)
        await write(page, frame, "Pesanan saya belum sampai")
        [_, ack] = await shown(frame, 2)
        last = await frame.evaluate("document.querySelector('#log .msg:last-child').dataset.id")
        # The connection breaks (a phone asleep, a proxy restarted) and stays down while
        # staff answer.
        w.relay.gate.clear()
        w.relay.drop()
        await staff_reply(w, "Sudah dikirim kemarin kak")
        await _sent_to_the_visitor(w)
        w.relay.gate.set()
        messages = await shown(frame, 3)
        assert messages[2] == ["staff", "staff_reply", "Sudah dikirim kemarin kak"]
        await asyncio.sleep(0.5)
        assert len(await frame.evaluate(MESSAGES)) == 3  # each once
        # The browser asked for what came after the last event it had.
        resumed = [h for url, h in page.requests if "/chat/web/events" in url][1:]
        assert any(h.get("Last-Event-ID") == last for h in resumed), resumed
        assert ack[1] == "acknowledgement"


async def _polling(page: Page) -> None:
    for _ in range(300):
        if any("/chat/web/poll?" in url for url, _ in page.requests):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the panel did not fall back to polling: {page.problems}")


async def _sent_to_the_visitor(w: World) -> None:
    for _ in range(200):
        replies = await db_rows(w.config, "replies", channel="web")
        if any(r["kind"] == "staff_reply" and r["state"] == "sent" for r in replies):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the staff reply was not sent to the web chat")


async def test_when_streaming_is_blocked_the_panel_polls_and_still_gets_every_reply(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    async with world(tmp_path, tg, "id-ID") as w:
        page = await w.browser.new_page()
        await page.block("*/chat/web/events*")  # a proxy that refuses event streams
        await page.goto(f"{w.shop}/")
        frame = await open_panel(page)
        await write(page, frame, "Bisa bayar di tempat?")
        # Three failed streams, then polling; the staff reply can only come that way.
        await _polling(page)
        await staff_reply(w, "Bisa kak")
        messages = await shown(frame, 3)
        assert [m[1] for m in messages] == ["message", "acknowledgement", "staff_reply"]
        await frame.wait_for("document.getElementById('status').textContent === ''")


async def test_out_of_hours_the_panel_says_when_the_shop_opens(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    saturday_night = Ticking(local(2026, 11, 28, 21, 0))
    async with world(tmp_path, tg, "id-ID", extra=HOURS, clock=saturday_night) as w:
        page = await w.browser.new_page()
        await page.goto(f"{w.shop}/")
        frame = await open_panel(page)
        hours = "document.getElementById('hours')"
        said = await frame.wait_for(f"!{hours}.hidden && {hours}.textContent")
        assert said == "Sedang tutup · buka lagi Senin, 30 November pukul 08.00 WIB"
        await write(page, frame, "Halo, paket saya belum sampai")
        [_, reply] = await shown(frame, 2)
        assert reply[1] == "out_of_hours" and "Senin, 30 November pukul 08.00 WIB" in reply[2]
        await shot(w, page, "webchat-closed.png")
        assert page.problems == []


async def test_after_close_the_survey_appears_and_a_rating_button_answers_it(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    clock = Ticking(local(2030, 1, 7, 10, 0))
    async with world(tmp_path, tg, "id-ID", extra="csat: {}", clock=clock) as w:
        page = await w.browser.new_page()
        await page.goto(f"{w.shop}/")
        frame = await open_panel(page)
        await write(page, frame, "Paket saya belum sampai")
        await staff_reply(w, "Sudah kami kirim ulang hari ini kak")
        await shown(frame, 3)
        [relay] = await wait_sent(w.tg, STAFF_GROUP, 1)
        await staff_answer(w.tg, relay, "/close")
        await _resolved(w)
        assert w.app.surveys is not None
        clock.start += timedelta(hours=1)
        await w.app.surveys.run_due()
        [*_, survey] = await shown(frame, 4)
        assert survey[:2] == ["shop", "csat_survey"]
        choices = "[...document.querySelectorAll('#log [data-kind=csat_survey] .choice')]"
        labels = await frame.evaluate(f"{choices}.map((b) => b.textContent)")
        assert labels == ["1", "2", "3", "4", "5"]
        await shot(w, page, "webchat-survey.png")
        await frame.click(f"{choices}[4]")
        await frame.wait_for(f"{choices}.every((b) => b.disabled)")
        assert await frame.evaluate(f"{choices}[4].getAttribute('aria-pressed')") == "true"

        async def rated() -> bool:
            [row] = await db_rows(w.config, "surveys")
            return bool(row["rating"] == 5)

        await wait_until(rated)
        assert page.problems == []


async def _resolved(w: World) -> None:
    async def resolved() -> bool:
        return [t["status"] for t in await db_rows(w.config, "tickets")] == ["resolved"]

    await wait_until(resolved)


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ATTACH = "document.getElementById('attach')"
# Each message's file as shown: an image's alt and whether it was decoded, a link's words.
FILES = """[...document.querySelectorAll('#log .msg')].filter((li) => li.querySelector('.file'))
  .map((li) => { const who = li.className.replace('msg msg-', '');
    const img = li.querySelector('.file img'), link = li.querySelector('.file');
    return img ? [who, img.alt, img.complete && img.naturalWidth > 0]
      : [who, link.textContent, link.hasAttribute('download')]; })"""


async def attach(page: Page, frame: Frame, *files: Path) -> None:
    """Shift+Tab from the field to the attach button and press Enter, as a keyboard user;
    the file chooser is answered with `files`."""
    await frame.click("document.getElementById('text')")
    await page.press("Tab", SHIFT)
    assert await frame.evaluate(f"document.activeElement === {ATTACH}")
    await page.choose_files(*files)
    await page.press("Enter")


async def test_a_visitor_sends_an_image_and_a_pdf_and_sees_the_staff_photo(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    from tests.test_webchat_files import png

    (tmp_path / "kaos.png").write_bytes(png(160, 120))
    (tmp_path / "nota.pdf").write_bytes(PDF)
    (tmp_path / "besar.png").write_bytes(png() + bytes(70 * 1024))
    (tmp_path / "virus.png").write_bytes(b"MZ\x90\x00 this is no picture at all")
    async with world(tmp_path, tg, "id-ID", channel="    max_file: 64KB\n") as w:
        page = await w.browser.new_page()
        await page.goto(f"{w.shop}/")
        frame = await open_panel(page)
        label = await frame.evaluate(f"{ATTACH}.getAttribute('aria-label')")
        assert label == "Lampirkan gambar atau PDF"
        await write(page, frame, "Kak, kaosnya sobek")
        [relay] = await wait_sent(w.tg, STAFF_GROUP, 1)

        await attach(page, frame, tmp_path / "kaos.png")
        await frame.wait_for(f"{FILES}.length === 1 && {FILES}[0][2]")
        [_, photo] = await wait_sent(w.tg, STAFF_GROUP, 2)
        await attach(page, frame, tmp_path / "nota.pdf")
        [*_, document] = await wait_sent(w.tg, STAFF_GROUP, 3)
        assert photo.method == "sendPhoto" and photo.file_name == "kaos.png"
        assert document.method == "sendDocument" and document.file_name == "nota.pdf"

        # A staff member answers with a photo (a JPEG, as Telegram keeps photos).
        jpeg = await frame.evaluate(
            """(() => { const c = document.createElement('canvas'); c.width = 180;
            c.height = 120; const g = c.getContext('2d'); g.fillStyle = '#f4f1ea';
            g.fillRect(0, 0, 180, 120); g.fillStyle = '#c33';
            g.fillRect(55, 20, 70, 85); g.fillRect(30, 20, 35, 30); g.fillRect(115, 20, 35, 30);
            g.fillStyle = '#fff'; g.font = 'bold 22px sans-serif'; g.fillText('XL', 76, 75);
            return c.toDataURL('image/jpeg').split(',')[1]; })()"""
        )
        await staff_answer(w.tg, relay, "Ini kak yang baru", photo=base64.b64decode(jpeg))
        await frame.wait_for(f"{FILES}.length === 3 && {FILES}[2][2]")
        files = await frame.evaluate(FILES)
        assert files == [
            ["visitor", "Gambar: kaos.png", True],
            ["visitor", "PDF nota.pdf", True],
            ["staff", f"Gambar: {files[2][1].removeprefix('Gambar: ')}", True],
        ]
        assert files[2][1].endswith(".jpg")
        await shot(w, page, "webchat-files.png")

        # Too big: said at once; not an image whatever its name: the daemon refuses it.
        await attach(page, frame, tmp_path / "besar.png")
        big = "[...document.querySelectorAll('#log .failed .note')].map((n) => n.textContent)"
        said = await frame.wait_for(f"{big}.length === 1 && {big}[0]")
        assert "File terlalu besar. Paling besar 64 KB." in said
        await attach(page, frame, tmp_path / "virus.png")
        said = await frame.wait_for(f"{big}.length === 2 && {big}[1]")
        assert "Hanya gambar (JPEG, PNG, WebP, GIF) dan PDF yang bisa dikirim." in said
        assert [s for _, s in page.statuses if s == 415] == [415]

        # After a reload the files are still there, from the database.
        await page.reload()
        frame = await page.frame(IFRAME)
        await frame.wait_for(f"{FILES}.length === 3 && {FILES}.every((f) => f[2])")
        assert page.problems == [f for f in page.problems if "415" in f]
    assert len(await db_rows(w.config, "chat_files")) == 3
