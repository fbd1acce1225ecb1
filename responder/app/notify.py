"""Tells systemd how the daemon is doing over $NOTIFY_SOCKET (sd_notify(3)), stdlib only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

log = logging.getLogger(__name__)

STATUS_EVERY = 30.0  # seconds between STATUS= refreshes
READY_WAIT = 20.0  # at most this long for the channels' first connection before READY=1


class Notifier:
    """Sends sd_notify(3) state strings; does nothing when systemd gave no socket.

    Never raises: a daemon must not die because its supervisor's socket went away. The
    first failed send is logged at warning, later ones are not.
    """

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        # sd_notify(3): an address starting with "@" is in the abstract namespace.
        self._address = "\0" + address[1:] if address and address[0] == "@" else address
        self._sock: socket.socket | None = None
        self._warned = False
        # sd_watchdog_enabled(3): "the daemon should then call sd_notify ... WATCHDOG=1 ...
        # it is recommended that a daemon sends a keep-alive notification ... every half of
        # that time", so a late ping still lands in time.
        self.watchdog_interval = watchdog_usec / 2_000_000 if watchdog_usec else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        if address is not None and address[0] not in "/@":
            # systemd ≥ 254 may also hand out vsock: addresses (VMs); not for a daemon on a host.
            log.warning("NOTIFY_SOCKET %r is not a unix socket; not notifying systemd", address)
            address = None
        return cls(address, watchdog_usec=_watchdog_usec(env))

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send "KEY=VALUE" lines as one datagram; whether it went (False when disabled)."""
        if self._address is None:
            return False
        data = "\n".join(assignments).encode("utf-8", "replace")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # Never stall the event loop on a full socket buffer: a lost ping is harmless.
                self._sock.setblocking(False)
            self._sock.sendto(data, self._address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot notify systemd at %s: %s", self._address.lstrip("\0"), exc)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *_status_line(status))

    def reloading(self) -> bool:
        # systemd.service(5) Type=notify-reload (systemd ≥ 253) wants MONOTONIC_USEC with
        # RELOADING=1 to tell this reload from an earlier one; older systemd ignores it.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1", "STATUS=stopping")

    def status(self, text: str) -> bool:
        return self.notify(*_status_line(text))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def keep_watchdog(self, responsive: Callable[[], bool]) -> None:
        """Ping every half WATCHDOG_USEC while `responsive()` holds.

        A hung loop runs no task, this one included, so pings stop by themselves; a loop that
        still runs but lags (the monitor says so) gets no ping either, so systemd restarts it
        (WatchdogSec= in systemd.service(5)) rather than wait for a full hang.
        """
        if self.watchdog_interval is None:
            return
        withheld = False
        while True:
            if responsive():
                if withheld:
                    log.info("event loop responsive again; watchdog pings resume")
                withheld = False
                self.watchdog()
            elif not withheld:
                withheld = True
                log.warning("event loop not responsive; withholding the systemd watchdog ping")
            await asyncio.sleep(self.watchdog_interval)

    async def keep_status(
        self, describe: Callable[[], Awaitable[str]], every: float = STATUS_EVERY
    ) -> None:
        """Refresh STATUS= (what `systemctl status` shows) every `every` seconds."""
        last: str | None = None
        while True:
            await asyncio.sleep(every)
            try:
                text = await describe()
            except Exception as exc:
                log.debug("status not refreshed: %s", exc)
                continue
            if text != last:
                last = text
                self.status(text)


async def settled(
    states: Callable[[], Iterable[str]], stop: asyncio.Event, timeout: float = READY_WAIT
) -> None:
    """Wait until no channel is still "starting" (each connected, failed or retrying), the
    stop event is set, or `timeout` passes: READY=1 should mean the mailboxes are open, but a
    server that is down must not hold start-up until TimeoutStartSec= kills the daemon."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # Channel state is a plain property of the channel protocol, so it is polled.
    while "starting" in states() and not stop.is_set() and loop.time() < deadline:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.05):  # not wait_for: see services.leases
                await stop.wait()


def _status_line(text: str | None) -> list[str]:
    # One datagram holds newline-separated assignments: a newline in the text would end it.
    return [] if text is None else ["STATUS=" + " ".join(text.split())]


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    """sd_watchdog_enabled(3): WATCHDOG_USEC, unless WATCHDOG_PID names another process."""
    usec, pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
    if not usec:
        return None
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a number; no watchdog pings", usec)
        return None
    return value if value > 0 else None
