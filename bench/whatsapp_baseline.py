"""The floor for WhatsApp webhook-in, reply-out: bare aiohttp, one Graph send per message."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

READY = b"baseline ready\n"
REPLY = "Terima kasih, pesan Anda sudah kami terima."


class Echo:
    """Checks X-Hub-Signature-256 as the daemon does, answers 200 at once (Meta wants it
    fast) and sends one text per customer message over one kept-open client session."""

    def __init__(self, api_url: str, number: str, token: str, secret: str) -> None:
        self._url = f"{api_url}/{number}/messages"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._secret = secret.encode()
        self._tasks: set[asyncio.Task[None]] = set()
        self.session: aiohttp.ClientSession | None = None
        self.failures = 0

    async def webhook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        expected = "sha256=" + hmac.new(self._secret, raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Hub-Signature-256", ""), expected):
            return web.Response(status=401, text="bad signature\n")
        body: Any = json.loads(raw)
        for entry in body.get("entry", []):
            for change in entry.get("changes", []):
                for message in change.get("value", {}).get("messages", []):
                    task = asyncio.create_task(self._send(message["from"], message["id"]))
                    self._tasks.add(task)  # the loop keeps only weak references to tasks
                    task.add_done_callback(self._tasks.discard)
        return web.Response(text="ok\n")

    async def _send(self, to: str, wamid: str) -> None:
        assert self.session is not None
        payload = {
            "messaging_product": "whatsapp",
            "to": to,
            "type": "text",
            "context": {"message_id": wamid},
            "text": {"body": REPLY},
        }
        async with self.session.post(self._url, json=payload, headers=self._headers) as response:
            await response.read()
            if response.status != 200:
                self.failures += 1
                print(f"graph answered {response.status} for {to}", file=sys.stderr, flush=True)


async def serve(port: int, echo: Echo) -> None:
    app = web.Application()
    app.router.add_post("/webhooks/whatsapp/{channel}", echo.webhook)
    runner = web.AppRunner(app, access_log=None)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        echo.session = session
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        sys.stdout.buffer.write(READY)
        sys.stdout.flush()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whatsapp_baseline", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True, help="Graph's root with the version")
    parser.add_argument("--phone-number-id", required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--secret-file", type=Path, required=True, help="the app secret")
    args = parser.parse_args(argv)
    token = args.token_file.read_text().strip()
    secret = args.secret_file.read_text().strip()
    asyncio.run(serve(args.port, Echo(args.api_url, args.phone_number_id, token, secret)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
