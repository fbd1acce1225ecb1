"""`responder check --connect`: open the database and sign in to every channel, one line per
check with what to do when it fails; the checks run at once and print in the config's order.
Sends nothing."""

from __future__ import annotations

import asyncio
import errno
import sys
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TextIO

import aiohttp

from responder.channels.diagnose import Endpoint, cannot_listen
from responder.config import (
    Config,
    EmailChannelConfig,
    TelegramChannelConfig,
    WhatsAppChannelConfig,
)
from responder.config.csat import HttpConfig
from responder.ops.connect_base import Line, SignIns, failed, passed

# How long the running daemon's /healthz has to answer when its port is taken.
HEALTHZ_TIMEOUT = 3.0


def check_connections(config: Config, path: Path, out: TextIO | None = None) -> bool:
    """Run every check and print its line (to stdout by default); True when all passed."""
    return asyncio.run(_check_all(config, str(path), out or sys.stdout))


async def _check_all(config: Config, config_file: str, out: TextIO) -> bool:
    from responder.ops.connect_db import check_database
    from responder.ops.connect_mail import check_imap, check_smtp
    from responder.ops.connect_telegram import check_telegram
    from responder.ops.connect_whatsapp import check_whatsapp

    sign_ins = SignIns(config, config_file)
    checks: list[Awaitable[list[Line]]] = []
    for channel in config.channels:
        if isinstance(channel, EmailChannelConfig):
            checks.append(check_imap(channel, sign_ins, config_file))
            checks.append(check_smtp(channel, sign_ins, config_file))
        elif isinstance(channel, TelegramChannelConfig):
            checks.append(check_telegram(channel, config_file))
        elif isinstance(channel, WhatsAppChannelConfig):
            checks.append(check_whatsapp(channel, config_file))
        # A web chat reaches nothing: the http check below is its own.
    # First: every channel's work goes through the database.
    checks.insert(0, check_database(config))
    if config.http is not None:
        names = [channel.name for channel in config.channels]
        checks.append(check_http(config.http, names, config_file))
    # All started now, each bounded by its channel's timeout; printed as their turn comes.
    tasks = [asyncio.ensure_future(check) for check in checks]
    lines: list[Line] = []
    try:
        me = asyncio.current_task()
        for task in tasks:
            found = await task
            if me is not None and me.cancelling():
                # Ctrl-C: a check that took its cancellation for a server's silence must not
                # be printed as one.
                raise asyncio.CancelledError
            for line in found:
                print(line, file=out, flush=True)
                lines.append(line)
    finally:
        await sign_ins.close()
    print(_summary(lines, config_file), file=out)
    return all(line.status == "ok" for line in lines)


def _summary(lines: Sequence[Line], config_file: str) -> str:
    failures = sum(line.status == "FAIL" for line in lines)
    skipped = sum(line.status == "skip" for line in lines)
    if not failures and not skipped:
        return f"all {len(lines)} checks passed"
    parts = [f"{failures} of {len(lines)} checks failed"] if failures else []
    parts += [f"{skipped} could not be run"] if skipped else []
    again = f"`responder check -c {config_file} --connect`"
    return f"{', '.join(parts)}: fix what the lines above say, then run {again} again"


async def check_http(http: HttpConfig, channels: Sequence[str], config_file: str) -> list[Line]:
    """Whether the daemon could listen on http.host:http.port, as aiohttp would bind it; a
    port taken by responder itself, running now, is fine."""
    host = http.host.strip("[]")
    at = Endpoint("http", "http", host, http.port, key="http", config_file=config_file)
    loop = asyncio.get_running_loop()
    try:
        server = await loop.create_server(asyncio.Protocol, host, http.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and await _responder_answers(host, http.port, channels):
            text = f"{at.server} is taken by responder, which is running now (/healthz answers)"
            return [passed("http", text)]
        return [failed("http", cannot_listen(at, exc), at)]
    server.close()
    await server.wait_closed()
    return [passed("http", f"{at.server} is free to listen on")]


async def _responder_answers(host: str, port: int, channels: Sequence[str]) -> bool:
    """Whether what listens there is a responder daemon serving these channels: its
    /healthz lists each channel as "name: state" (responder/web/server.py)."""
    near = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    netloc = f"[{near}]" if ":" in near else near
    timeout = aiohttp.ClientTimeout(total=HEALTHZ_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"http://{netloc}:{port}/healthz") as response,
        ):
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError, UnicodeError):
        return False
    listed = {line.split(": ", 1)[0] for line in text.splitlines() if ": " in line}
    return bool(listed & set(channels))
