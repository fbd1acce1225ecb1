"""Acknowledgement latency, backlog throughput and peak memory: the daemon against a baseline."""

from __future__ import annotations

import argparse
import imaplib
import json
import math
import os
import platform
import re
import select
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from bench.burst import BurstError, deliver
from bench.workdir import work_dir
from responder.testing import Dovecot, DovecotError, Received, RecordingSMTPServer
from responder.testing.dovecot_process import find_dovecot

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench-secret"
SUPPORT = "support@toko-contoh.id"
# One Dovecot user per subject, so neither sees the other's mail.
USERS = {"baseline": "baseline@bench.test", "daemon": "daemon@bench.test"}

READY_TIMEOUT = 30.0
REPLY_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
# The daemon logs "watching" just before it sends IDLE; give the IDLE round trip time to land.
IDLE_SETTLE = 0.3
# The driver polls the recorder: the figures come from the server's own timestamps, so the
# poll interval only delays the next append, never the measured latency.
POLL = 0.002
DAEMON_READY = b"watching INBOX with IDLE"

TARGET_P99_SECONDS = 1.0
TARGET_P99_RATIO = 1.5
TARGET_BACKLOG_RATIO = 0.7
TARGET_RSS_MB = 80.0

BODY = (
    "Halo, selamat siang.\n\n"
    "Saya sudah transfer untuk pesanan #INV-20240517-0042 kemarin sore, "
    "tapi statusnya masih 'menunggu pembayaran'. Mohon dicek ya.\n\n"
    "Terima kasih,\nBudi\n"
)


class BenchError(RuntimeError):
    """Something broke: a process died, a reply never came, a server refused."""


def make_mail(sender: str, n: int) -> bytes:
    """A customer's email like tests/mailfactory.py makes, from a sender nobody else uses."""
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <{sender}>"
    msg["To"] = SUPPORT
    msg["Subject"] = f"Pesanan #{n} belum sampai"
    msg["Date"] = formatdate(localtime=True)
    # An explicit domain keeps make_msgid from a slow reverse-DNS lookup of this host.
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(BODY)
    return msg.as_bytes(policy=SMTP)


class Appender:
    """One persistent IMAP session, so login cost stays out of the measurement."""

    def __init__(self, host: str, port: int, user: str, password: str) -> None:
        self._conn = imaplib.IMAP4(host, port, timeout=REPLY_TIMEOUT)
        self._conn.login(user, password)
        self.last_uid = 0

    def append(self, raw: bytes) -> int:
        typ, data = self._conn.append("INBOX", None, None, raw)
        text = b" ".join(d for d in data if isinstance(d, bytes))
        match = re.search(rb"APPENDUID \d+ (\d+)", text)
        if typ != "OK" or match is None:
            raise BenchError(f"APPEND failed: {typ} {data!r}")
        self.last_uid = int(match.group(1))
        return self.last_uid

    def uid_next(self) -> int:
        """The UID the next message in INBOX will get (after a burst this session did not
        append): the baseline answers only what is above it."""
        typ, data = self._conn.status("INBOX", "(UIDNEXT)")
        match = re.search(rb"UIDNEXT (\d+)", b" ".join(d for d in data if isinstance(d, bytes)))
        if typ != "OK" or match is None:
            raise BenchError(f"STATUS failed: {typ} {data!r}")
        return int(match.group(1))

    def close(self) -> None:
        try:
            self._conn.logout()
        except (OSError, imaplib.IMAP4.error):
            self._conn.shutdown()


class Subject:
    """A process under measurement: started, stopped and watched by the driver."""

    name = "subject"

    def __init__(self, work: Path) -> None:
        self.log_path = work / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self, start_uid: int) -> list[str]:
        raise NotImplementedError

    def start(self, start_uid: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            raise BenchError(f"{self.name} is already running")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(start_uid),
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=self._stdout(log),
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def _stdout(self, log: Any) -> Any:
        return log

    def wait_ready(self, timeout: float) -> None:
        raise NotImplementedError

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(f"{self.name} exited (status {code}); log tail:\n{self.log_tail()}")

    def peak_rss_mb(self) -> float:
        """VmHWM: the most resident memory the process ever had."""
        self.check_alive()
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if match is None:
            raise BenchError(f"no VmHWM in /proc/{self.proc.pid}/status")
        return int(match.group(1)) / 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far (proc(5), fields 14 and 15)."""
        self.check_alive()
        assert self.proc is not None
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM and wait: a clean stop is part of what is checked."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait()
            raise BenchError(f"{self.name} did not stop within {STOP_TIMEOUT:.0f}s") from exc
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
        if code != 0:
            raise BenchError(f"{self.name} stopped with status {code}; log:\n{self.log_tail()}")

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class DaemonSubject(Subject):
    """`responder run -c CONFIG` with a config written as tests/harness.py writes one, reading
    one Dovecot user of its own; `configure` adds IMAP settings (bench/big_mail_memory.py)."""

    name = "daemon"

    def __init__(
        self,
        work: Path,
        dovecot: Dovecot,
        smtp: RecordingSMTPServer,
        *,
        name: str = "daemon",
        user: str = USERS["daemon"],
    ) -> None:
        self.name = name
        super().__init__(work)
        state = work / f"{name}-state"
        state.mkdir()
        self.config_path = work / f"{name}.yaml"
        self._text = f"""\
timezone: Asia/Jakarta
state_dir: {state}
channels:
  - name: support-mail
    type: email
    address: {SUPPORT}
    display_name: Toko Contoh
    language: id
    imap: {{host: 127.0.0.1, port: {dovecot.port}, security: none, username: {user},
           password_file: {work / "imap-password"}, folder: INBOX@EXTRA@}}
    smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}
"""
        self.configure("")
        self._log_offset = 0

    def configure(self, imap_extra: str) -> None:
        self.config_path.write_text(self._text.replace("@EXTRA@", imap_extra))

    def command(self, start_uid: int) -> list[str]:
        # The daemon keeps its own cursor: start_uid is the baseline's stand-in for it.
        profile = os.environ.get("BENCH_PROFILE")
        wrap = ["-m", "cProfile", "-o", profile] if profile else []
        return [sys.executable, *wrap, "-m", "responder.cli", "run", "-c", str(self.config_path)]

    def start(self, start_uid: int = 0) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().start(start_uid)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                if DAEMON_READY in log.read():
                    time.sleep(IDLE_SETTLE)
                    return
            time.sleep(0.05)
        raise BenchError(f"{self.name} not watching within {timeout:.0f}s:\n{self.log_tail()}")


class BaselineSubject(Subject):
    """`python -m bench.baseline`, which prints "ready" once its IDLE is active."""

    name = "baseline"

    def __init__(self, work: Path, dovecot: Dovecot, smtp: RecordingSMTPServer) -> None:
        super().__init__(work)
        self._args = [
            "--host",
            "127.0.0.1",
            "--port",
            str(dovecot.port),
            "--user",
            USERS["baseline"],
            "--password-file",
            str(work / "imap-password"),
            "--smtp-port",
            str(smtp.port),
        ]

    def command(self, start_uid: int) -> list[str]:
        return [sys.executable, "-m", "bench.baseline", *self._args, "--start-uid", str(start_uid)]

    def _stdout(self, log: Any) -> Any:
        return subprocess.PIPE

    def wait_ready(self, timeout: float) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        seen = b""
        deadline = time.monotonic() + timeout
        while b"ready\n" not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"baseline not ready within {timeout:.0f}s: {self.log_tail()}")
            readable, _, _ = select.select([fd], [], [], min(remaining, 0.5))
            if readable:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.check_alive()
                    raise BenchError(f"baseline closed stdout before ready: {self.log_tail()}")
                seen += chunk
            else:
                self.check_alive()


def wait_for_recipients(
    smtp: RecordingSMTPServer, subject: Subject, wanted: set[str], timeout: float
) -> dict[str, Received]:
    """The first reply received for each wanted recipient; fails if one is missing at timeout."""
    found: dict[str, Received] = {}
    scanned = 0
    deadline = time.monotonic() + timeout
    while True:
        received = smtp.received  # only ever appended to while we look
        for item in received[scanned:]:
            for rcpt in item.rcpt_tos:
                if rcpt in wanted and rcpt not in found:
                    found[rcpt] = item
        scanned = len(received)
        if len(found) == len(wanted):
            return found
        subject.check_alive()
        if time.monotonic() >= deadline:
            raise BenchError(
                f"{subject.name}: {len(found)} of {len(wanted)} replies within {timeout:.0f}s; "
                f"log tail:\n{subject.log_tail()}"
            )
        time.sleep(POLL)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value at or above pct% of the samples."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


@dataclass
class Figures:
    messages: int = 0
    latency_p50: float = math.nan
    latency_p99: float = math.nan
    latency_max: float = math.nan
    backlog: int = 0
    backlog_seconds: float = math.nan
    backlog_rate: float = math.nan
    # Process start to the first reply, and the rate from the first reply to the last: they
    # separate start-up cost from per-message cost.
    backlog_first_reply_seconds: float = math.nan
    backlog_steady_rate: float = math.nan
    backlog_append_seconds: float = math.nan
    rss_mb: float = math.nan
    rss_after_latency_mb: float = math.nan
    # (d) a burst delivered over LMTP while the subject runs: rate from the first delivery to
    # the last reply, latency from each delivery to its reply, the process's VmHWM after it.
    burst: int = 0
    burst_connections: int = 0
    burst_seconds: float = math.nan
    burst_rate: float = math.nan
    burst_deliver_seconds: float = math.nan
    burst_p50: float = math.nan
    burst_p99: float = math.nan
    burst_max: float = math.nan
    burst_rss_mb: float = math.nan
    burst_cpu_seconds: float = math.nan
    extra_replies: int = 0
    latencies: list[float] = field(default_factory=list)
    burst_latencies: list[float] = field(default_factory=list)


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def measure_burst(
    subject: Subject,
    dovecot: Dovecot,
    smtp: RecordingSMTPServer,
    figures: Figures,
    start_uid: int = 0,
    tag: str = "",
) -> None:
    """(d) the subject up and watching; the burst delivered over LMTP; every reply awaited."""
    smtp.clear()
    subject.start(start_uid=start_uid)
    subject.wait_ready(READY_TIMEOUT)
    senders = [f"{subject.name}{tag}-c{n}@example.com" for n in range(figures.burst)]
    mails = [(sender, make_mail(sender, n)) for n, sender in enumerate(senders)]
    cpu_before = subject.cpu_seconds()
    started = deliver(dovecot, USERS[subject.name], mails, figures.burst_connections)
    first = min(started.values())
    figures.burst_deliver_seconds = time.monotonic() - first
    replies = wait_for_recipients(smtp, subject, set(senders), 60.0 + figures.burst * 0.25)
    figures.burst_seconds = max(r.at for r in replies.values()) - first
    figures.burst_rate = figures.burst / figures.burst_seconds
    figures.burst_latencies = [replies[s].at - started[s] for s in senders]
    figures.burst_p50 = percentile(figures.burst_latencies, 50)
    figures.burst_p99 = percentile(figures.burst_latencies, 99)
    figures.burst_max = max(figures.burst_latencies)
    figures.burst_cpu_seconds = subject.cpu_seconds() - cpu_before
    time.sleep(0.5)  # a second reply to anyone would arrive by now
    figures.burst_rss_mb = subject.peak_rss_mb()
    subject.stop()
    figures.extra_replies += len(smtp.received) - figures.burst
    progress(
        f"[{subject.name}] burst of {figures.burst} over LMTP x{figures.burst_connections}: "
        f"{figures.burst_rate:.1f} msg/s, p99 {figures.burst_p99:.3f}s"
    )


def measure(
    subject: Subject,
    dovecot: Dovecot,
    smtp: RecordingSMTPServer,
    messages: int,
    backlog: int,
    burst: int = 0,
    connections: int = 4,
    tag: str = "",
) -> Figures:
    """One round of every phase asked for; `tag` keeps each round's senders new."""
    figures = Figures(messages=messages, backlog=backlog)
    figures.burst, figures.burst_connections = burst, connections
    appender = Appender(dovecot.host, dovecot.port, USERS[subject.name], PASSWORD)
    try:
        # Mail from earlier rounds is there already: the baseline starts after it.
        start_uid = appender.uid_next() - 1
        if burst:
            measure_burst(subject, dovecot, smtp, figures, start_uid, tag)
            start_uid = appender.uid_next() - 1
        if not messages and not backlog:
            return figures
        # (a) one by one. The first start also records the daemon's cursor ("from now").
        smtp.clear()
        subject.start(start_uid=start_uid)
        subject.wait_ready(READY_TIMEOUT)
        for n in range(messages):
            sender = f"{subject.name}{tag}-a{n}@example.com"
            raw = make_mail(sender, n)
            before = time.monotonic()
            appender.append(raw)
            reply = wait_for_recipients(smtp, subject, {sender}, REPLY_TIMEOUT)[sender]
            figures.latencies.append(reply.at - before)
            if (n + 1) % 100 == 0:
                progress(f"[{subject.name}] latency {n + 1}/{messages}")
        figures.rss_after_latency_mb = subject.peak_rss_mb()
        subject.stop()
        figures.extra_replies += len(smtp.received) - messages
        if figures.latencies:
            figures.latency_p50 = percentile(figures.latencies, 50)
            figures.latency_p99 = percentile(figures.latencies, 99)
            figures.latency_max = max(figures.latencies)

        # (b) a backlog that arrived while the process was down.
        start_uid = appender.last_uid or start_uid
        smtp.clear()
        senders = [f"{subject.name}{tag}-b{n}@example.com" for n in range(backlog)]
        mails = [make_mail(sender, n) for n, sender in enumerate(senders)]
        began = time.monotonic()
        for raw in mails:
            appender.append(raw)
        figures.backlog_append_seconds = time.monotonic() - began
        progress(f"[{subject.name}] appended {backlog} in {figures.backlog_append_seconds:.1f}s")
        started = time.monotonic()
        subject.start(start_uid=start_uid)
        if backlog:
            timeout = 60.0 + backlog * 0.25
            replies = wait_for_recipients(smtp, subject, set(senders), timeout)
            first = min(r.at for r in replies.values())
            last = max(r.at for r in replies.values())
            figures.backlog_seconds = last - started
            figures.backlog_rate = backlog / figures.backlog_seconds
            figures.backlog_first_reply_seconds = first - started
            if backlog > 1 and last > first:
                figures.backlog_steady_rate = (backlog - 1) / (last - first)
        else:
            subject.wait_ready(READY_TIMEOUT)
        # (c) peak memory, after the backlog went through.
        figures.rss_mb = subject.peak_rss_mb()
        subject.stop()
        figures.extra_replies += len(smtp.received) - backlog
        progress(f"[{subject.name}] backlog done in {figures.backlog_seconds:.2f}s")
    finally:
        subject.kill()
        appender.close()
    return figures


def medians(rounds: Sequence[Figures]) -> Figures:
    """Each figure's median over the rounds, but peak memory the highest; the samples of
    every round together; a second reply in any round counted."""
    if len(rounds) == 1:
        return rounds[0]
    out = Figures(messages=rounds[0].messages, backlog=rounds[0].backlog)
    for f in fields(Figures):
        values = [getattr(r, f.name) for r in rounds]
        if isinstance(values[0], list):
            setattr(out, f.name, [x for v in values for x in v])
        elif f.name.endswith("_mb"):
            setattr(out, f.name, max(values))
        elif isinstance(values[0], float):
            setattr(out, f.name, statistics.median(values))
        elif f.name == "extra_replies":
            setattr(out, f.name, sum(values))
        else:
            setattr(out, f.name, values[0])
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def verdicts(daemon: Figures, baseline: Figures) -> dict[str, bool]:
    p99_ratio = _ratio(daemon.latency_p99, baseline.latency_p99)
    return {
        "latency_p99": daemon.latency_p99 < TARGET_P99_SECONDS and p99_ratio <= TARGET_P99_RATIO,
        "backlog_rate": _ratio(daemon.backlog_rate, baseline.backlog_rate) >= TARGET_BACKLOG_RATIO,
        "rss_mb": daemon.rss_mb < TARGET_RSS_MB,
        "burst_rate": _ratio(daemon.burst_rate, baseline.burst_rate) >= TARGET_BACKLOG_RATIO,
        "burst_p99": _ratio(daemon.burst_p99, baseline.burst_p99) <= TARGET_P99_RATIO,
        "burst_rss_mb": daemon.burst_rss_mb < TARGET_RSS_MB,
    }


def burst_rows(daemon: Figures, baseline: Figures) -> list[tuple[str, str, float, float, str, str]]:
    label = f"burst {daemon.burst} LMTP x{daemon.burst_connections}"
    return [
        (
            f"{label} (msg/s)",
            "{:.1f}",
            daemon.burst_rate,
            baseline.burst_rate,
            f">= {TARGET_BACKLOG_RATIO:g}x baseline",
            "burst_rate",
        ),
        (
            "  delivered in (s)",
            "{:.2f}",
            daemon.burst_deliver_seconds,
            baseline.burst_deliver_seconds,
            "-",
            "",
        ),
        ("  all answered in (s)", "{:.2f}", daemon.burst_seconds, baseline.burst_seconds, "-", ""),
        ("  ack latency p50 (s)", "{:.3f}", daemon.burst_p50, baseline.burst_p50, "-", ""),
        (
            "  ack latency p99 (s)",
            "{:.3f}",
            daemon.burst_p99,
            baseline.burst_p99,
            f"<= {TARGET_P99_RATIO:g}x baseline",
            "burst_p99",
        ),
        ("  ack latency max (s)", "{:.3f}", daemon.burst_max, baseline.burst_max, "-", ""),
        ("  CPU used (s)", "{:.2f}", daemon.burst_cpu_seconds, baseline.burst_cpu_seconds, "-", ""),
        (
            "  peak RSS VmHWM (MB)",
            "{:.1f}",
            daemon.burst_rss_mb,
            baseline.burst_rss_mb,
            f"< {TARGET_RSS_MB:g} MB",
            "burst_rss_mb",
        ),
    ]


def table(daemon: Figures, baseline: Figures) -> str:
    ok = verdicts(daemon, baseline)
    rows: list[tuple[str, str, float, float, str, str]] = [
        ("ack latency p50 (s)", "{:.3f}", daemon.latency_p50, baseline.latency_p50, "-", ""),
        (
            "ack latency p99 (s)",
            "{:.3f}",
            daemon.latency_p99,
            baseline.latency_p99,
            f"< {TARGET_P99_SECONDS:g} s and <= {TARGET_P99_RATIO:g}x baseline",
            "latency_p99",
        ),
        ("ack latency max (s)", "{:.3f}", daemon.latency_max, baseline.latency_max, "-", ""),
        (
            f"backlog {daemon.backlog} (msg/s)",
            "{:.1f}",
            daemon.backlog_rate,
            baseline.backlog_rate,
            f">= {TARGET_BACKLOG_RATIO:g}x baseline",
            "backlog_rate",
        ),
        (
            f"backlog {daemon.backlog} (s)",
            "{:.2f}",
            daemon.backlog_seconds,
            baseline.backlog_seconds,
            "-",
            "",
        ),
        (
            "  first reply (s)",
            "{:.2f}",
            daemon.backlog_first_reply_seconds,
            baseline.backlog_first_reply_seconds,
            "-",
            "",
        ),
        (
            "  steady rate (msg/s)",
            "{:.1f}",
            daemon.backlog_steady_rate,
            baseline.backlog_steady_rate,
            "-",
            "",
        ),
        (
            "peak RSS VmHWM (MB)",
            "{:.1f}",
            daemon.rss_mb,
            baseline.rss_mb,
            f"< {TARGET_RSS_MB:g} MB",
            "rss_mb",
        ),
    ]
    if not daemon.messages:
        rows = [r for r in rows if not r[0].startswith(("ack latency", "peak RSS"))]
    if not daemon.backlog:
        rows = [r for r in rows if not r[0].startswith(("backlog", "  first", "  steady"))]
    if daemon.burst:
        rows += burst_rows(daemon, baseline)
    lines = [
        f"{'metric':<24}{'daemon':>10}{'baseline':>10}{'ratio':>8}  {'target':<32}result",
        "-" * 92,
    ]
    for label, fmt, ours, theirs, target, key in rows:
        result = ("PASS" if ok[key] else "MISS") if key else "-"
        ratio = _ratio(ours, theirs)
        lines.append(
            f"{label:<24}{fmt.format(ours):>10}{fmt.format(theirs):>10}"
            f"{f'{ratio:.2f}x':>8}  {target:<32}{result}"
        )
    extras = {"daemon": daemon.extra_replies, "baseline": baseline.extra_replies}
    if any(extras.values()):
        lines.append(f"unexpected extra replies: {extras}")
    return "\n".join(lines)


def dovecot_version() -> str:
    try:
        out = subprocess.run(
            [find_dovecot(), "--version"], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError, DovecotError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ack_latency", description=__doc__)
    parser.add_argument("--messages", type=int, default=500, help="sent one by one (a)")
    parser.add_argument("--backlog", type=int, default=2000, help="appended while down (b)")
    parser.add_argument(
        "--burst", type=int, default=0, help="delivered over LMTP while running (d); 0: none"
    )
    parser.add_argument("--lmtp", type=int, default=4, help="LMTP connections for the burst")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure baseline and daemon this many times, in turn; the table shows medians",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args(argv)
    if args.messages < 0 or args.backlog < 0 or args.burst < 0 or args.lmtp < 1:
        parser.error("--messages, --backlog and --burst must not be negative, --lmtp positive")
    if args.rounds < 1:
        parser.error("--rounds must be positive")

    results: dict[str, list[Figures]] = {"baseline": [], "daemon": []}
    errors = (BenchError, BurstError, DovecotError, OSError, imaplib.IMAP4.error)
    with work_dir("ackbench-", keep=args.keep, errors=errors) as work:
        (work.path / "imap-password").write_text(PASSWORD + "\n")
        users = {user: PASSWORD for user in USERS.values()}
        if args.burst:
            # LMTP delivers as the mail user, who must pass through the work directory.
            work.path.chmod(0o711)
        dovecot = Dovecot(work.path / "dovecot", users, lmtp=args.burst > 0)
        smtp = RecordingSMTPServer()
        try:
            dovecot.start()
            smtp.start()
            subjects = (
                BaselineSubject(work.path, dovecot, smtp),
                DaemonSubject(work.path, dovecot, smtp),
            )
            # In turn, so a machine that slows down for a while slows both alike.
            for n in range(args.rounds):
                for subject in subjects:
                    figures = measure(
                        subject,
                        dovecot,
                        smtp,
                        args.messages,
                        args.backlog,
                        args.burst,
                        args.lmtp,
                        tag=f"-r{n}" if n else "",
                    )
                    results[subject.name].append(figures)
        finally:
            smtp.stop()
            dovecot.stop()
    if work.failed:
        return 1

    daemon, baseline = medians(results["daemon"]), medians(results["baseline"])
    rounds = f", medians of {args.rounds} rounds" if args.rounds > 1 else ""
    print(
        f"\nresponder acknowledgement benchmark: {args.messages} messages one by one, "
        f"backlog of {args.backlog}, burst of {args.burst} over LMTP x{args.lmtp}{rounds}\n"
        f"Dovecot {dovecot_version()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print(table(daemon, baseline))
    if args.rounds > 1 and args.burst:
        pairs = list(zip(results["daemon"], results["baseline"], strict=True))
        rates = " ".join(f"{_ratio(d.burst_rate, b.burst_rate):.2f}x" for d, b in pairs)
        p99s = " ".join(f"{_ratio(d.burst_p99, b.burst_p99):.2f}x" for d, b in pairs)
        print(f"\nburst, round by round: rate {rates}; p99 {p99s}")
    if args.json is not None:
        payload = {
            "messages": args.messages,
            "backlog": args.backlog,
            "burst": args.burst,
            "lmtp_connections": args.lmtp,
            "targets": {
                "latency_p99_seconds": TARGET_P99_SECONDS,
                "latency_p99_ratio": TARGET_P99_RATIO,
                "backlog_ratio": TARGET_BACKLOG_RATIO,
                "rss_mb": TARGET_RSS_MB,
            },
            "verdicts": verdicts(daemon, baseline),
            "daemon": asdict(daemon),
            "baseline": asdict(baseline),
            "rounds": {name: [asdict(f) for f in runs] for name, runs in results.items()},
        }
        args.json.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
