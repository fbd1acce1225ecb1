"""One channel's outages: while its server is down, probe it; once it answers, release the
replies waiting on it at once instead of each at the end of its own, grown backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from responder.channels import health
from responder.common.retry import backoff
from responder.common.tasks import TaskGroup
from responder.errors import SignInRefused

log = logging.getLogger(__name__)

# The first probe follows the failure within about a second; later ones back off to the
# configured interval. A probe is one connection (SMTP: connect, EHLO, QUIT), so cheap.
PROBE_BASE = 1.0
# While the server stays down, the log says so again this often (not at every probe).
REMIND_EVERY = 3600.0

Probe = Callable[[], Awaitable[object]]


@dataclass
class _Waiter:
    future: asyncio.Future[bool]
    strict: bool
    failed_probes: int  # the channel's count when the waiter began


class ChannelRecovery:
    """Knows whether a channel is down, probes it while it is, and wakes waiting replies.

    Only a failure that says the server is out of reach (ChannelDown: connection refused or
    lost, timeouts, SMTP 421) makes a channel down; a refusal that names one recipient (a 451
    greylisting) keeps that reply's own backoff, so it is not hammered. A released reply that
    fails again at once while probes succeed (a message the server drops the connection on)
    waits "strictly": its own backoff, or a recovery after a probe failed meanwhile. So no
    reply is tried more than twice per step of its own backoff. While the server refuses
    our sign-in (SignInRefused), it is probed every health.SLOW_RETRY seconds only: the same
    password would be refused again, and providers lock accounts that fail too often.
    """

    def __init__(
        self, channel: str, probe: Probe | None, tasks: TaskGroup, interval: float
    ) -> None:
        self._channel = channel
        self._probe = probe
        self._tasks = tasks
        self._interval = max(interval, PROBE_BASE)
        self._down_since: float | None = None  # loop time; None while the channel is up
        self._announced = False  # the log said it is down
        self._failed_probes = 0
        self._refused = False  # the last failure was a refused sign-in
        self._waiters: list[_Waiter] = []
        self._probing: asyncio.Task[None] | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, cause: str, *, refused: bool = False) -> None:
        """A send failed because the server is out of reach, or `refused` our sign-in."""
        if self._down_since is None:
            self._down_since = asyncio.get_running_loop().time()
        self._refused = refused
        if not self._announced:
            self._announced = True
            every = health.pace(health.SLOW_RETRY) if refused else f"{self._interval:.0f}s at most"
            how = (
                f"probing it every {every}"
                if self._probe is not None
                else "the next reply that goes through releases them"
            )
            log.warning(
                "channel %s: the server %s (%s); replies wait for it, %s",
                self._channel,
                "refused our sign-in" if refused else "is out of reach",
                cause,
                how,
            )
        self._start_probing()

    def retry_now(self) -> None:
        """The channel took new settings (a fixed password): probe at once, at the fast pace
        again, so the replies waiting go as soon as they can."""
        if self._down_since is None:
            return
        self._refused = False
        probing, self._probing = self._probing, None
        if probing is not None:
            probing.cancel()
        self._start_probing()

    def check(self) -> None:
        """Replies a previous run left waiting: probe now, and if the server answers, they
        go now rather than at their recorded retry time."""
        if self._probe is not None and self._down_since is None:
            self._down_since = asyncio.get_running_loop().time()
            self._start_probing()

    def succeeded(self) -> None:
        """A reply went through: the server is up."""
        if self._down_since is not None:
            self._recovered("a reply went through")

    def hold(self, delay: float, *, strict: bool = False) -> asyncio.Future[bool]:
        """A future that is True once the channel recovers, or False after `delay` seconds.

        Registered before this returns, so a recovery a moment later is not missed. A
        strict waiter (a reply released before that failed again) is released only if a
        probe failed after it began waiting.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        waiter = _Waiter(future, strict, self._failed_probes)
        timer = loop.call_later(delay, _settle, future)
        self._waiters.append(waiter)

        def done(_: asyncio.Future[bool]) -> None:
            timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)

        future.add_done_callback(done)
        return future

    async def wait(self, delay: float, *, strict: bool = False) -> bool:
        """Sleep `delay` seconds or until the channel recovers; True if released early."""
        return await self.hold(delay, strict=strict)

    def _start_probing(self) -> None:
        if self._probe is None or (self._probing is not None and not self._probing.done()):
            return
        self._probing = self._tasks.spawn(self._run_probes(), name=f"probe:{self._channel}")

    async def _run_probes(self) -> None:
        assert self._probe is not None
        loop = asyncio.get_running_loop()
        attempt, reminded = 0, loop.time()
        while self._down_since is not None:
            attempt += 1
            slow = health.SLOW_RETRY if self._refused else 0.0
            await asyncio.sleep(max(slow, backoff(attempt, PROBE_BASE, self._interval)))
            try:
                await self._probe()
            except Exception as exc:
                self._failed_probes += 1
                self._refused = isinstance(exc, SignInRefused)
                log.debug("channel %s: probe failed: %s", self._channel, exc)
                if loop.time() - reminded >= REMIND_EVERY:
                    reminded = loop.time()
                    log.warning(
                        "channel %s: the server is still out of reach after %.0f minutes "
                        "(%s); %d replies wait for it",
                        self._channel,
                        (reminded - (self._down_since or reminded)) / 60,
                        exc,
                        len(self._waiters),
                    )
                continue
            if self._down_since is not None:
                self._probing = None  # this task ends here
                self._recovered("it answers a probe")
            return

    def _recovered(self, how: str) -> None:
        loop = asyncio.get_running_loop()
        since, self._down_since = self._down_since, None
        self._refused = False
        announced, self._announced = self._announced, False
        probing, self._probing = self._probing, None
        if probing is not None and probing is not asyncio.current_task():
            probing.cancel()
        released = [
            w for w in self._waiters if not w.strict or self._failed_probes > w.failed_probes
        ]
        for waiter in released:
            self._waiters.remove(waiter)
            if not waiter.future.done():
                waiter.future.set_result(True)
        if announced or released:
            log.info(
                "channel %s: the server is back (%s) after %.1fs; %d waiting replies go now",
                self._channel,
                how,
                loop.time() - (loop.time() if since is None else since),
                len(released),
            )


def _settle(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(False)
