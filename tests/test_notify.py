"""Talking to systemd: READY, STATUS, RELOADING, STOPPING and a watchdog that needs a live loop."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType

import pytest
import testdb
from harness import SUPPORT, write_config

from responder.app.notify import Notifier
from responder.common.tasks import TaskGroup
from responder.testing import Dovecot, RecordingSMTPServer
from responder.web.health import LoopMonitor


class FakeSystemd:
    """A NOTIFY_SOCKET as systemd binds it; a thread stamps each datagram on arrival."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address.replace("@", "\0", 1) if address.startswith("@") else address)
        self.sock.settimeout(0.1)
        self.received: list[tuple[float, dict[str, str]]] = []
        self._seen = 0
        self._cond = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._done:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            at = time.monotonic()
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
            with self._cond:
                self.received.append((at, fields))
                self._cond.notify_all()

    def expect(self, key: str, timeout: float = 20.0) -> dict[str, str]:
        """The next message (after the last one expected) that sets `key`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(self._seen, len(self.received)):
                    if key in self.received[index][1]:
                        self._seen = index + 1
                        return self.received[index][1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {key}= within {timeout}s: {self.received}")
                self._cond.wait(left)

    def times(self, key: str) -> list[float]:
        with self._cond:
            return [at for at, fields in self.received if key in fields]

    def __enter__(self) -> FakeSystemd:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done = True
        self._thread.join(5)
        self.sock.close()


def logins(dovecot: Dovecot) -> int:
    text = dovecot.log_path.read_text() if dovecot.log_path.exists() else ""
    return text.count(f"Login: user=<{SUPPORT}>")


def test_the_daemon_tells_systemd_ready_reloading_stopping_and_pings_the_watchdog(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    log_path = tmp_path / "daemon.log"
    testdb.for_child(config)
    with FakeSystemd(str(tmp_path / "notify.sock")) as systemd, log_path.open("wb") as log:
        env = {**os.environ, "NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "1000000"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "responder.cli", "run", "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**env, "PYTHONUNBUFFERED": "1"},
        )
        try:
            ready = systemd.expect("READY")
            # Ready means the mailbox is open, not merely that the process started.
            assert ready == {
                "READY": "1",
                "STATUS": (
                    "1 of 1 channel(s) connected, 0 open tickets; "
                    "leases held: imap:support-mail, scheduler"
                ),
            }
            deadline = time.monotonic() + 10
            while logins(dovecot) < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert logins(dovecot) == 1

            for _ in range(4):  # every WATCHDOG_USEC / 2
                assert systemd.expect("WATCHDOG", timeout=3) == {"WATCHDOG": "1"}
            pings = systemd.times("WATCHDOG")
            assert max(b - a for a, b in itertools.pairwise(pings)) < 0.9

            proc.send_signal(signal.SIGHUP)
            reloading = systemd.expect("RELOADING")
            assert reloading["RELOADING"] == "1" and int(reloading["MONOTONIC_USEC"]) > 0
            assert systemd.expect("READY") == {"READY": "1"}
            assert "configuration reloaded" in log_path.read_text()
            systemd.expect("WATCHDOG", timeout=3)  # still alive, still pinging
            time.sleep(1.0)  # a reconnect, were there one, would have logged in by now
            assert logins(dovecot) == 1  # the IMAP connection was kept across the reload
            assert log_path.read_text().count("watching INBOX") == 1

            proc.send_signal(signal.SIGTERM)
            assert systemd.expect("STOPPING") == {"STOPPING": "1", "STATUS": "stopping"}
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    text = log_path.read_text()
    assert "responder stopped" in text and "Traceback" not in text


def test_a_refused_reload_still_ends_with_ready(tmp_path: Path) -> None:
    from responder.app.lifecycle import Lifecycle

    class NoApp:
        def reload(self, config: object) -> bool:
            raise AssertionError("a bad config must not reach the app")

    bad = tmp_path / "config.yaml"
    bad.write_text("state_dir: x\nchannels: []\n")
    with FakeSystemd(str(tmp_path / "notify.sock")) as systemd:
        notifier = Notifier(systemd.address)
        asyncio.run(Lifecycle(NoApp(), bad, notifier).reload())  # type: ignore[arg-type]
        assert systemd.expect("RELOADING")["RELOADING"] == "1"
        assert systemd.expect("READY") == {"READY": "1"}
        notifier.close()


def test_an_abstract_socket_address_is_reached() -> None:
    address = f"@responder-test-{uuid.uuid4().hex}"
    with FakeSystemd(address) as systemd:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": address})
        assert notifier.enabled
        assert notifier.status("2 channel(s)\nconnected")
        assert notifier.ready()
        assert systemd.expect("STATUS") == {"STATUS": "2 channel(s) connected"}
        assert systemd.expect("READY") == {"READY": "1"}
        notifier.close()


def test_no_socket_no_watchdog_and_send_errors_are_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    quiet = Notifier.from_env({})
    assert not quiet.enabled and not quiet.ready() and quiet.watchdog_interval is None
    other = Notifier.from_env(
        {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    )
    assert other.watchdog_interval is None  # the watchdog is another process's
    mine = Notifier.from_env({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_interval == 2.0

    gone = Notifier(str(tmp_path / "nobody-listens.sock"))
    with caplog.at_level(logging.WARNING, logger="responder.app.notify"):
        assert not gone.ready() and not gone.watchdog() and not gone.stopping()
    assert [r.getMessage() for r in caplog.records].count(
        f"cannot notify systemd at {tmp_path / 'nobody-listens.sock'}: "
        "[Errno 2] No such file or directory"
    ) == 1
    assert len(caplog.records) == 1
    gone.close()


async def test_status_is_refreshed_when_it_changes(tmp_path: Path) -> None:
    counts = iter(range(100))

    async def describe() -> str:
        return f"{next(counts) // 3} open tickets"

    with FakeSystemd(str(tmp_path / "notify.sock")) as systemd:
        notifier = Notifier(systemd.address)
        tasks = TaskGroup()
        tasks.spawn(notifier.keep_status(describe, every=0.01), name="systemd:status")
        try:
            first = await asyncio.to_thread(systemd.expect, "STATUS", 5)
            second = await asyncio.to_thread(systemd.expect, "STATUS", 5)
        finally:
            await tasks.cancel_all()
            notifier.close()
    assert (first, second) == ({"STATUS": "0 open tickets"}, {"STATUS": "1 open tickets"})


async def test_a_blocked_loop_gets_no_watchdog_ping(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeSystemd(str(tmp_path / "notify.sock")) as systemd:
        tasks = TaskGroup()
        monitor = LoopMonitor(tasks, interval=0.05, stale_after=0.5, max_lag=0.3)
        monitor.start()
        notifier = Notifier(systemd.address, watchdog_usec=100_000)  # a ping every 50 ms
        tasks.spawn(notifier.keep_watchdog(lambda: monitor.responsive), name="systemd:watchdog")
        try:
            await asyncio.sleep(0.5)
            assert len(systemd.times("WATCHDOG")) >= 5
            with caplog.at_level(logging.INFO, logger="responder.app.notify"):
                blocked = time.monotonic()
                time.sleep(monitor.stale_after + 0.3)  # noqa: ASYNC251 -- hogging the loop on purpose
                unblocked = time.monotonic()
                await asyncio.sleep(0.02)
                # The overdue wake-ups run now; the monitor saw the hang, so no ping yet.
                quiet_until = time.monotonic()
                await asyncio.sleep(0.5)
        finally:
            await tasks.cancel_all()
            notifier.close()
        pings = systemd.times("WATCHDOG")
    # (A ping sent just before the block may be stamped a moment later by the thread.)
    assert not [t for t in pings if blocked + 0.05 < t < quiet_until], (blocked, unblocked, pings)
    assert [t for t in pings if t > quiet_until], "pings resume once the loop is responsive"
    messages = [r.getMessage() for r in caplog.records]
    assert "event loop not responsive; withholding the systemd watchdog ping" in messages
    assert "event loop responsive again; watchdog pings resume" in messages
