"""WhatsApp webhook-to-reply latency and peak memory: the daemon against a bare aiohttp echo."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bench.ack_latency import progress
from bench.telegram_latency import BenchError
from bench.whatsapp_report import (
    TARGET_P99_OVER,
    TARGET_RSS_MB,
    Phase,
    Round,
    table,
    write_figures,
)
from bench.whatsapp_subjects import (
    APP_SECRET,
    MAIL_PASSWORD,
    MAIL_USER,
    NUMBER_ID,
    TG_TOKEN,
    WA_TOKEN,
    Others,
    Subject,
    start,
    write_secrets,
)
from bench.workdir import work_dir
from responder.testing import (
    Dovecot,
    DovecotError,
    GraphStandIn,
    RecordingSMTPServer,
    TelegramStandIn,
    Webhooks,
    sign,
)
from responder.testing.whatsapp_webhooks import encode

SUBJECTS = ("baseline", "daemon")
WARMUP = 5  # first connection, first ticket, lazy imports: sent one by one, not counted
REPLY_TIMEOUT = 30.0
POLL = 0.005  # the figures come from the stand-in's own timestamps, not from this poll
TEXT = "Halo kak, pesanan #INV-20240517-0042 belum sampai, sudah 5 hari. Mohon dicek ya."
HOOKS = Webhooks(phone_number_id=NUMBER_ID)


def customers(prefix: str, count: int) -> list[str]:
    """Distinct wa_ids (Indonesian mobile numbers), so no per-customer limit ever applies."""
    return [f"62{prefix}{n:07d}" for n in range(count)]


def signed(customer: str) -> tuple[str, bytes, str]:
    raw = encode(HOOKS.text(customer, TEXT, name=f"Pelanggan {customer[-4:]}"))
    return customer, raw, sign(raw, APP_SECRET)


async def post(
    session: aiohttp.ClientSession, url: str, raw: bytes, signature: str
) -> tuple[int, float]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "facebookexternalua",
        "X-Hub-Signature-256": signature,
    }
    async with session.post(url, data=raw, headers=headers) as response:
        await response.read()
        return response.status, time.monotonic()


async def wait_replies(graph: GraphStandIn, wanted: set[str], subject: Subject) -> dict[str, float]:
    """The stand-in's time of the first send to each wanted customer."""
    found: dict[str, float] = {}
    deadline = time.monotonic() + REPLY_TIMEOUT
    while True:
        for item in list(graph.sent):
            if item.to in wanted:
                found.setdefault(item.to, item.at)
        if len(found) == len(wanted):
            return found
        subject.child.check_alive()
        if time.monotonic() >= deadline:
            missing = sorted(wanted - set(found))
            raise BenchError(f"{subject.name}: {len(missing)} without a reply, e.g. {missing[:3]}")
        await asyncio.sleep(POLL)


async def warm_up(session: aiohttp.ClientSession, graph: GraphStandIn, subject: Subject) -> None:
    """One by one; a 503 ("starting") is tried again as Meta would."""
    for customer in customers("899" + subject.name[0], WARMUP):
        _, raw, signature = signed(customer)
        deadline = time.monotonic() + REPLY_TIMEOUT
        while (await post(session, subject.url, raw, signature))[0] != 200:
            if time.monotonic() >= deadline:
                raise BenchError(f"{subject.name}: webhook not accepted within {REPLY_TIMEOUT}s")
            await asyncio.sleep(0.1)
        await wait_replies(graph, {customer}, subject)


async def send_phase(
    session: aiohttp.ClientSession,
    graph: GraphStandIn,
    subject: Subject,
    numbers: list[str],
    rate: float | None,
    concurrency: int,
) -> Phase:
    """POST one webhook per customer, `rate` a second (None: all at once over `concurrency`
    connections); latency = the stand-in's `at` of the reply - just before the POST."""
    bodies = [signed(c) for c in numbers]  # built and signed before the clock runs
    starts: dict[str, float] = {}
    answered: dict[str, float] = {}
    refused: list[int] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(customer: str, raw: bytes, signature: str) -> None:
        async with gate:
            starts[customer] = time.monotonic()
            status, done = await post(session, subject.url, raw, signature)
        answered[customer] = done - starts[customer]
        if status != 200:
            refused.append(status)

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tasks = []
    for n, body in enumerate(bodies):
        if rate is not None:
            await asyncio.sleep(max(0.0, t0 + n / rate - loop.time()))
        tasks.append(asyncio.create_task(one(*body)))
    await asyncio.gather(*tasks)
    if refused:
        raise BenchError(f"{subject.name}: {len(refused)} webhooks refused: {refused[:5]}")
    replies = await wait_replies(graph, set(numbers), subject)
    await asyncio.sleep(0.3)  # a second reply nobody asked for shows up as extra
    phase = Phase()
    phase.extra_sends = sum(1 for s in graph.sent if s.to in starts) - len(numbers)
    phase.latencies = [replies[c] - starts[c] for c in numbers]
    phase.answered = [answered[c] for c in numbers]
    phase.summarise(min(starts.values()), max(replies.values()))
    return phase


@contextmanager
def quiet_collector() -> Iterator[None]:
    """The bench's own garbage collector off while measuring: the stand-in's thread, which
    takes the replies' times, lives in this process, and a full collection here stalled it
    for 25-45 ms somewhere in either subject's run (seen with gc.callbacks)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def drive(
    graph: GraphStandIn, subject: Subject, tag: str, args: argparse.Namespace
) -> tuple[Phase, Phase | None]:
    connector = aiohttp.TCPConnector(limit=max(args.concurrency, 64))
    timeout = aiohttp.ClientTimeout(total=REPLY_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await warm_up(session, graph, subject)
        await asyncio.sleep(0.2)
        with quiet_collector():
            steady = await send_phase(
                session, graph, subject, customers(f"81{tag}1", args.messages), args.rate, 64
            )
        progress(
            f"[{subject.name}] {args.messages} at {args.rate:g}/s: p99 {steady.p99 * 1e3:.1f} ms"
        )
        burst = None
        if args.burst:
            await asyncio.sleep(0.5)
            numbers = customers(f"81{tag}2", args.burst)
            with quiet_collector():
                burst = await send_phase(session, graph, subject, numbers, None, args.concurrency)
            progress(f"[{subject.name}] burst {args.burst}: p99 {burst.p99 * 1e3:.1f} ms")
    return steady, burst


def measure(
    name: str, work: Path, tag: str, others: Others | None, args: argparse.Namespace
) -> Round:
    """A fresh Graph stand-in and a fresh process (and state) per subject and round."""
    with GraphStandIn(token=WA_TOKEN, phone_number_id=NUMBER_ID) as graph:
        subject = start(name, work, f"-r{tag}", graph.base_url, others)
        try:
            # Ready, before any webhook: what start-up and the configured channels cost.
            ready = subject.memory_mb("VmRSS")
            steady, burst = asyncio.run(drive(graph, subject, tag, args))
            rss = subject.memory_mb()
            subject.child.check_alive()
        finally:
            subject.child.stop()
    return Round(steady, burst, rss, ready)


def run(args: argparse.Namespace) -> dict[str, list[Round]] | None:
    results: dict[str, list[Round]] = {name: [] for name in SUBJECTS}
    errors = (BenchError, DovecotError, OSError, aiohttp.ClientError, RuntimeError, TimeoutError)
    with work_dir("wabench-", keep=args.keep, errors=errors, logs=True) as work:
        write_secrets(work.path)
        dovecot = (
            None
            if args.whatsapp_only
            else Dovecot(work.path / "dovecot", {MAIL_USER: MAIL_PASSWORD})
        )
        smtp = None if args.whatsapp_only else RecordingSMTPServer()
        telegram = None if args.whatsapp_only else TelegramStandIn(token=TG_TOKEN)
        try:
            others = None
            if dovecot is not None and smtp is not None and telegram is not None:
                dovecot.start()
                smtp.start()
                telegram.start()
                api = telegram.base_url.removesuffix("/bot")
                others = Others(dovecot.port, smtp.port, api)
            # In turn, so a machine that slows down for a while slows both alike.
            for n in range(args.rounds):
                for i, name in enumerate(SUBJECTS):
                    results[name].append(
                        measure(name, work.path, f"{n % 100:02d}{i}", others, args)
                    )
        finally:
            for server in (telegram, smtp, dovecot):
                if server is not None:
                    server.stop()
    return None if work.failed else results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whatsapp_latency", description=__doc__)
    parser.add_argument("--messages", type=int, default=1000, help="webhooks at a steady rate")
    parser.add_argument("--rate", type=float, default=50.0, help="webhooks a second (50)")
    parser.add_argument("--burst", type=int, default=0, help="then this many at once (0: none)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections in the burst")
    parser.add_argument("--rounds", type=int, default=1, help="baseline and daemon in turn")
    parser.add_argument(
        "--whatsapp-only", action="store_true", help="no email and Telegram beside it (no Dovecot)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args(argv)
    if (
        args.messages < 1
        or args.rate <= 0
        or args.burst < 0
        or args.rounds < 1
        or args.concurrency < 1
    ):
        parser.error(
            "--messages, --rate, --rounds, --concurrency must be positive, --burst not negative"
        )
    results = run(args)
    if results is None:
        return 1
    text, verdicts = table(results, full=not args.whatsapp_only)
    beside = "WhatsApp only" if args.whatsapp_only else "email and Telegram configured, idle"
    rounds = f", medians of {args.rounds} rounds" if args.rounds > 1 else ""
    burst = f", then {args.burst} at once over {args.concurrency} connections" if args.burst else ""
    print(
        f"\nresponder WhatsApp benchmark: {args.messages} signed webhooks at {args.rate:g}/s"
        f"{burst}, each from its own customer ({beside}){rounds}\n"
        f"aiohttp {aiohttp.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print(text)
    if args.json is not None:
        settings: dict[str, Any] = {
            "messages": args.messages,
            "rate": args.rate,
            "burst": args.burst,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
            "whatsapp_only": args.whatsapp_only,
            "warmup": WARMUP,
        }
        targets = (TARGET_P99_OVER, TARGET_RSS_MB)
        write_figures(args.json, settings, targets, verdicts, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
