"""The failover benchmark's instances: one config each (a mailbox on Dovecot, a Telegram bot on
the stand-in, the shared database and `cluster:`), each process in a pid namespace of its own
as on a machine of its own (tests/harness.py DaemonProcess), so the others learn of its death
only by its leases running out, as between two VPSes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.ack_latency import Appender, make_mail
from bench.databases import Database
from bench.telegram_latency import REPO, STOP_TIMEOUT
from responder.testing import Dovecot, TelegramStandIn

MAILBOX = "support@toko-contoh.id"
MAIL_PASSWORD = "bench-secret"
TG_TOKEN = "123456:BENCH-token-for-responder-bench"
IMAP_LEASE, TELEGRAM_LEASE = "imap:support-mail", "telegram:shop-bot"
INTAKE = (IMAP_LEASE, TELEGRAM_LEASE)


def write_config(
    work: Path,
    slug: str,
    database: Database,
    servers: tuple[int, int, str],
    cluster: tuple[float, float],
) -> Path:
    """tests/test_leases_e2e.py's config: `servers` are the IMAP and SMTP ports and the Bot
    API's URL, `cluster` the lease ttl and heartbeat in seconds."""
    imap_port, smtp_port, telegram_api = servers
    state = work / f"{slug}-state"
    state.mkdir()
    for name, value in (("imap-password", MAIL_PASSWORD), ("telegram-token", TG_TOKEN)):
        (work / name).write_text(value + "\n")
    path = work / f"{slug}.yaml"
    path.write_text(
        f"""\
timezone: Asia/Jakarta
state_dir: {state}
{database.config_lines}delivery: {{retry_base: 0.2s, retry_cap: 1s}}
cluster: {{lease_ttl: {cluster[0]:g}s, heartbeat: {cluster[1]:g}s}}
channels:
  - name: support-mail
    type: email
    address: {MAILBOX}
    display_name: Toko Contoh
    language: id
    imap: {{host: 127.0.0.1, port: {imap_port}, security: none, username: {MAILBOX},
           password_file: {work / "imap-password"}, folder: INBOX, timeout: 5s}}
    smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, timeout: 5s}}
  - name: shop-bot
    type: telegram
    token_file: {work / "telegram-token"}
    api_url: {telegram_api}
    display_name: Toko Contoh
    language: id
    poll_timeout: 2s
    timeout: 5s
"""
    )
    return path


def own_pid_namespace() -> list[str]:
    """The prefix that runs a process in a new pid namespace (as root, or as root of a new
    user namespace); SIGKILL to `unshare` kills the daemon too (--kill-child)."""
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return ["unshare", *user, "--pid", "--fork", "--kill-child"]


class Instance:
    """`responder run` for one config, started again after each kill (systemd's Restart=),
    its output appended to one log."""

    def __init__(self, name: str, config: Path, log_path: Path) -> None:
        self.name, self.config, self.log_path = name, config, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [*own_pid_namespace(), sys.executable, "-m", "responder.cli", "run"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, "-c", str(self.config)],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ready(self) -> bool:
        """The database is migrated. The bench starts one instance first so the others'
        start-up time is not inside the first kill's figures."""
        return b"database ready" in self.log_path.read_bytes()

    def instance_id(self) -> str | None:
        """The id the daemon logged at its latest start (the leases' holder column)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        found = re.findall(r"instance (\S+) \(", text)
        return found[-1] if found else None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM to the daemon (unshare ignores it while it waits), SIGKILL after
        STOP_TIMEOUT; never raises."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            for child in children:
                os.kill(int(child), signal.SIGTERM)
            proc.wait(STOP_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


FIRST_CHAT = 700_000  # the n-th Telegram customer's chat id is FIRST_CHAT + n


class Stream(threading.Thread):
    """Customers writing in: every `every` seconds a mail from a new sender (IMAP APPEND over
    one kept-open session) and a Telegram message from a new chat, each noted with
    time.monotonic() just before it went."""

    def __init__(self, dovecot: Dovecot, tg: TelegramStandIn, every: float) -> None:
        super().__init__(name="customers", daemon=True)
        self.dovecot, self.tg, self.every = dovecot, tg, every
        self.mails: dict[str, float] = {}  # sender -> sent at
        self.chats: dict[int, float] = {}  # chat id -> sent at
        self.failure: BaseException | None = None
        self._stop_now = threading.Event()

    def run(self) -> None:
        try:
            appender = Appender("127.0.0.1", self.dovecot.port, MAILBOX, MAIL_PASSWORD)
            try:
                self._send(appender)
            finally:
                appender.close()
        except BaseException as exc:  # reported by the bench's thread (check)
            self.failure = exc

    def _send(self, appender: Appender) -> None:
        n, start = 0, time.monotonic()
        while not self._stop_now.is_set():
            n += 1
            sender = f"c{n}@example.com"
            self.mails[sender] = time.monotonic()
            appender.append(make_mail(sender, n))
            self.chats[FIRST_CHAT + n] = time.monotonic()
            self.tg.push_message(FIRST_CHAT + n, f"Halo kak, pesanan #{n} belum sampai")
            self._stop_now.wait(max(0.0, start + n * self.every - time.monotonic()))

    def check(self) -> None:
        if self.failure is not None:
            raise RuntimeError(f"sending customers' messages failed: {self.failure!r}")

    def stop(self) -> None:
        self._stop_now.set()
        if self.ident is not None:
            self.join(30)
