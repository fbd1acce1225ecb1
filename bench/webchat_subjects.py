"""The web chat benchmark's subjects: the daemon's config (one webchat channel, always open)
and the command lines of the daemon and the bare aiohttp baseline."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.telegram_latency import Child
from bench.webchat_baseline import READY as BASELINE_READY
from bench.whatsapp_subjects import HTTP_READY, READY_TIMEOUT, Subject
from responder.testing import free_port

CHANNEL = "web"
SHOP_ORIGIN = "https://toko-contoh.id"  # the Origin the bench's visitors send: an allowed one
PUBLIC_URL = "https://bantuan.toko-contoh.id"
# Every visitor, session, stream and message comes from 127.0.0.1, so the per-address rate
# limit (120 requests a minute by default) is raised to its highest; the open streams'
# limit (2000 by default) is raised so --visitors can go past it.
ADDRESS_PER_MINUTE = 100_000
STREAMS = 100_000


def daemon_config(work: Path, slug: str, port: int) -> Path:
    """tests/harness.py's write_webchat_config, with the limits above. No business_hours
    section: always open, so every first message gets the acknowledgement."""
    state = work / f"{slug}-state"
    state.mkdir()
    path = work / f"{slug}.yaml"
    path.write_text(
        f"""\
timezone: Asia/Jakarta
state_dir: {state}
http: {{host: 127.0.0.1, port: {port}, public_url: {PUBLIC_URL}}}
channels:
  - name: {CHANNEL}
    type: webchat
    allowed_origins: ["{SHOP_ORIGIN}"]
    title: Toko Contoh
    language: id
    limits: {{address_per_minute: {ADDRESS_PER_MINUTE}, streams: {STREAMS}}}
"""
    )
    return path


def start(name: str, work: Path, tag: str) -> Subject:
    """Start the daemon or the baseline on a fresh port and wait until it listens (the
    daemon's channel may still answer 503 "starting" for a moment: the client retries)."""
    port = free_port()
    slug = f"{name}{tag}"
    if name == "baseline":
        command = [
            sys.executable, "-m", "bench.webchat_baseline",
            "--port", str(port), "--channel", CHANNEL,
        ]  # fmt: skip
        marker = BASELINE_READY
    else:
        config = daemon_config(work, slug, port)
        command = [sys.executable, "-m", "responder.cli", "run", "-c", str(config)]
        marker = HTTP_READY
    child = Child(name, command, work / f"{slug}.log")
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        child.wait_for_log(marker, max(0.1, deadline - time.monotonic()))
    except BaseException:
        child.stop()
        raise
    return Subject(name, child, f"http://127.0.0.1:{port}/chat/{CHANNEL}")
