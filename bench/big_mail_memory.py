"""Peak memory with big mail waiting: ten 20 MB mails against ten 20 KB ones, same daemon."""

from __future__ import annotations

import argparse
import imaplib
import json
import math
import os
import platform
import re
import time
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path

from bench.ack_latency import (
    BODY,
    PASSWORD,
    SUPPORT,
    Appender,
    BenchError,
    DaemonSubject,
    dovecot_version,
    progress,
    wait_for_recipients,
)
from bench.workdir import work_dir
from responder.testing import Dovecot, DovecotError, RecordingSMTPServer

KB = 1024
MB = 1024 * 1024
READY_TIMEOUT = 30.0
TARGET_RSS_MB = 150.0
# base64 (RFC 2045 6.8) turns 57 bytes into a 76-character line plus CRLF.
_BASE64_GROWTH = 78 / 57


@dataclass
class Run:
    label: str
    mail_bytes: int = 0
    count: int = 0
    idle_rss_mb: float = math.nan  # VmRSS once the first start is watching, nothing to do
    append_seconds: float = math.nan
    ack_seconds: float = math.nan  # process start to the last acknowledgement
    first_ack_seconds: float = math.nan
    peak_rss_mb: float = math.nan  # VmHWM of the process that worked through the backlog


class Daemon(DaemonSubject):
    """`responder run -c CONFIG` reading one Dovecot user of its own, with its RSS now."""

    def rss_mb(self) -> float:
        self.check_alive()
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        return int(match.group(1)) / 1024 if match else math.nan


def mail_template(size: int) -> bytes:
    """A customer's mail with a text body and an attachment, about `size` bytes in all;
    the placeholders are filled in per copy (base64 never contains "@")."""
    msg = EmailMessage()
    msg["From"] = "Customer <from-placeholder@example.com>"
    msg["To"] = SUPPORT
    msg["Subject"] = "Bukti transfer terlampir"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = "<id-placeholder@example.com>"
    msg.set_content(BODY)
    attachment = max(0, int((size - 1200) / _BASE64_GROWTH))
    if attachment:
        msg.add_attachment(
            os.urandom(attachment), maintype="application", subtype="pdf", filename="bukti.pdf"
        )
    return msg.as_bytes(policy=SMTP)


def measure(
    work: Path,
    dovecot: Dovecot,
    smtp: RecordingSMTPServer,
    label: str,
    size: int,
    count: int,
    imap_extra: str,
) -> Run:
    user = f"{label}@bench.test"
    run = Run(label, size, count)
    daemon = Daemon(work, dovecot, smtp, name=label, user=user)
    daemon.configure(imap_extra)
    appender = Appender(dovecot.host, dovecot.port, user, PASSWORD)
    try:
        # First start: sets the cursor, and shows what an idle daemon holds.
        daemon.start()
        daemon.wait_ready(READY_TIMEOUT)
        run.idle_rss_mb = daemon.rss_mb()
        daemon.stop()
        template = mail_template(size)
        senders = [f"{label}-{n}@example.com" for n in range(count)]
        began = time.monotonic()
        for n, sender in enumerate(senders):
            raw = template.replace(b"from-placeholder@example.com", sender.encode()).replace(
                b"id-placeholder@example.com", f"big-{label}-{n}@example.com".encode()
            )
            appender.append(raw)
        run.mail_bytes = len(raw)
        run.append_seconds = time.monotonic() - began
        progress(f"[{label}] appended {count} x {len(raw) / MB:.2f} MB")
        smtp.clear()
        started = time.monotonic()
        daemon.start()
        replies = wait_for_recipients(smtp, daemon, set(senders), 60.0 + count * size / MB)
        run.first_ack_seconds = min(r.at for r in replies.values()) - started
        run.ack_seconds = max(r.at for r in replies.values()) - started
        run.peak_rss_mb = daemon.peak_rss_mb()
        daemon.stop()
        progress(f"[{label}] acknowledged in {run.ack_seconds:.1f}s, VmHWM {run.peak_rss_mb:.0f}")
    finally:
        daemon.kill()
        appender.close()
    return run


def table(base: Run, big: Run) -> str:
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "-"

    ok = big.peak_rss_mb < TARGET_RSS_MB
    heads = (f"{base.count} x {base.mail_bytes / KB:.0f} KB", f"{big.count} x ")
    heads = (heads[0], heads[1] + f"{big.mail_bytes / MB:.0f} MB")
    rows = (
        ("peak RSS VmHWM (MB)", base.peak_rss_mb, big.peak_rss_mb, f"< {TARGET_RSS_MB:g} MB"),
        ("all acknowledged (s)", base.ack_seconds, big.ack_seconds, "-"),
        ("  first ack (s)", base.first_ack_seconds, big.first_ack_seconds, "-"),
        ("idle RSS, first start (MB)", base.idle_rss_mb, big.idle_rss_mb, "-"),
    )
    lines = [f"{'metric':<28}{heads[0]:>14}{heads[1]:>14}{'ratio':>8}  {'target':<12}result"]
    lines.append("-" * len(lines[0]))
    for n, (name, a, b, target) in enumerate(rows):
        result = ("PASS" if ok else "MISS") if n == 0 else "-"
        lines.append(f"{name:<28}{a:>14.1f}{b:>14.1f}{ratio(b, a):>8}  {target:<12}{result}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.big_mail_memory", description=__doc__)
    parser.add_argument("--count", type=int, default=10, help="mails waiting per run")
    parser.add_argument("--size-mb", type=float, default=20.0, help="size of each big mail")
    parser.add_argument("--base-kb", type=float, default=20.0, help="size of each baseline mail")
    parser.add_argument(
        "--imap", default="", help='extra imap keys for both runs, e.g. ", fetch_bytes: 4MB"'
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args(argv)
    if args.count < 1 or args.size_mb <= 0 or args.base_kb <= 0:
        parser.error("--count, --size-mb and --base-kb must be positive")

    runs: dict[str, Run] = {}
    errors = (BenchError, DovecotError, OSError, imaplib.IMAP4.error)
    with work_dir("bigmail-", keep=args.keep, errors=errors, logs=True) as work:
        (work.path / "imap-password").write_text(PASSWORD + "\n")
        users = {f"{label}@bench.test": PASSWORD for label in ("baseline", "big")}
        dovecot = Dovecot(work.path / "dovecot", users)
        smtp = RecordingSMTPServer()
        try:
            dovecot.start()
            smtp.start()
            for label, size in (
                ("baseline", int(args.base_kb * KB)),
                ("big", int(args.size_mb * MB)),
            ):
                runs[label] = measure(work.path, dovecot, smtp, label, size, args.count, args.imap)
        finally:
            smtp.stop()
            dovecot.stop()
    if work.failed:
        return 1
    base, big = runs["baseline"], runs["big"]
    print(
        f"\nresponder big-mail memory benchmark: {args.count} mails waiting at start\n"
        f"Dovecot {dovecot_version()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print(table(base, big))
    if args.json is not None:
        payload = {
            "target_rss_mb": TARGET_RSS_MB,
            "pass": big.peak_rss_mb < TARGET_RSS_MB,
            "baseline": asdict(base),
            "big": asdict(big),
        }
        args.json.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
