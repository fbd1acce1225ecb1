"""The DevTools driver the web chat's browser tests use (responder/testing/browser.py),
against pages served on 127.0.0.1: it sees and does what a person would, reports what went
wrong in the page, and leaves no Chromium process behind."""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path

import psutil
import pytest

from responder.testing.browser import BrowserError, Chromium
from tests.harness import html_site, wait_until

ICON = '<link rel="icon" href="data:,">'  # no /favicon.ico request to report as a 404

FORM = f"""<!doctype html>{ICON}
<form id="f"><input id="name" aria-label="name"></form>
<button id="b" style="margin-top: 300px">Press</button>
<script>
document.getElementById("f").addEventListener("submit", (e) => {{
  e.preventDefault();
  document.body.dataset.sent = document.getElementById("name").value;
}});
document.getElementById("b").addEventListener("click", (e) => {{
  document.body.dataset.clicked = e.isTrusted ? "person" : "script";
}});
</script>"""


async def test_it_types_and_clicks_inside_an_iframe_of_another_origin_and_takes_screenshots(
    tmp_path: Path,
) -> None:
    async with html_site({"/": FORM}) as inner:
        outer = f'<!doctype html>{ICON}<h1>Shop</h1><iframe id="x" src="{inner}/"></iframe>'
        async with html_site({"/": outer}) as top, Chromium(tmp_path / "profile") as browser:
            page = await browser.new_page()
            await page.goto(f"{top}/")
            assert await page.evaluate("document.querySelector('h1').textContent") == "Shop"
            frame = await page.frame("document.getElementById('x')")
            await frame.wait_for("document.getElementById('name')")
            await frame.click("document.getElementById('name')")
            await page.type_text("Budi ✓")
            await page.press("Enter")
            assert await frame.wait_for("document.body.dataset.sent") == "Budi ✓"
            await frame.click("document.getElementById('b')")  # scrolled into view first
            assert await frame.wait_for("document.body.dataset.clicked") == "person"
            png = await page.screenshot(tmp_path / "shot.png")
            with pytest.raises(BrowserError, match="not true within"):
                await page.wait_for("document.body.dataset.never", timeout=0.3)
            assert page.problems == []
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 900)
    assert (tmp_path / "shot.png").read_bytes() == png


async def test_it_reports_errors_refused_frames_failed_requests_and_dialogs(
    tmp_path: Path,
) -> None:
    async with (
        html_site(
            {"/": "<p>not for framing</p>"},
            headers={"Content-Security-Policy": "frame-ancestors https://shop.example"},
        ) as refusing,
        html_site({"/api": "{}"}) as api,
    ):
        bad = f"""<!doctype html>{ICON}<iframe src="{refusing}/"></iframe>
<script>
console.error("broken", 42);
fetch("{api}/api").catch(() => {{ document.body.dataset.refused = "yes"; }});
alert("hello");
document.body.dataset.after = "yes";
setTimeout(() => {{ throw new Error("late failure"); }}, 0);
</script>"""
        async with html_site({"/": bad}) as top, Chromium(tmp_path / "profile") as browser:
            page = await browser.new_page()
            await page.goto(f"{top}/")
            # The dialog was dismissed, so the script went on.
            await page.wait_for("document.body.dataset.after && document.body.dataset.refused")

            async def reported() -> bool:  # events come a moment after the page moved on
                said = "\n".join(page.problems)
                expected = ("late failure", "frame-ancestors", "MissingAllowOriginHeader")
                seen = all(part in said for part in expected)
                return seen and (f"{api}/api", 200) in page.statuses

            try:
                await wait_until(reported)
            except AssertionError:
                raise AssertionError(f"{page.problems}\n{page.statuses}") from None
            problems = "\n".join(page.problems)
            assert page.dialogs == ["hello"]
            assert ("error", "broken 42") in page.console
            assert "console.error: broken 42" in problems
            assert "late failure" in problems
            assert "frame-ancestors https://shop.example" in problems
            assert f'failed: {refusing}/ "net::ERR_BLOCKED_BY_RESPONSE"' in problems
            assert f"failed: {api}/api" in problems and "MissingAllowOriginHeader" in problems
            assert (f"{api}/api", 200) in page.statuses


async def test_closing_leaves_no_chromium_process_behind(tmp_path: Path) -> None:
    browser = Chromium(tmp_path / "profile")
    await browser.start()
    assert browser.process is not None
    group = browser.process.pid  # started in a process group of its own
    page = await browser.new_page()
    await page.goto("about:blank")
    assert len(in_group(group)) > 1  # the browser, its zygote, a renderer...
    await browser.close()
    assert in_group(group) == []
    with pytest.raises(BrowserError, match="not running"):
        await browser.new_page()


def in_group(group: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    found = []
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(process.pid) == group and process.info["status"] != "zombie":
                found.append(process.pid)
    return found
