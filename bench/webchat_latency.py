"""Web chat message-to-acknowledgement latency with many open streams, and peak memory: the
daemon against a bare aiohttp server answering the same protocol (issue 17)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.ack_latency import progress
from bench.telegram_latency import BenchError
from bench.webchat_subjects import ADDRESS_PER_MINUTE, SHOP_ORIGIN, STREAMS, start
from bench.whatsapp_latency import quiet_collector
from bench.whatsapp_report import Phase, Round, table, write_figures
from bench.whatsapp_subjects import Subject
from bench.workdir import work_dir

SUBJECTS = ("baseline", "daemon")
TARGET_P99_OVER = 0.100  # seconds: daemon p99 minus the baseline's p99 (issue 17)
TARGET_RSS_MB = 120.0  # with 500 open streams (issue 17)
WARMUP = 5  # first connection, first ticket, lazy imports: sent one by one, not counted
ACK_TIMEOUT = 30.0
OPEN_TIMEOUT = 60.0
SETUP_CONCURRENCY = 32  # sessions and streams opened this many at a time
SEND_CONNECTIONS = 64  # kept-alive connections for the message POSTs, beside the streams
TEXT = "Halo kak, pesanan #INV-20240517-0042 belum sampai, sudah 5 hari. Mohon dicek ya."
HEADERS = {"Origin": SHOP_ORIGIN}  # the shop's page calling the API (an allowed origin)


@dataclass
class Visitor:
    """One browser tab: its token, its open stream, when its acknowledgement arrived."""

    token: str = ""
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    ack_at: float = 0.0
    acks: int = 0  # acknowledgements seen: one per first message, never more
    reader: asyncio.Task[None] | None = None


async def new_session(session: aiohttp.ClientSession, base: str, name: str) -> str:
    """POST session; a 503 ("starting": the channel opens just after the endpoint listens)
    is tried again."""
    deadline = time.monotonic() + ACK_TIMEOUT
    while True:
        body = {"token": None, "language": "id"}
        async with session.post(f"{base}/session", json=body, headers=HEADERS) as response:
            if response.status == 200:
                return str((await response.json())["token"])
            status = response.status
        if status != 503 or time.monotonic() >= deadline:
            raise BenchError(f"{name}: POST session answered {status}")
        await asyncio.sleep(0.1)


async def read_stream(response: aiohttp.ClientResponse, visitor: Visitor) -> None:
    """The text/event-stream format (HTML Living Standard, "Server-sent events"), as
    responder.testing.webchat reads it, keeping only the time each acknowledgement came."""
    data = ""
    try:
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith(":"):
                visitor.opened.set()
            elif line.startswith("data:"):
                data = line[5:].removeprefix(" ")
            elif not line and data:
                if json.loads(data).get("kind") == "acknowledgement":
                    now = time.monotonic()
                    visitor.acks += 1
                    if not visitor.acked.is_set():
                        visitor.ack_at = now
                        visitor.acked.set()
                data = ""
    except (aiohttp.ClientError, asyncio.CancelledError):
        pass
    finally:
        response.close()


async def open_visitor(
    session: aiohttp.ClientSession, subject: Subject, gate: asyncio.Semaphore
) -> Visitor:
    """A session, then its stream, read in the background until the bench ends."""
    visitor = Visitor()
    async with gate:
        visitor.token = await new_session(session, subject.url, subject.name)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        response = await session.get(
            f"{subject.url}/events",
            params={"token": visitor.token},
            headers={**HEADERS, "Accept": "text/event-stream"},
            timeout=timeout,
        )
        if response.status != 200:
            response.close()
            raise BenchError(f"{subject.name}: GET events answered {response.status}")
        visitor.reader = asyncio.create_task(read_stream(response, visitor))
        try:
            await asyncio.wait_for(visitor.opened.wait(), OPEN_TIMEOUT)
        except TimeoutError:
            raise BenchError(f"{subject.name}: a stream opened without a first line") from None
    return visitor


async def post(session: aiohttp.ClientSession, base: str, visitor: Visitor) -> tuple[int, float]:
    headers = {**HEADERS, "Authorization": f"Bearer {visitor.token}"}
    body = {"text": TEXT, "client_id": str(uuid.uuid4()), "language": "id"}
    async with session.post(f"{base}/messages", json=body, headers=headers) as response:
        await response.read()
        return response.status, time.monotonic()


async def wait_acks(visitors: Sequence[Visitor], subject: Subject) -> None:
    pending = [asyncio.ensure_future(v.acked.wait()) for v in visitors]
    _, late = await asyncio.wait(pending, timeout=ACK_TIMEOUT)
    for task in late:
        task.cancel()
    subject.child.check_alive()
    if late:
        raise BenchError(f"{subject.name}: {len(late)} messages without an acknowledgement")


async def send_phase(
    session: aiohttp.ClientSession, subject: Subject, writers: list[Visitor], rate: float
) -> Phase:
    """One message from each writer, `rate` a second; latency = the acknowledgement's
    arrival on the writer's stream - just before the POST."""
    starts: dict[int, float] = {}
    answered: dict[int, float] = {}
    refused: list[int] = []
    gate = asyncio.Semaphore(SEND_CONNECTIONS)

    async def one(n: int, visitor: Visitor) -> None:
        async with gate:
            starts[n] = time.monotonic()
            status, done = await post(session, subject.url, visitor)
        answered[n] = done - starts[n]
        if status != 202:
            refused.append(status)

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tasks = []
    for n, visitor in enumerate(writers):
        await asyncio.sleep(max(0.0, t0 + n / rate - loop.time()))
        tasks.append(asyncio.create_task(one(n, visitor)))
    await asyncio.gather(*tasks)
    if refused:
        raise BenchError(f"{subject.name}: {len(refused)} messages refused: {refused[:5]}")
    await wait_acks(writers, subject)
    await asyncio.sleep(0.3)  # a second acknowledgement nobody asked for shows up as extra
    phase = Phase()
    phase.extra_sends = sum(v.acks for v in writers) - len(writers)
    phase.latencies = [v.ack_at - starts[n] for n, v in enumerate(writers)]
    phase.answered = [answered[n] for n in range(len(writers))]
    phase.summarise(min(starts.values()), max(v.ack_at for v in writers))
    return phase


async def drive(subject: Subject, args: argparse.Namespace) -> tuple[Phase, float]:
    """Phase, and the VmRSS with every stream open before the first message."""
    connector = aiohttp.TCPConnector(limit=args.visitors + WARMUP + SEND_CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=ACK_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)
        everyone = await asyncio.gather(
            *(open_visitor(session, subject, gate) for _ in range(args.visitors + WARMUP))
        )
        try:
            warm, visitors = everyone[:WARMUP], everyone[WARMUP:]
            for visitor in warm:
                status, _ = await post(session, subject.url, visitor)
                if status != 202:
                    raise BenchError(f"{subject.name}: warm-up message answered {status}")
                await wait_acks([visitor], subject)
            progress(f"[{subject.name}] {len(everyone)} streams open")
            await asyncio.sleep(0.2)
            streams_rss = subject.memory_mb("VmRSS")
            # Random visitors, each once: a visitor's second message continues their open
            # ticket (core/decide.py: FollowUp), which is not acknowledged again.
            writers = random.Random(args.seed).sample(visitors, args.messages)
            with quiet_collector():
                steady = await send_phase(session, subject, writers, args.rate)
            progress(
                f"[{subject.name}] {args.messages} at {args.rate:g}/s: "
                f"p99 {steady.p99 * 1e3:.1f} ms"
            )
        finally:
            for visitor in everyone:
                if visitor.reader is not None:
                    visitor.reader.cancel()
            await asyncio.gather(
                *(v.reader for v in everyone if v.reader is not None), return_exceptions=True
            )
    return steady, streams_rss


@dataclass
class WebChatRound(Round):
    streams_rss_mb: float = 0.0  # VmRSS with every stream open, before the first message


def measure(name: str, work: Path, tag: str, args: argparse.Namespace) -> WebChatRound:
    """A fresh process (and state) per subject and round."""
    subject = start(name, work, f"-r{tag}")
    try:
        ready = subject.memory_mb("VmRSS")
        steady, streams = asyncio.run(drive(subject, args))
        rss = subject.memory_mb()
        subject.child.check_alive()
    finally:
        subject.child.stop()
    return WebChatRound(steady, None, rss, ready, streams)


def raise_file_limit(visitors: int) -> None:
    """Each stream is a socket at both ends; children inherit the raised soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * (visitors + WARMUP + SEND_CONNECTIONS) + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            raise BenchError(f"{visitors} visitors need {wanted} open files; the limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def run(args: argparse.Namespace) -> dict[str, list[Round]] | None:
    results: dict[str, list[Round]] = {name: [] for name in SUBJECTS}
    errors = (BenchError, OSError, aiohttp.ClientError, RuntimeError, TimeoutError)
    with work_dir("wcbench-", keep=args.keep, errors=errors, logs=True) as work:
        raise_file_limit(args.visitors)
        # In turn, so a machine that slows down for a while slows both alike.
        for n in range(args.rounds):
            for i, name in enumerate(SUBJECTS):
                results[name].append(measure(name, work.path, f"{n % 100:02d}{i}", args))
    return None if work.failed else results


def streams_row(results: dict[str, list[Round]]) -> str:
    def mb(name: str) -> float:
        return max(getattr(r, "streams_rss_mb", 0.0) for r in results[name])

    d, b = mb("daemon"), mb("baseline")
    return f"{'  RSS, streams open (MB)':<32}{d:>9.1f}{b:>10.1f}{d - b:>9.1f}  {'-':<26}-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webchat_latency", description=__doc__)
    parser.add_argument("--visitors", type=int, default=500, help="each with an open stream")
    parser.add_argument(
        "--messages", type=int, default=500, help="from random visitors, each once (500)"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="messages a second (50)")
    parser.add_argument("--rounds", type=int, default=1, help="baseline and daemon in turn")
    parser.add_argument("--seed", type=int, default=17, help="which visitors write")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args(argv)
    if args.visitors < 1 or args.messages < 1 or args.rate <= 0 or args.rounds < 1:
        parser.error("--visitors, --messages, --rate, --rounds must be positive")
    if args.messages > args.visitors:
        parser.error("--messages at most --visitors: each visitor writes once")
    if args.visitors + WARMUP > STREAMS:
        parser.error(f"--visitors at most {STREAMS - WARMUP}: the bench config's stream limit")
    results = run(args)
    if results is None:
        return 1
    text, verdicts = table(
        results,
        full=True,
        p99_over=TARGET_P99_OVER,
        rss_mb=TARGET_RSS_MB,
        reply="ack",
        answered="202 answered",
        per_second="acks/s",
        extra="acknowledgements",
    )
    rounds = f", medians of {args.rounds} rounds" if args.rounds > 1 else ""
    print(
        f"\nresponder web chat benchmark: {args.visitors} visitors each holding an event "
        f"stream, {args.messages} messages at {args.rate:g}/s from random ones (each once)"
        f"{rounds}\n"
        f"limits raised in the bench config: address_per_minute {ADDRESS_PER_MINUTE}, "
        f"streams {STREAMS} (all on 127.0.0.1)\n"
        f"aiohttp {aiohttp.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print(text + "\n" + streams_row(results))
    if args.json is not None:
        settings: dict[str, Any] = {
            "visitors": args.visitors,
            "messages": args.messages,
            "rate": args.rate,
            "rounds": args.rounds,
            "seed": args.seed,
            "warmup": WARMUP,
        }
        targets = (TARGET_P99_OVER, TARGET_RSS_MB)
        write_figures(args.json, settings, targets, verdicts, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
