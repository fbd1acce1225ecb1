"""Debian's Chromium, headless, driven over the Chrome DevTools Protocol for tests that need a
real browser (issue 17's web chat): no driver binary, no new dependency, aiohttp's
websocket client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from responder.testing.browser_cdp import BrowserError, Cdp
from responder.testing.browser_page import Frame, Page

__all__ = ["CHROMIUM", "BrowserError", "Chromium", "Frame", "Page"]

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # a container's /dev/shm is often 64 MB
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--password-store=basic",
    "--hide-scrollbars",
    "--mute-audio",
    # The port the kernel picks is written to <user-data-dir>/DevToolsActivePort.
    "--remote-debugging-port=0",
)


class Chromium:
    """`async with Chromium(profile) as browser:` starts it, `browser.new_page()` opens a
    tab; leaving the block closes the browser and kills whatever is left of its processes."""

    def __init__(
        self,
        profile: Path,
        *,
        width: int = 1280,
        height: int = 900,
        language: str = "en-US",
        timezone: str = "UTC",
        timeout: float = 30.0,
    ) -> None:
        self.profile = profile
        self.width, self.height, self.timeout = width, height, timeout
        self.language = language  # navigator.language and Accept-Language
        self.timezone = timezone  # what the page's clock shows
        self.process: asyncio.subprocess.Process | None = None
        self._cdp: Cdp | None = None
        self._pages: list[Page] = []

    async def start(self) -> None:
        port_file = _prepare(self.profile)
        with (self.profile / "chromium.log").open("ab") as log:
            # Its own process group: the zygote and renderers go with it at the end.
            self.process = await asyncio.create_subprocess_exec(
                str(CHROMIUM),
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}",
                f"--accept-lang={self.language}",
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                env={**os.environ, "TZ": self.timezone},
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            port, path = await self._devtools_address(port_file)
            self._cdp = Cdp(f"ws://127.0.0.1:{port}{path}")
            await self._cdp.connect()
        except BaseException:
            await self.close()
            raise

    async def new_page(self) -> Page:
        cdp = self._connected()
        target = await cdp.call("Target.createTarget", {"url": "about:blank"})
        attached = await cdp.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(cdp, attached["sessionId"])
        await page.setup(self.width, self.height)
        self._pages.append(page)
        return page

    async def close(self) -> None:
        """Browser.close, then wait; anything still running in its group is killed."""
        if self._cdp is not None:
            cdp, self._cdp = self._cdp, None
            with contextlib.suppress(BrowserError):
                await cdp.call("Browser.close", timeout=5.0)
            await cdp.close()
        process, self.process = self.process, None
        if process is None:
            return
        try:
            async with asyncio.timeout(10.0):
                await process.wait()
        except TimeoutError:
            pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # stragglers (renderers, zygote)
        if process.returncode is None:
            await process.wait()
        for _ in range(250):  # SIGKILL takes effect a moment later; 5 s at most
            if not _group(process.pid):
                break
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _connected(self) -> Cdp:
        if self._cdp is None or self._cdp.closed:
            raise BrowserError("the browser is not running")
        return self._cdp

    async def _devtools_address(self, port_file: Path) -> tuple[int, str]:
        """Chromium writes "<port>\\n<browser websocket path>" once it listens."""
        deadline = time.monotonic() + self.timeout
        while True:
            found = _read_port(port_file)
            if found is not None:
                return found
            assert self.process is not None
            if self.process.returncode is not None or time.monotonic() > deadline:
                tail = _tail(self.profile / "chromium.log")
                raise BrowserError(f"Chromium did not start (DevTools port unknown):\n{tail}")
            await asyncio.sleep(0.05)


def _prepare(profile: Path) -> Path:
    if not CHROMIUM.exists():
        raise BrowserError(f"{CHROMIUM} is missing: install Debian's chromium package")
    profile.mkdir(parents=True, exist_ok=True)
    port_file = profile / "DevToolsActivePort"
    port_file.unlink(missing_ok=True)  # a previous run's, naming a port now closed
    return port_file


def _read_port(port_file: Path) -> tuple[int, str] | None:
    with contextlib.suppress(FileNotFoundError, ValueError):
        lines = port_file.read_text().splitlines()
        if len(lines) >= 2:
            return int(lines[0]), lines[1]
    return None


def _group(pgid: int) -> list[int]:
    """The live processes of a process group (from /proc; zombies are already dead)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]
