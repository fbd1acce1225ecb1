"""Helpers for end-to-end tests: a config for the local servers and a running daemon."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import testdb

from responder.app.daemon import App
from responder.config import load_config
from responder.storage.store import Store
from responder.testing import (
    Dovecot,
    RecordingSMTPServer,
    SentMessage,
    TelegramStandIn,
    free_port,
)
from responder.testing.webchat import Visitor

SUPPORT = "support@toko-contoh.id"
SUPPORT_PASSWORD = "secret-imap"
# Retries within a test's patience, and a reply parked after five tries.
FAST_RETRIES = "{retry_base: 0.2s, retry_cap: 1s, max_attempts: 5}"


def write_config(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp: RecordingSMTPServer,
    *,
    extra: str = "",
    channel_extra: str = "",
    imap_extra: str = "",
    smtp_extra: str = "",
    imap_password: bool = True,
    delivery: str = FAST_RETRIES,
) -> Path:
    """One mailbox on these servers; its IMAP password in a file unless `imap_password` is
    False (it signs in another way); the *_extra text is added to each part as it is."""
    state = _state_dir(tmp_path)
    password = ""
    if imap_password:
        password = f"password_file: {_secret(tmp_path, 'imap-password', SUPPORT_PASSWORD)}, "
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""\
timezone: Asia/Jakarta
state_dir: {state}
delivery: {delivery}
{extra}
channels:
  - name: support-mail
    type: email
    address: {SUPPORT}
    display_name: Toko Contoh
    language: id
{channel_extra}
    imap: {{host: 127.0.0.1, port: {dovecot.port}, security: none, username: {SUPPORT},
           {password}folder: INBOX, timeout: 5s{imap_extra}}}
    smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none, timeout: 5s{smtp_extra}}}
"""
    )
    return path


@asynccontextmanager
async def running(config_path: Path, clock: Any = None) -> AsyncIterator[App]:
    app = App(load_config(config_path), **({"clock": clock} if clock else {}))
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> None:
    """Poll an async predicate until it holds; fail with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        if await predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def wait_connected(app: App, timeout: float = 10.0) -> None:
    async def connected() -> bool:
        return all(state == "connected" for state in app.health().values())

    await wait_until(connected, timeout)
    await asyncio.sleep(0.1)  # IDLE is issued right after the first sync


async def db_rows(config_path: Path, table: str, **where: Any) -> list[dict[str, Any]]:
    """Read the daemon's database from outside, as an admin's tool would."""
    store = Store(load_config(config_path).database_url_resolved)
    await store.open()
    try:
        return await store.rows(table, **where)
    finally:
        await store.close()


async def all_decided(config_path: Path, n: int) -> bool:
    """At least `n` messages recorded, and every one of them decided."""
    rows = await db_rows(config_path, "inbound")
    return len(rows) >= n and all(r["state"] == "done" for r in rows)


async def all_sent(config_path: Path) -> bool:
    """No reply waiting: each was sent or parked."""
    rows = await db_rows(config_path, "replies")
    return all(r["state"] in ("sent", "parked") for r in rows)


async def has_cursor(config_path: Path) -> bool:
    """Whether the daemon has recorded its IMAP cursor, i.e. intake is up."""
    try:
        return bool(await db_rows(config_path, "cursors"))
    except Exception:
        return False


class DaemonProcess:
    """`responder run` as a real child process, for the kill -9 test."""

    def __init__(self, config_path: Path, log_path: Path, *, own_machine: bool = False) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        # In a pid namespace of its own, as on a machine of its own: the others cannot tell
        # whether its process runs, so its leases pass only by running out (issue 19's
        # failover between VPSes). SIGKILL to unshare kills it (--kill-child).
        self.prefix = own_pid_namespace() if own_machine else []

    def start(self) -> None:
        testdb.for_child(self.config_path)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                *self.prefix,
                sys.executable,
                "-m",
                "responder.cli",
                "run",
                "-c",
                str(self.config_path),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, sig: signal.Signals = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            if self.prefix:  # unshare ignores SIGTERM while it waits: tell the daemon itself
                pid = self.proc.pid
                for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
                    os.kill(int(child), sig)
            else:
                self.proc.send_signal(sig)
        return self.proc.wait(20)

    def shut_down(self, timeout: float = 30.0) -> bool:
        """SIGTERM, and SIGKILL if it has not stopped within `timeout`: whether it stopped
        on its own. A test's cleanup, so nothing outlives the test."""
        if self.proc is None or self.proc.poll() is not None:
            return True
        try:
            self.terminate()
            return True
        except subprocess.TimeoutExpired:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(max(timeout - 20, 0.1))
                return True
            self.kill9()
            return False


def own_pid_namespace() -> list[str]:
    """The command prefix that runs a process in a new pid namespace (root, or as root of a
    new user namespace)."""
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return ["unshare", *user, "--pid", "--fork", "--kill-child"]


TELEGRAM_TOKEN = "123456:TEST-token-for-responder-tests"
STAFF_GROUP = -1001234567890


def write_telegram_config(
    tmp_path: Path,
    base_url: str,
    *,
    staff_chat: int | None = STAFF_GROUP,
    extra: str = "",
    channel_extra: str = "",
) -> Path:
    """A config with one Telegram channel talking to the stand-in at `base_url`."""
    state = _state_dir(tmp_path)
    token = _secret(tmp_path, "telegram-token", TELEGRAM_TOKEN)
    staff = f"\n    staff_chat_id: {staff_chat}" if staff_chat is not None else ""
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""\
timezone: Asia/Jakarta
state_dir: {state}
delivery: {{retry_base: 0.2s, retry_cap: 1s, max_attempts: 5}}
{extra}
channels:
  - name: shop-bot
    type: telegram
    token_file: {token}
    api_url: {base_url.removesuffix("/bot")}
    display_name: Toko Contoh
    language: id
    poll_timeout: 2s
    timeout: 5s{staff}
{channel_extra}
"""
    )
    return path


WA_TOKEN = "EAAG-test-token-for-responder-tests"
WA_APP_SECRET = "0123456789abcdef0123456789abcdef"
WA_VERIFY = "verify-me-please"
WA_NUMBER_ID = "106540352242922"


def write_whatsapp_config(
    tmp_path: Path, api_url: str, http_port: int, *, extra: str = "", channel_extra: str = ""
) -> Path:
    """A config with one WhatsApp channel on the Graph stand-in at `api_url`, its webhook on
    the daemon's HTTP endpoint at 127.0.0.1:`http_port`."""
    token = _secret(tmp_path, "whatsapp-token", WA_TOKEN)
    secret = _secret(tmp_path, "whatsapp-app-secret", WA_APP_SECRET)
    verify = _secret(tmp_path, "whatsapp-verify", WA_VERIFY)
    channel = f"""\
  - name: shop-wa
    type: whatsapp
    phone_number_id: "{WA_NUMBER_ID}"
    access_token_file: {token}
    app_secret_file: {secret}
    verify_token_file: {verify}
    api_url: {api_url}
    display_name: Toko Contoh
    language: id
    timeout: 5s
{channel_extra}
"""
    return _write_http_config(tmp_path, http_port, extra, channel)


def _write_http_config(tmp_path: Path, http_port: int, extra: str, channels: str) -> Path:
    """config.yaml with the daemon's HTTP endpoint at 127.0.0.1:`http_port` (public at the
    shop's address), quick retries, and `channels` (YAML list items)."""
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""\
timezone: Asia/Jakarta
state_dir: {_state_dir(tmp_path)}
delivery: {{retry_base: 0.2s, retry_cap: 1s, max_attempts: 5}}
http: {{host: 127.0.0.1, port: {http_port}, public_url: https://bantuan.toko-contoh.id}}
{extra}
channels:
{channels}"""
    )
    return path


def webhook_url(port: int, channel: str = "shop-wa") -> str:
    return f"http://127.0.0.1:{port}/webhooks/whatsapp/{channel}"


async def post_signed(port: int, body: object, **kw: str) -> tuple[int, str]:
    """POST a webhook to the daemon's endpoint as Meta does, signed with the app secret."""
    from responder.testing.whatsapp_webhooks import post_webhook

    return await asyncio.to_thread(post_webhook, webhook_url(port), body, WA_APP_SECRET, **kw)


SHOP_ORIGIN = "https://toko-contoh.id"


def write_webchat_config(
    tmp_path: Path, http_port: int, *, extra: str = "", channel_extra: str = ""
) -> Path:
    """A config with one website chat channel, `web`, on the daemon's HTTP endpoint at
    127.0.0.1:`http_port`, embedded by the shop's pages at SHOP_ORIGIN."""
    channel = f"""\
  - name: web
    type: webchat
    allowed_origins: ["{SHOP_ORIGIN}", "https://www.toko-contoh.id"]
    title: Toko Contoh
    language: id
{channel_extra}
"""
    return _write_http_config(tmp_path, http_port, extra, channel)


def chat_url(port: int, channel: str = "web") -> str:
    return f"http://127.0.0.1:{port}/chat/{channel}"


@asynccontextmanager
async def webchat_desk(
    tmp_path: Path, tg: TelegramStandIn, channel_extra: str = ""
) -> AsyncIterator[tuple[Path, Visitor]]:
    """The web chat `web` answered from the Telegram staff group, running, and a visitor in
    session on it."""
    port = free_port()
    config = write_webchat_config(tmp_path, port, channel_extra=channel_extra)
    add_staff_bot(config, tmp_path, tg)
    async with running(config), Visitor(chat_url(port)) as visitor:
        await visitor.session()
        yield config, visitor


def add_staff_bot(config: Path, tmp_path: Path, tg: TelegramStandIn, limits: str = "") -> Path:
    """Append a Telegram channel whose staff group is the desk of the config's other
    channels (no staff_desk key needed: it is the one group)."""
    token = _secret(tmp_path, "telegram-token", TELEGRAM_TOKEN)
    with config.open("a") as out:
        out.write(
            f"""\
  - name: shop-bot
    type: telegram
    token_file: {token}
    api_url: {tg.base_url.removesuffix("/bot")}
    language: id
    poll_timeout: 2s
    timeout: 5s
    staff_chat_id: {STAFF_GROUP}
{limits}"""
        )
    return config


def _state_dir(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return state


def _secret(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n")
    return path


def shown(message: SentMessage) -> str:
    """What a Telegram user sees of an HTML message: tags gone, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", message.text or ""))


def sent_to(tg: TelegramStandIn, chat: int) -> list[SentMessage]:
    return [s for s in tg.sent if s.chat_id == chat]


# The Telegram stand-in's people: a customer in a private chat, a staff group administrator.
TG_CUSTOMER = 5001
TG_STAFF = 7001


async def wait_sent(
    tg: TelegramStandIn, chat: int, n: int, timeout: float = 10.0
) -> list[SentMessage]:
    """Wait until the bot has sent `n` messages to `chat`; returns them all."""

    async def enough() -> bool:
        return len(sent_to(tg, chat)) >= n

    await wait_until(enough, timeout)
    return sent_to(tg, chat)


async def staff_answer(tg: TelegramStandIn, relay: SentMessage, text: str, **kw: object) -> None:
    """A staff member replies to a post in the staff group (an answer or a command)."""
    tg.push_message(
        STAFF_GROUP,
        text,
        from_id=kw.pop("from_id", TG_STAFF),
        first_name="Sari",
        chat_type="supergroup",
        reply_to_message_id=relay.message_id,
        **kw,  # type: ignore[arg-type]
    )


JAKARTA = ZoneInfo("Asia/Jakarta")


class Clock:
    """An injected clock a test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def local(*args: int) -> datetime:
    """A wall-clock time in Jakarta."""
    return datetime(*args, tzinfo=JAKARTA)


@asynccontextmanager
async def html_site(
    pages: dict[str, str], headers: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """A site on 127.0.0.1 serving `pages` ({path: HTML}); yields its origin
    ("http://127.0.0.1:<port>"). For browser tests: a shop's page, another origin's."""
    from aiohttp import web

    async def page(request: web.Request) -> web.Response:
        if request.path not in pages:
            raise web.HTTPNotFound()
        return web.Response(text=pages[request.path], content_type="text/html", headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def simulated(config: Path, capsys: Any, name: str, raw: bytes, *args: str) -> tuple[int, str, str]:
    """`responder simulate` on `raw` saved as `name` beside the config: (exit code, stdout,
    stderr)."""
    from responder.cli import main

    path = config.parent / name
    path.write_bytes(raw)
    code = main(["simulate", "-c", str(config), str(path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def simulated_json(config: Path, capsys: Any, name: str, raw: bytes, *args: str) -> Any:
    """What `simulate --json` decided, after checking it ran cleanly."""
    from responder.cli import EX_OK

    code, out, err = simulated(config, capsys, name, raw, *args, "--json")
    assert (code, err) == (EX_OK, "")
    return json.loads(out)
