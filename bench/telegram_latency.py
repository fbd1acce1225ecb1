"""Telegram update-to-reply latency: the daemon against the bare HTTP floor and an echo bot."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.ack_latency import percentile, progress
from bench.workdir import work_dir
from responder.testing import SentMessage, TelegramStandIn

REPO = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-token-for-responder-bench"
STAFF_GROUP = -1009876543210

READY_TIMEOUT = 30.0
REPLY_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# The driver polls the stand-in's record; the figures come from the stand-in's own timestamps,
# so the poll interval only delays the next message, never the measured latency.
POLL = 0.001
# After "connected"/"ready" the first long poll may still be on its way to the stand-in.
SETTLE = 0.2
# Messages sent before the measured ones (first ticket, first connection, lazy imports).
WARMUP = 5
POLL_TIMEOUT = 10.0
DAEMON_READY = b"connected as @"
ECHO_READY = b"ready\n"

TARGET_OVER_FLOOR = 0.100  # seconds: daemon p99 minus the bare HTTP floor's p99

TEXT = "Halo kak, pesanan #INV-20240517-0042 belum sampai, sudah 5 hari. Mohon dicek ya."
ECHO_REPLY = "Terima kasih, pesan Anda sudah kami terima."


class BenchError(RuntimeError):
    """Something broke: a process died, a reply never came, the stand-in refused."""


@dataclass
class Figures:
    messages: int = 0
    p50: float = math.nan
    p99: float = math.nan
    max: float = math.nan
    mean: float = math.nan
    # Bare HTTP only: request start to the response read back (the stand-in's `at` is earlier).
    response_p50: float = math.nan
    response_p99: float = math.nan
    # Relay pass only: the copy to the staff group, from the same push.
    relay_p50: float = math.nan
    relay_p99: float = math.nan
    relay_max: float = math.nan
    extra_sends: int = 0
    methods: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    response_latencies: list[float] = field(default_factory=list)
    relay_latencies: list[float] = field(default_factory=list)

    def summarise(self) -> None:
        if self.latencies:
            self.p50 = percentile(self.latencies, 50)
            self.p99 = percentile(self.latencies, 99)
            self.max = max(self.latencies)
            self.mean = sum(self.latencies) / len(self.latencies)
        if self.response_latencies:
            self.response_p50 = percentile(self.response_latencies, 50)
            self.response_p99 = percentile(self.response_latencies, 99)
        if self.relay_latencies:
            self.relay_p50 = percentile(self.relay_latencies, 50)
            self.relay_p99 = percentile(self.relay_latencies, 99)
            self.relay_max = max(self.relay_latencies)


class Child:
    """A subject process: its output goes to a log file, it is always stopped at the end."""

    def __init__(self, name: str, command: list[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                command,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(f"{self.name} exited (status {code}); log tail:\n{self.log_tail()}")

    def wait_for_log(self, marker: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if marker in self.log_path.read_bytes():
                return
            time.sleep(0.02)
        raise BenchError(
            f"{self.name}: no {marker!r} within {timeout:.0f}s; log tail:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; never raises."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                progress(f"[{self.name}] did not stop within {STOP_TIMEOUT:.0f}s: SIGKILL")
                proc.kill()
                proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class SentWatcher:
    """Finds the stand-in's record of the first send to a chat, scanning each record once."""

    def __init__(self, tg: TelegramStandIn) -> None:
        self._tg = tg
        self._scanned = 0
        self._first: dict[int | str, SentMessage] = {}
        self.counts: dict[int | str, int] = {}

    def scan(self) -> None:
        sent = self._tg.sent  # only ever appended to while we look
        for item in sent[self._scanned :]:
            self.counts[item.chat_id] = self.counts.get(item.chat_id, 0) + 1
            self._first.setdefault(item.chat_id, item)
        self._scanned = len(sent)

    def wait(self, chat_id: int, timeout: float, alive: Callable[[], None]) -> SentMessage:
        deadline = time.monotonic() + timeout
        while True:
            self.scan()
            found = self._first.get(chat_id)
            if found is not None:
                return found
            alive()
            if time.monotonic() >= deadline:
                raise BenchError(f"no reply to chat {chat_id} within {timeout:.0f}s")
            time.sleep(POLL)

    def wait_nth(self, chat_id: int, n: int, timeout: float, alive: Callable[[], None]) -> float:
        """The stand-in's time of the n-th send (1-based) to chat_id."""
        deadline = time.monotonic() + timeout
        while True:
            self.scan()
            if self.counts.get(chat_id, 0) >= n:
                return self._tg.send_times(chat_id)[n - 1]
            alive()
            if time.monotonic() >= deadline:
                raise BenchError(f"no send #{n} to chat {chat_id} within {timeout:.0f}s")
            time.sleep(POLL)


def _nothing() -> None:
    return None


def measure_http(messages: int, gap: float) -> Figures:
    """The floor: one keep-alive HTTP connection POSTing sendMessage itself, no bot in between."""
    figures = Figures(messages=messages)
    with TelegramStandIn(token=TOKEN) as tg:
        url = urlsplit(f"{tg.base_url}{TOKEN}/sendMessage")
        client = http.client.HTTPConnection(url.netloc, timeout=REPLY_TIMEOUT)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        watcher = SentWatcher(tg)
        for n in range(-WARMUP, messages):
            chat_id = 300_000 + WARMUP + n
            before = time.monotonic()
            body = urlencode({"chat_id": str(chat_id), "text": ECHO_REPLY})
            client.request("POST", url.path, body, form)
            response = client.getresponse()
            text = response.read()
            answered = time.monotonic()
            if response.status != 200:
                raise BenchError(f"stand-in answered {response.status}: {text!r}")
            sent = watcher.wait(chat_id, REPLY_TIMEOUT, _nothing)
            if n >= 0:
                figures.latencies.append(sent.at - before)
                figures.response_latencies.append(answered - before)
            _pace(gap)
        client.close()
        figures.extra_sends = sum(c - 1 for c in watcher.counts.values())
    figures.summarise()
    progress(f"[http floor] {messages} requests, p99 {figures.p99 * 1000:.1f} ms")
    return figures


def _pace(gap: float) -> None:
    if gap > 0:
        time.sleep(gap)


def measure_bot(
    name: str,
    work: Path,
    messages: int,
    gap: float,
    chat_base: int,
    relay: bool = False,
) -> Figures:
    """A bot process against a fresh stand-in: push an update, wait for the reply, repeat."""
    figures = Figures(messages=messages)
    staff = {900_001: "administrator"} if relay else None
    with TelegramStandIn(token=TOKEN, staff=staff) as tg:
        if relay:
            tg.add_group(STAFF_GROUP, "Staff Toko Contoh")
        api_url = tg.base_url.removesuffix("/bot")
        if name == "echo bot":
            command = [
                sys.executable,
                "-m",
                "bench.telegram_latency",
                "--echo-bot",
                api_url,
                "--token-file",
                str(work / "telegram-token"),
            ]
            marker = ECHO_READY
        else:
            config = write_config(work, name, api_url, relay)
            command = [sys.executable, "-m", "responder.cli", "run", "-c", str(config)]
            marker = DAEMON_READY
        log_path = work / f"{name.replace(' ', '-')}.log"
        child = Child(name, command, log_path)
        try:
            child.wait_for_log(marker, READY_TIMEOUT)
            _wait_for_poll(tg, child)
            time.sleep(SETTLE)
            watcher = SentWatcher(tg)
            relays = 0
            for n in range(-WARMUP, messages):
                chat_id = chat_base + WARMUP + n
                before = time.monotonic()
                tg.push_message(chat_id, TEXT, first_name=f"Pelanggan {chat_id}")
                sent = watcher.wait(chat_id, REPLY_TIMEOUT, child.check_alive)
                if relay:
                    relays += 1
                    at = watcher.wait_nth(STAFF_GROUP, relays, REPLY_TIMEOUT, child.check_alive)
                if n >= 0:
                    figures.latencies.append(sent.at - before)
                    figures.methods[sent.method] = figures.methods.get(sent.method, 0) + 1
                    if relay:
                        figures.relay_latencies.append(at - before)
                    if (n + 1) % 100 == 0:
                        progress(f"[{name}] {n + 1}/{messages}")
                _pace(gap)
            # Anything still on its way (a second reply nobody asked for) shows up as extra.
            time.sleep(0.3)
            watcher.scan()
            figures.extra_sends = sum(
                c - 1 for chat, c in watcher.counts.items() if chat != STAFF_GROUP
            )
            if relay:
                figures.extra_sends += watcher.counts.get(STAFF_GROUP, 0) - relays
            child.check_alive()
        finally:
            child.stop()
    figures.summarise()
    progress(f"[{name}] {messages} updates, p99 {figures.p99 * 1000:.1f} ms")
    return figures


def _wait_for_poll(tg: TelegramStandIn, child: Child) -> None:
    """getMe answered: the bot is up. A parked long poll only shows in `calls` when it ends."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not any(c.method.lower() == "getme" and c.status == 200 for c in list(tg.calls)):
        child.check_alive()
        if time.monotonic() >= deadline:
            raise BenchError(f"{child.name}: no getMe within {READY_TIMEOUT:.0f}s")
        time.sleep(0.02)


def write_config(work: Path, name: str, api_url: str, relay: bool) -> Path:
    """A config like tests/harness.py's write_telegram_config, one fresh state dir per pass."""
    slug = name.replace(" ", "-")
    state = work / f"{slug}-state"
    state.mkdir()
    # The relay pass lifts the staff group's pacing (1 msg/s per chat, 20 a minute per group),
    # or every relay would wait for the previous one's slot: the figure is then the daemon's
    # own work plus the 30 msg/s global spacing between the acknowledgement and the relay.
    staff = (
        f"\n    staff_chat_id: {STAFF_GROUP}"
        "\n    limits: {per_chat_interval: 10ms, group_per_minute: 10000}"
        if relay
        else ""
    )
    path = work / f"{slug}.yaml"
    path.write_text(
        f"""\
timezone: Asia/Jakarta
state_dir: {state}
channels:
  - name: shop-bot
    type: telegram
    token_file: {work / "telegram-token"}
    api_url: {api_url}
    display_name: Toko Contoh
    language: id
    poll_timeout: {POLL_TIMEOUT:g}s
    timeout: 5s{staff}
"""
    )
    return path


# -- the echo bot (a child process: python -m bench.telegram_latency --echo-bot API_URL) ------


async def echo_bot(api_url: str, token: str) -> None:
    """The least a Telegram responder can do: long-poll getUpdates, sendMessage per update,
    through the Bot API client the daemon uses."""
    from responder.channels.telegram.botapi import BotApi

    bot = BotApi(token, f"{api_url}/bot", timeout=5.0, poll_timeout=POLL_TIMEOUT)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    offset: int | None = None
    try:
        async with bot:
            await bot.initialize()  # getMe: the driver waits for it (_wait_for_poll)
            sys.stdout.write(ECHO_READY.decode())
            sys.stdout.flush()
            while True:
                for update in await bot.get_updates(offset, ["message"]):
                    offset = update["update_id"] + 1
                    if "message" in update:
                        await bot.send_message(update["message"]["chat"]["id"], ECHO_REPLY)
    except asyncio.CancelledError:
        return


# -- output ---------------------------------------------------------------------------------


def verdict(daemon: Figures, floor: Figures) -> bool:
    return daemon.p99 - floor.p99 < TARGET_OVER_FLOOR


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.1f}"


def table(daemon: Figures, floor: Figures, echo: Figures, relay: Figures | None) -> str:
    target = f"< floor + {TARGET_OVER_FLOOR * 1000:g} ms"
    rows: list[tuple[str, float, float, float, str, str]] = [
        ("reply p50 (ms)", daemon.p50, floor.p50, echo.p50, "-", "-"),
        (
            "reply p99 (ms)",
            daemon.p99,
            floor.p99,
            echo.p99,
            target,
            "PASS" if verdict(daemon, floor) else "MISS",
        ),
        ("reply max (ms)", daemon.max, floor.max, echo.max, "-", "-"),
        ("reply mean (ms)", daemon.mean, floor.mean, echo.mean, "-", "-"),
        ("  http response p50 (ms)", math.nan, floor.response_p50, math.nan, "-", "-"),
        ("  http response p99 (ms)", math.nan, floor.response_p99, math.nan, "-", "-"),
    ]
    if relay is not None:
        rows += [
            ("relay pass: ack p50 (ms)", relay.p50, floor.p50, echo.p50, "-", "-"),
            ("relay pass: ack p99 (ms)", relay.p99, floor.p99, echo.p99, "-", "-"),
            ("relay pass: relay p50 (ms)", relay.relay_p50, floor.p50, echo.p50, "-", "-"),
            ("relay pass: relay p99 (ms)", relay.relay_p99, floor.p99, echo.p99, "-", "-"),
        ]
    lines = [
        f"{'metric':<28}{'daemon':>9}{'floor':>9}{'echo bot':>10}{'over floor':>12}  "
        f"{'target':<22}result",
        "-" * 98,
    ]
    for label, ours, bare, echoed, goal, result in rows:
        over = ours - bare
        lines.append(
            f"{label:<28}{_ms(ours):>9}{_ms(bare):>9}{_ms(echoed):>10}{_ms(over):>12}  "
            f"{goal:<22}{result}"
        )
    extras = {
        name: f.extra_sends
        for name, f in (("daemon", daemon), ("floor", floor), ("echo bot", echo), ("relay", relay))
        if f is not None and f.extra_sends
    }
    if extras:
        lines.append(f"unexpected extra sends: {extras}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.telegram_latency", description=__doc__)
    parser.add_argument("--messages", type=int, default=300, help="updates sent one by one")
    parser.add_argument(
        "--relay",
        type=int,
        default=50,
        help="updates in a second daemon pass with a staff group (0: skip it)",
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=0.05,
        help="seconds between a reply and the next update (default 0.05, above the 30 msg/s "
        "global spacing, so one reply never waits for the previous one's slot)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    parser.add_argument("--echo-bot", metavar="API_URL", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--token-file", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.echo_bot is not None:
        if args.token_file is None:
            parser.error("--echo-bot needs --token-file")
        asyncio.run(echo_bot(args.echo_bot, args.token_file.read_text().strip()))
        return 0
    if args.messages < 1 or args.relay < 0 or args.gap < 0:
        parser.error("--messages must be positive, --relay and --gap not negative")

    results: dict[str, Figures] = {}
    errors = (BenchError, OSError, http.client.HTTPException, RuntimeError)
    with work_dir("tgbench-", keep=args.keep, errors=errors, logs=True) as work:
        (work.path / "telegram-token").write_text(TOKEN + "\n")
        results["floor"] = measure_http(args.messages, args.gap)
        results["echo"] = measure_bot("echo bot", work.path, args.messages, args.gap, 200_000)
        results["daemon"] = measure_bot("daemon", work.path, args.messages, args.gap, 10_000)
        if args.relay:
            results["relay"] = measure_bot(
                "daemon relay", work.path, args.relay, args.gap, 100_000, relay=True
            )
    if work.failed:
        return 1

    daemon, floor, echo = results["daemon"], results["floor"], results["echo"]
    relay = results.get("relay")
    print(
        f"\nresponder Telegram benchmark: {args.messages} updates one by one "
        f"(+{WARMUP} warm-up, {args.gap * 1000:g} ms apart), each from its own chat\n"
        f"aiohttp {_aiohttp_version()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print(table(daemon, floor, echo, relay))
    if args.json is not None:
        payload: dict[str, Any] = {
            "messages": args.messages,
            "relay_messages": args.relay,
            "gap_seconds": args.gap,
            "warmup": WARMUP,
            "targets": {"p99_over_floor_seconds": TARGET_OVER_FLOOR},
            "verdicts": {"p99_over_floor": verdict(daemon, floor)},
            "p99_over_floor_seconds": daemon.p99 - floor.p99,
            "daemon": asdict(daemon),
            "floor": asdict(floor),
            "echo_bot": asdict(echo),
            "relay": None if relay is None else asdict(relay),
        }
        args.json.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
    return 0


def _aiohttp_version() -> str:
    import aiohttp

    return str(aiohttp.__version__)


if __name__ == "__main__":
    raise SystemExit(main())
