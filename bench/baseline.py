"""The floor: IDLE, fetch, one fixed reply per message over one SMTP connection; nothing else."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr
from pathlib import Path

import aioimaplib
import aiosmtplib

from responder.channels.email.imap_fetch import fetch_records, search_uids, uid_ranges

FETCH_CHUNK = 100
TIMEOUT = 30.0
# Like the daemon: renew IDLE well inside RFC 2177's 29 minutes.
IDLE_RENEW_SECONDS = 300.0
FROM_ADDR = "support@toko-contoh.id"


class BaselineError(RuntimeError):
    """The server refused something the baseline cannot do without."""


def reply_bytes(to_addr: str) -> bytes:
    return (
        f"From: {FROM_ADDR}\r\n"
        f"To: {to_addr}\r\n"
        "Subject: Re: your message\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "\r\n"
        "Thanks, we got it.\r\n"
    ).encode("ascii", "replace")


def from_addr(raw: bytes) -> str | None:
    header = BytesHeaderParser(policy=compat32).parsebytes(raw).get("From")
    address = parseaddr(str(header or ""))[1]
    return address or None


async def sync(client: aioimaplib.IMAP4, smtp: aiosmtplib.SMTP, position: int) -> int:
    """Answer everything past `position`; search again until nothing is new, because an EXISTS
    that arrives inside a FETCH response is not repeated once IDLE starts."""
    while True:
        response = await client.uid_search("UID", f"{position + 1}:*", charset=None)
        if response.result != "OK":
            raise BaselineError(f"UID SEARCH failed: {response.lines!r}")
        # "UID n:*" names the last message even when its UID is below n.
        uids = [u for u in search_uids(response.lines) if u > position]
        if not uids:
            # Dovecot searches the view it had when the command began and reports mail that
            # landed meanwhile as an EXISTS at its end, which IDLE will not repeat: look again.
            if any(b"EXISTS" in line for line in response.lines if isinstance(line, bytes)):
                continue
            return position
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start : start + FETCH_CHUNK]
            response = await client.uid("fetch", uid_ranges(chunk), "(UID BODY.PEEK[])")
            if response.result != "OK":
                raise BaselineError(f"UID FETCH failed: {response.lines!r}")
            for record in fetch_records(response.lines):
                to_addr = from_addr(record.raw)
                if to_addr is not None:
                    await smtp.sendmail("", [to_addr], reply_bytes(to_addr))
            position = max(position, chunk[-1])


async def wait_for_news(client: aioimaplib.IMAP4, stop: asyncio.Event) -> None:
    """Return when the server reports new mail, IDLE is due for renewal, or we are stopped."""
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            push = asyncio.ensure_future(client.wait_server_push(IDLE_RENEW_SECONDS + 30))
            done, _ = await asyncio.wait({push, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if push not in done:
                push.cancel()
                return
            if push.exception() is not None:
                return
            lines = push.result()
            if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                return
            if any(b"EXISTS" in line for line in lines):
                return
    finally:
        stopped.cancel()


async def run(args: argparse.Namespace, password: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = aioimaplib.IMAP4(host=args.host, port=args.port, timeout=TIMEOUT)
    await client.wait_hello_from_server()
    response = await client.login(args.user, password)
    if response.result != "OK":
        raise BaselineError(f"login refused: {response.lines!r}")
    response = await client.select("INBOX")
    if response.result != "OK":
        raise BaselineError(f"SELECT refused: {response.lines!r}")
    smtp = aiosmtplib.SMTP(hostname=args.host, port=args.smtp_port, timeout=TIMEOUT)
    await smtp.connect()
    try:
        position = await sync(client, smtp, args.start_uid)
        announced = False
        while not stop.is_set():
            idle = await client.idle_start(timeout=IDLE_RENEW_SECONDS)
            if not announced:
                # The driver starts appending only after this line.
                print("ready", flush=True)
                announced = True
            await wait_for_news(client, stop)
            if client.has_pending_idle():
                client.idle_done()
            await asyncio.wait_for(asyncio.shield(idle), TIMEOUT)
            if stop.is_set():
                break
            position = await sync(client, smtp, position)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(smtp.quit(), 2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), 2.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="IMAP port")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", type=Path, required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--start-uid", type=int, default=0, help="answer only UIDs above this")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the baseline talks to loopback servers only")
    try:
        password = args.password_file.read_text().strip()
        asyncio.run(run(args, password))
    except (BaselineError, OSError, TimeoutError, aioimaplib.AioImapException) as exc:
        print(f"baseline: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except aiosmtplib.SMTPException as exc:
        print(f"baseline: SMTP: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
