"""Burst throughput with several instances (issue 19): N signed WhatsApp webhooks posted at
once to (a) one instance on SQLite, (b) one on PostgreSQL, (c) two on PostgreSQL, the
requests spread round-robin over their ports as a load balancer would; each against (a)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from bench.ack_latency import progress
from bench.databases import Database, Databases, databases, postgresql_available
from bench.telegram_latency import BenchError, Child
from bench.whatsapp_latency import customers, post, quiet_collector, signed, warm_up
from bench.whatsapp_report import Phase, median_phase
from bench.whatsapp_subjects import (
    GRAPH_READY,
    HTTP_READY,
    NUMBER_ID,
    READY_TIMEOUT,
    WA_TOKEN,
    Subject,
    daemon_config,
    write_secrets,
)
from bench.workdir import work_dir
from responder.testing import GraphStandIn, free_port

SETUPS = {"a": ("sqlite", 1), "b": ("postgresql", 1), "c": ("postgresql", 2), "d": ("sqlite", 2)}
REPLY_TIMEOUT = 180.0
POLL = 0.005


def start(work: Path, db: Database, count: int, graph_api: str, tag: str) -> list[Subject]:
    """`count` daemons on `db`, WhatsApp only, each on its own port: the first alone until
    the schema is made (instances starting together on a fresh SQLite file race to make it;
    bench/cluster.py)."""
    subjects: list[Subject] = []
    try:
        for k in range(count):
            port = free_port()
            slug = f"{'abcdefghij'[k]}{tag}"  # warm_up's customers differ by the first letter
            config = daemon_config(work, slug, graph_api, port, None)
            first, rest = config.read_text().split("\n", 1)
            config.write_text(f"{first}\n{db.config_lines}{rest}")
            command = [sys.executable, "-m", "responder.cli", "run", "-c", str(config)]
            child = Child(slug, command, work / f"{slug}.log")
            url = f"http://127.0.0.1:{port}/webhooks/whatsapp/shop-wa"
            subjects.append(Subject(slug, child, url))
            deadline = time.monotonic() + READY_TIMEOUT
            for marker in (HTTP_READY, GRAPH_READY):
                child.wait_for_log(marker, max(0.1, deadline - time.monotonic()))
    except BaseException:
        for subject in subjects:
            subject.child.stop()
        raise
    return subjects


async def burst(
    session: aiohttp.ClientSession,
    graph: GraphStandIn,
    subjects: list[Subject],
    numbers: list[str],
    concurrency: int,
) -> Phase:
    """All at once over `concurrency` connections, the n-th webhook to the n-th subject in
    turn; latency = the stand-in's time of the reply - just before the POST."""
    bodies = [signed(c) for c in numbers]  # built and signed before the clock runs
    starts: dict[str, float] = {}
    answered: dict[str, float] = {}
    refused: list[int] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str, customer: str, raw: bytes, signature: str) -> None:
        async with gate:
            starts[customer] = time.monotonic()
            status, done = await post(session, url, raw, signature)
        answered[customer] = done - starts[customer]
        if status != 200:
            refused.append(status)

    urls = [s.url for s in subjects]
    await asyncio.gather(*(one(urls[n % len(urls)], *b) for n, b in enumerate(bodies)))
    if refused:
        raise BenchError(f"{len(refused)} webhooks refused: {refused[:5]}")
    wanted, replies = set(numbers), dict[str, float]()
    deadline = time.monotonic() + REPLY_TIMEOUT
    while len(replies) < len(wanted):
        for item in list(graph.sent):
            if item.to in wanted:
                replies.setdefault(item.to, item.at)
        for subject in subjects:
            subject.child.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{len(wanted) - len(replies)} without a reply")
        await asyncio.sleep(POLL)
    await asyncio.sleep(0.3)  # a second reply nobody asked for shows up as extra
    phase = Phase()
    phase.extra_sends = sum(1 for s in graph.sent if s.to in wanted) - len(numbers)
    phase.latencies = [replies[c] - starts[c] for c in numbers]
    phase.answered = [answered[c] for c in numbers]
    phase.summarise(min(starts.values()), max(replies.values()))
    return phase


async def drive(graph: GraphStandIn, subjects: list[Subject], tag: str, args: Any) -> Phase:
    connector = aiohttp.TCPConnector(limit=max(args.concurrency, 64))
    timeout = aiohttp.ClientTimeout(total=REPLY_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for subject in subjects:
            await warm_up(session, graph, subject)
        await asyncio.sleep(0.5)
        with quiet_collector():
            numbers = customers(f"81{tag}", args.burst)
            return await burst(session, graph, subjects, numbers, args.concurrency)


def label(setup: str) -> str:
    kind, count = SETUPS[setup]
    return f"({setup}) {count} x {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}"


def measure(work: Path, dbs: Databases, setup: str, tag: str, args: Any) -> Phase:
    """A fresh database, Graph stand-in and processes per setup and round."""
    kind, count = SETUPS[setup]
    db = dbs.fresh(kind)
    with GraphStandIn(token=WA_TOKEN, phone_number_id=NUMBER_ID) as graph:
        subjects = start(work, db, count, graph.base_url, tag)
        try:
            phase = asyncio.run(drive(graph, subjects, tag, args))
        finally:
            for subject in subjects:
                subject.child.stop()
    progress(f"[{label(setup)}] {phase.rate:.0f}/s, p99 {phase.p99 * 1e3:.0f} ms")
    return phase


def run(args: argparse.Namespace) -> tuple[dict[str, list[Phase]], str] | None:
    results: dict[str, list[Phase]] = {setup: [] for setup in args.setups}
    errors = (BenchError, OSError, aiohttp.ClientError, RuntimeError, TimeoutError)
    with work_dir("instances-", keep=args.keep, errors=errors, logs=True) as work:
        write_secrets(work.path)
        with databases(work.path) as dbs:
            # In turn, so a machine that slows down for a while slows every setup alike.
            for n in range(args.rounds):
                for j, setup in enumerate(args.setups):
                    results[setup].append(measure(work.path, dbs, setup, f"{n % 100:02d}{j}", args))
            versions = dbs.versions()
    return None if work.failed else (results, versions)


def table(results: dict[str, list[Phase]]) -> str:
    """Each setup's medians, and each as a ratio of the first setup's ((a) by default) in the
    same run."""
    phases = {s: median_phase(p) for s, p in results.items()}
    base = phases[next(iter(phases))]
    assert base is not None
    lines = [f"{'metric':<40}{'value':>9}{'vs first':>9}", "-" * 58]
    for setup, phase in phases.items():
        assert phase is not None
        rows = (
            ("replies/s", phase.rate, base.rate, 1.0),
            ("reply p50 (ms)", phase.p50, base.p50, 1e3),
            ("reply p99 (ms)", phase.p99, base.p99, 1e3),
            ("200 answered p99 (ms)", phase.answered_p99, base.answered_p99, 1e3),
        )
        for name, value, first, scale in rows:
            metric = f"{label(setup)}: {name}"
            lines.append(f"{metric:<40}{value * scale:>9.1f}{value / first:>8.2f}x")
        rates = ", ".join(f"{p.rate:.0f}" for p in results[setup])
        if len(results[setup]) > 1:
            lines.append(f"  rounds' replies/s: {rates}")
    extras = {s: p.extra_sends for s, p in phases.items() if p is not None and p.extra_sends}
    if extras:
        lines.append(f"unexpected extra sends: {extras}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instances", description=__doc__)
    default = "abc" if postgresql_available() else "ad"
    parser.add_argument("--burst", type=int, default=2000, help="webhooks at once (2000)")
    parser.add_argument("--concurrency", type=int, default=32, help="connections (32)")
    parser.add_argument("--rounds", type=int, default=1, help="every setup in turn (1)")
    parser.add_argument(
        "--setups",
        default=default,
        help=f"among a b c d (d: 2 x SQLite), the first the base ({default})",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args(argv)
    if args.burst < 1 or args.rounds < 1 or args.concurrency < 1:
        parser.error("--burst, --rounds and --concurrency must be positive")
    if not args.setups or any(s not in SETUPS for s in args.setups):
        parser.error("--setups: letters among a b c d")
    if "postgresql" in {SETUPS[s][0] for s in args.setups} and not postgresql_available():
        parser.error("(b) and (c) need psycopg and Debian's postgresql (scripts/dev test)")
    done = run(args)
    if done is None:
        return 1
    results, versions = done
    rounds = f", medians of {args.rounds} rounds" if args.rounds > 1 else ""
    print(
        f"\nresponder instances benchmark: {args.burst} signed WhatsApp webhooks at once over"
        f" {args.concurrency} connections, round-robin over the instances{rounds}\n"
        f"{versions}, aiohttp {aiohttp.__version__}, Python {platform.python_version()},"
        f" {os.cpu_count()} CPUs\n"
    )
    print(table(results))
    if args.json is not None:
        payload = {
            "burst": args.burst,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
            "setups": {s: label(s) for s in args.setups},
            "results": {s: [asdict(p) for p in ps] for s, ps in results.items()},
        }
        args.json.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
