"""A browser tab over CDP: navigate, run script (in the page or one of its iframes), click
and type as a person does, screenshots, and everything that went wrong in it."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

from responder.testing.browser_cdp import BrowserError, Cdp

DOMAINS = ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable")
# key: (windowsVirtualKeyCode, the text it types)
KEYS = {"Enter": (13, "\r"), "Escape": (27, ""), "Tab": (9, ""), "Backspace": (8, "")}
SHIFT = 8  # Input.dispatchKeyEvent modifiers bit


class Frame:
    """An iframe of a page, found by an expression that yields its <iframe> element in the
    top document; its script context is looked up afresh on every call, so it follows the
    frame's navigations."""

    def __init__(self, page: Page, element: str, frame_id: str) -> None:
        self.page, self.element, self.frame_id = page, element, frame_id

    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        return await self.page.evaluate(expression, frame=self, timeout=timeout)

    async def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        return await self.page.wait_for(expression, frame=self, timeout=timeout)

    async def click(self, element: str) -> None:
        await self.page.click(element, frame=self)


class Page:
    """One tab, attached by a flattened session; see `problems` for what went wrong."""

    def __init__(self, cdp: Cdp, session: str) -> None:
        self.cdp, self.session = cdp, session
        self.console: list[tuple[str, str]] = []  # (type, text) of every console call
        self.problems: list[str] = []  # errors, exceptions, refused or failed loads
        self.dialogs: list[str] = []  # alert/confirm/prompt messages (dismissed at once)
        self._statuses: dict[str, int] = {}  # request id -> HTTP status
        self._requests: dict[str, tuple[str, dict[str, str]]] = {}  # id -> (url, headers)
        self._contexts: dict[str, int] = {}  # frame id -> its page script context
        self._children: dict[str, str] = {}  # out-of-process iframe's frame id -> session
        self._urls: dict[str, str] = {}  # request id -> url
        self._loaded: asyncio.Event = asyncio.Event()
        self._chosen: list[str] = []  # what the next file chooser is answered with
        self._tasks: set[asyncio.Task[Any]] = set()
        cdp.listen(session, self._event)

    async def setup(self, width: int, height: int) -> None:
        for method in DOMAINS:
            await self.cdp.call(method, session=self.session)
        await self.viewport(width, height)
        # A cross-site iframe runs in its own process: attach to it too.
        auto = {"autoAttach": True, "waitForDebuggerOnStart": False, "flatten": True}
        await self.cdp.call("Target.setAutoAttach", auto, session=self.session)

    async def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
        await self.cdp.call("Emulation.setDeviceMetricsOverride", metrics, session=self.session)

    @property
    def statuses(self) -> list[tuple[str, int]]:
        """(url, status) of every HTTP response the page and its frames received."""
        found = [(self._urls.get(r, ""), status) for r, status in self._statuses.items()]
        return [(url, status) for url, status in found if url.startswith("http")]

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        """(url, headers) of every request the page and its frames made, in order."""
        return list(self._requests.values())

    async def block(self, *patterns: str) -> None:
        """Requests to matching URLs ("*" a wildcard) fail, as behind a proxy that refuses
        them; no patterns: nothing is blocked."""
        await self.cdp.call(
            "Network.setBlockedURLs", {"urls": list(patterns)}, session=self.session
        )

    async def goto(self, url: str, timeout: float = 30.0) -> None:
        self._loaded.clear()
        answer = await self.cdp.call("Page.navigate", {"url": url}, session=self.session)
        if answer.get("errorText"):
            raise BrowserError(f"cannot open {url}: {answer['errorText']}")
        await self._wait_loaded(url, timeout)

    async def reload(self, timeout: float = 30.0) -> None:
        self._loaded.clear()
        await self.cdp.call("Page.reload", {"ignoreCache": False}, session=self.session)
        await self._wait_loaded("the reload", timeout)

    async def evaluate(
        self, expression: str, *, frame: Frame | None = None, timeout: float = 30.0
    ) -> Any:
        """The expression's value (promises awaited), as JSON; its exception raises."""
        params: dict[str, Any] = {
            "expression": expression,
            "awaitPromise": True,
            "returnByValue": True,
            "userGesture": True,
        }
        session = self.session
        if frame is not None:
            if frame.frame_id in self._children:
                session = self._children[frame.frame_id]
            elif frame.frame_id in self._contexts:
                params["contextId"] = self._contexts[frame.frame_id]
            else:
                raise BrowserError(f"the frame {frame.element} has no document yet")
        answer = await self.cdp.call("Runtime.evaluate", params, session=session, timeout=timeout)
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            thrown = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression[:80]!r} threw: {thrown}")
        return answer.get("result", {}).get("value")

    async def wait_for(
        self, expression: str, *, frame: Frame | None = None, timeout: float = 15.0
    ) -> Any:
        """Poll until the expression is truthy, and return its value; an exception while
        polling counts as not yet (the element is not there yet)."""
        deadline = time.monotonic() + timeout
        # Truthy as JavaScript judges it: an element comes back as {} by value.
        probe = f"(async () => {{ const v = await ({expression}); return [!!v, v]; }})()"
        last = "false"
        while True:
            try:
                truthy, value = await self.evaluate(probe, frame=frame)
                if truthy:
                    return value
                last = repr(value)
            except BrowserError as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise BrowserError(
                    f"not true within {timeout}s: {expression}\nlast: {last}\n"
                    f"problems: {self.problems}"
                )
            await asyncio.sleep(0.05)

    async def frame(self, element: str, timeout: float = 15.0) -> Frame:
        """The iframe the expression `element` yields, once its document is scriptable."""
        deadline = time.monotonic() + timeout
        while True:
            found = await self.cdp.call(
                "Runtime.evaluate", {"expression": element}, session=self.session
            )
            handle = found.get("result", {}).get("objectId")
            if handle is not None:
                node = await self.cdp.call(
                    "DOM.describeNode", {"objectId": handle}, session=self.session
                )
                frame_id = node.get("node", {}).get("frameId")
                if frame_id in self._contexts or frame_id in self._children:
                    return Frame(self, element, frame_id)
            if time.monotonic() > deadline:
                raise BrowserError(f"no scriptable iframe at {element} within {timeout}s")
            await asyncio.sleep(0.05)

    async def click(self, element: str, *, frame: Frame | None = None) -> None:
        """A real mouse click at the middle of the element the expression yields."""
        x, y = await self.evaluate(
            f"(() => {{ const e = {element}; e.scrollIntoView({{block: 'nearest'}});"
            " const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()",
            frame=frame,
        )
        if frame is not None:  # where the iframe's content starts in the page
            left, top = await self.evaluate(
                f"(() => {{ const e = {frame.element}; const r = e.getBoundingClientRect();"
                " return [r.left + e.clientLeft, r.top + e.clientTop]; })()"
            )
            x, y = x + left, y + top
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            event = {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            await self.cdp.call("Input.dispatchMouseEvent", event, session=self.session)

    async def type_text(self, text: str) -> None:
        """Text into the focused field, as an input method would put it there."""
        await self.cdp.call("Input.insertText", {"text": text}, session=self.session)

    async def press(self, key: str, modifiers: int = 0) -> None:
        code, text = KEYS[key]
        down: dict[str, Any] = {
            "type": "keyDown" if text else "rawKeyDown",
            "key": key,
            "code": key,
            "windowsVirtualKeyCode": code,
            "nativeVirtualKeyCode": code,
            "modifiers": modifiers,
        }
        if text:
            down |= {"text": text, "unmodifiedText": text}
        await self.cdp.call("Input.dispatchKeyEvent", down, session=self.session)
        up = {k: v for k, v in down.items() if k not in ("text", "unmodifiedText")}
        await self.cdp.call("Input.dispatchKeyEvent", up | {"type": "keyUp"}, session=self.session)

    async def choose_files(self, *paths: Path) -> None:
        """The next file chooser the page opens (a click or a key on an upload button) is
        answered with `paths`, as a person picking them in the dialog would."""
        self._chosen = [str(p) for p in paths]
        enable = {"enabled": True}
        await self.cdp.call("Page.setInterceptFileChooserDialog", enable, session=self.session)
        for child in list(self._children.values()):
            await self.cdp.call("Page.setInterceptFileChooserDialog", enable, session=child)

    async def screenshot(self, path: Path) -> bytes:
        answer = await self.cdp.call(
            "Page.captureScreenshot", {"format": "png"}, session=self.session
        )
        data = base64.b64decode(answer["data"])
        await asyncio.to_thread(_write, path, data)
        return data

    async def _wait_loaded(self, what: str, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._loaded.wait()
        except TimeoutError:
            raise BrowserError(f"{what} did not finish loading within {timeout}s") from None

    def _event(self, method: str, params: dict[str, Any], child: str | None = None) -> None:
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.executionContextCreated":
            context = params["context"]
            aux = context.get("auxData", {})
            if aux.get("isDefault") and aux.get("frameId") and child is None:
                self._contexts[aux["frameId"]] = context["id"]
        elif method == "Runtime.executionContextDestroyed" and child is None:
            gone = params.get("executionContextId")
            self._contexts = {f: c for f, c in self._contexts.items() if c != gone}
        elif method == "Runtime.executionContextsCleared" and child is None:
            self._contexts.clear()
        elif method == "Target.attachedToTarget":
            self._attached(params)
        elif method == "Target.detachedFromTarget":
            gone = params.get("sessionId")
            self._children = {f: s for f, s in self._children.items() if s != gone}
        elif method == "Page.fileChooserOpened":
            files = {"files": self._chosen, "backendNodeId": params["backendNodeId"]}
            self._spawn(
                self.cdp.call("DOM.setFileInputFiles", files, session=child or self.session)
            )
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(params.get("message", ""))
            self._spawn(self._dismiss(child or self.session))
        else:
            self._diagnose(method, params)

    def _diagnose(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.consoleAPICalled":
            text = " ".join(_shown(a) for a in params.get("args", []))
            self.console.append((params.get("type", ""), text))
            if params.get("type") in ("error", "assert"):
                self.problems.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            thrown = details.get("exception", {}).get("description") or details.get("text")
            self.problems.append(f"uncaught: {thrown}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                where = f" ({entry['url']})" if entry.get("url") else ""
                self.problems.append(f"{entry.get('source')}: {entry.get('text')}{where}")
        elif method == "Network.requestWillBeSent":
            request = params.get("request", {})
            self._urls[params["requestId"]] = request.get("url", "")
            _, early = self._requests.get(params["requestId"], ("", {}))
            self._requests[params["requestId"]] = (request["url"], request["headers"] | early)
        elif method == "Network.requestWillBeSentExtraInfo":
            # The headers as they went out, with those the network stack adds (Cookie,
            # EventSource's Last-Event-ID); it may come before requestWillBeSent.
            url, headers = self._requests.get(params["requestId"], ("", {}))
            self._requests[params["requestId"]] = (url, headers | params.get("headers", {}))
        elif method == "Network.responseReceivedExtraInfo":
            # Sent even for a response CORS keeps from the page (a 403 it cannot read), and
            # at times before the request's own event: matched to its URL when asked.
            self._statuses[params["requestId"]] = int(params.get("statusCode", 0))
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            url = self._urls.get(params.get("requestId", ""), "?")
            why = [params.get(k) for k in ("errorText", "blockedReason", "corsErrorStatus")]
            self.problems.append(f"failed: {url} " + " ".join(json.dumps(w) for w in why if w))

    def _attached(self, params: dict[str, Any]) -> None:
        info, child = params.get("targetInfo", {}), params["sessionId"]
        if info.get("type") != "iframe":
            return
        self._children[info["targetId"]] = child  # an OOPIF's target id is its frame id
        self.cdp.listen(child, lambda m, p: self._event(m, p, child))
        self._spawn(self._enable(child))

    async def _enable(self, child: str) -> None:
        for method in DOMAINS:
            await self.cdp.call(method, session=child)

    async def _dismiss(self, session: str) -> None:
        await self.cdp.call("Page.handleJavaScriptDialog", {"accept": True}, session=session)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _shown(arg: dict[str, Any]) -> str:
    if "value" in arg:
        return str(arg["value"])
    return str(arg.get("description", arg.get("type", "")))
