"""The WhatsApp benchmark's subjects: the daemon's config (WhatsApp, and email and Telegram
idle beside it) and the command lines of the daemon and the bare aiohttp baseline."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.telegram_latency import BenchError, Child
from bench.whatsapp_baseline import READY as BASELINE_READY
from responder.testing import free_port

NUMBER_ID = "106540352242922"
WA_TOKEN = "EAAG-bench-token-for-responder-bench"
APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY = "bench-verify-token"
TG_TOKEN = "123456:BENCH-token-for-responder-bench"
MAIL_USER = "support@toko-contoh.id"
MAIL_PASSWORD = "bench-secret"
CHANNEL = "shop-wa"

READY_TIMEOUT = 30.0
# The daemon's markers: the HTTP endpoint is up, Graph answered the number check, and (with
# the other channels) Telegram's getMe and the first IMAP IDLE are done.
HTTP_READY = b"http endpoint listening"
GRAPH_READY = b"Graph API answers for number"
TELEGRAM_READY = b"connected as @"
IMAP_READY = b"watching INBOX with IDLE"


@dataclass(frozen=True)
class Others:
    """The idle channels beside WhatsApp: where Dovecot, the SMTP server and the Bot API are."""

    imap_port: int
    smtp_port: int
    telegram_api: str


def write_secrets(work: Path) -> None:
    for name, value in (
        ("whatsapp-token", WA_TOKEN),
        ("whatsapp-app-secret", APP_SECRET),
        ("whatsapp-verify", VERIFY),
        ("telegram-token", TG_TOKEN),
        ("imap-password", MAIL_PASSWORD),
    ):
        (work / name).write_text(value + "\n")


def daemon_config(work: Path, slug: str, graph_api: str, port: int, others: Others | None) -> Path:
    """tests/harness.py's write_whatsapp_config, plus email and Telegram when `others`."""
    state = work / f"{slug}-state"
    state.mkdir()
    text = f"""\
timezone: Asia/Jakarta
state_dir: {state}
http: {{host: 127.0.0.1, port: {port}, public_url: https://bantuan.toko-contoh.id}}
channels:
  - name: {CHANNEL}
    type: whatsapp
    phone_number_id: "{NUMBER_ID}"
    access_token_file: {work / "whatsapp-token"}
    app_secret_file: {work / "whatsapp-app-secret"}
    verify_token_file: {work / "whatsapp-verify"}
    api_url: {graph_api}
    display_name: Toko Contoh
    language: id
    timeout: 5s
"""
    if others is not None:
        text += f"""\
  - name: support-mail
    type: email
    address: {MAIL_USER}
    display_name: Toko Contoh
    language: id
    imap: {{host: 127.0.0.1, port: {others.imap_port}, security: none, username: {MAIL_USER},
           password_file: {work / "imap-password"}, folder: INBOX, timeout: 5s}}
    smtp: {{host: 127.0.0.1, port: {others.smtp_port}, security: none, timeout: 5s}}
  - name: shop-bot
    type: telegram
    token_file: {work / "telegram-token"}
    api_url: {others.telegram_api}
    display_name: Toko Contoh
    language: id
    poll_timeout: 10s
    timeout: 5s
"""
    path = work / f"{slug}.yaml"
    path.write_text(text)
    return path


@dataclass
class Subject:
    """A running subject: its process and the URL Meta would POST to."""

    name: str
    child: Child
    url: str

    def memory_mb(self, key: str = "VmHWM") -> float:
        """From /proc/PID/status: VmHWM, the most resident memory the process ever had;
        VmRSS, what it has now."""
        self.child.check_alive()
        assert self.child.proc is not None
        for line in Path(f"/proc/{self.child.proc.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
        raise BenchError(f"no {key} in /proc status")


def start(name: str, work: Path, tag: str, graph_api: str, others: Others | None) -> Subject:
    """Start the daemon or the baseline on a fresh port and wait until it says it is ready."""
    port = free_port()
    slug = f"{name}{tag}"
    if name == "baseline":
        command = [
            sys.executable, "-m", "bench.whatsapp_baseline",
            "--port", str(port), "--api-url", graph_api, "--phone-number-id", NUMBER_ID,
            "--token-file", str(work / "whatsapp-token"),
            "--secret-file", str(work / "whatsapp-app-secret"),
        ]  # fmt: skip
        markers = [BASELINE_READY]
    else:
        config = daemon_config(work, slug, graph_api, port, others)
        command = [sys.executable, "-m", "responder.cli", "run", "-c", str(config)]
        markers = [HTTP_READY, GRAPH_READY]
        if others is not None:
            markers += [TELEGRAM_READY, IMAP_READY]
    child = Child(name, command, work / f"{slug}.log")
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        for marker in markers:
            child.wait_for_log(marker, max(0.1, deadline - time.monotonic()))
    except BaseException:
        child.stop()
        raise
    return Subject(name, child, f"http://127.0.0.1:{port}/webhooks/whatsapp/{CHANNEL}")
