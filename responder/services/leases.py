"""The lease keeper (issue 19): takes and renews this instance's leases every heartbeat on a
named task, tells each lease's owner at once when it is gained or lost, and releases them at a
clean stop."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from responder import __version__
from responder.common.tasks import TaskGroup, cancel
from responder.core.leases import PRESENCE, Lease, held_by, orphaned, presence, still_ours
from responder.errors import log_fault
from responder.services.presence import Presence
from responder.storage import leases
from responder.storage.store import Store

log = logging.getLogger(__name__)

# Told a lease's name and whether this instance now holds it; starts or stops what it guards.
OnChange = Callable[[str, bool], Awaitable[None]]


@dataclass(frozen=True)
class Instance:
    """This process among the instances sharing the database: `id` goes in the leases' holder
    column (host, pid and a random part, as a restarted process may get the same pid)."""

    id: str
    info: str
    machine: str  # this boot of this machine, in this pid namespace (core.leases.orphaned)

    @classmethod
    def this_process(cls) -> Instance:
        host, pid = socket.gethostname(), os.getpid()
        machine = _machine(host)
        info = f"{host} pid {pid} v{__version__} on {machine}"
        return cls(f"{host}:{pid}:{secrets.token_hex(3)}", info, machine)


def _machine(host: str) -> str:
    """This boot of this machine, in our pid namespace: two processes that share all three see
    each other's pids (containers on one host share the machine and boot, not the namespace).

    Not the kernel's boot_id: the unit's ProcSubset=pid hides /proc/sys. The machine id and
    the boot instant (to 10 s) say the same; a key that differs only makes another instance
    wait out the ttl, never take a live one's lease. VPSes cloned from one image can share a
    machine id (and the first pid namespace's number is the same everywhere), so the host name
    is part of the key too; an empty machine id is no key at all."""
    try:
        with open("/etc/machine-id", encoding="ascii") as f:
            machine_id = f.read().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        machine_id = ""
    if not machine_id:
        return f"unknown-{secrets.token_hex(4)}"  # never matches: others wait out the ttl
    booted = round((time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)) / 10)
    return f"{host}/{machine_id}/{booted}/{namespace}"


def alive(pid: int) -> bool:
    """Whether a process of that id runs here (os.kill with signal 0 only checks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, as another user's
    return True


async def _present(name: str, held: bool) -> None:
    """An instance's presence row guards nothing."""


class LeaseKeeper:
    """Holds the leases asked for with want(): every heartbeat, one transaction takes those
    free or run out and renews those held. A lease is lost when the renewal says another
    instance has it, or when no renewal has gone through for nearly the ttl (the database out
    of reach): its owner is told to stop at once, as standing by costs a few seconds while
    double polling would answer customers twice (fencing)."""

    def __init__(
        self,
        store: Store,
        instance: Instance,
        ttl: timedelta,
        beat: timedelta,
        clock: Callable[[], datetime],
        tasks: TaskGroup,
    ) -> None:
        self.instance = instance
        self.ttl, self.beat = ttl, beat
        self._store, self._clock, self._tasks = store, clock, tasks
        self._owners: dict[str, OnChange] = {}
        self._renewed: dict[str, datetime] = {}  # held: when its last renewal was tried
        self._task: asyncio.Task[None] | None = None
        self._unreachable = False
        self.rows: list[Lease] = []  # as read at the last beat
        # Whether the replies this instance owns may still be sent (services.outbox_fence).
        self.presence = Presence(ttl, beat)
        self.want(presence(instance.id), _present)

    def want(self, name: str, owner: OnChange) -> None:
        """Hold `name` whenever it is free; `owner` hears each gain and loss."""
        self._owners[name] = owner

    @property
    def held(self) -> tuple[str, ...]:
        """The leases held, its presence row aside."""
        return tuple(n for n in sorted(self._renewed) if not n.startswith(PRESENCE))

    def start(self) -> None:
        log.info("instance %s (%s)", self.instance.id, self.instance.info)
        self._task = self._tasks.spawn(self._run(), name="leases:heartbeat")

    async def _run(self) -> None:
        while True:
            try:
                await self.heartbeat()
            except Exception:
                log.exception("lease heartbeat failed")
            await asyncio.sleep(self.beat.total_seconds())

    async def heartbeat(self) -> None:
        """One beat: claim every lease wanted, then tell owners what changed."""
        if not self._owners:
            return
        tried, started = self._clock(), self.presence.now()
        me = self.instance
        dead = await self._dead()
        claim = self._store.run_urgent(
            leases.claim, list(self._owners), me.id, me.info, tried, self.ttl, dead
        )
        try:
            # No longer than half a beat: a database that hangs must not keep us from
            # noticing the hold run out (the next beat's still_ours below).
            # asyncio.timeout, not wait_for: 3.11's wait_for loses a cancellation that
            # comes as the claim is answered (CPython gh-86296), and the stop waited on
            # this loop for ever (common.tasks.cancel).
            async with asyncio.timeout(self.beat.total_seconds() / 2):
                held: set[str] | None = await claim
        except Exception as exc:
            held = None
            if not self._unreachable:
                if isinstance(exc, TimeoutError):
                    log.warning("cannot renew the leases: the database did not answer in time")
                else:
                    log_fault(log, exc, "cannot renew the leases; intake stops if this lasts")
            self._unreachable = True
        else:
            if self._unreachable:
                log.info("the leases can be renewed again")
            self._unreachable = False
        if held is None:
            now = self._clock()
            lost = {n for n, at in self._renewed.items() if not still_ours(at, now, *self._span)}
            gained: set[str] = set()
        else:
            if presence(me.id) in held:
                self.presence.renewed_by(started)
            lost = set(self._renewed) - held
            gained = held - set(self._renewed)
            self._renewed.update(dict.fromkeys(held, tried))
        for name in sorted(lost):
            del self._renewed[name]
            if not name.startswith(PRESENCE):
                log.warning("lease %s lost: standing by (another instance may take it)", name)
            await self._tell(name, False)
        for name in sorted(gained):
            if not name.startswith(PRESENCE):
                log.info("lease %s taken: this instance now runs it", name)
            await self._tell(name, True)

    async def announce(self) -> None:
        """Write this instance's presence row, and read the others', before it records or
        plans anything: until its row is there, what it owns looks orphaned to the other
        instances (storage.claims)."""
        me = self.instance
        now, started = self._clock(), self.presence.now()
        self.rows = await self._store.run_urgent(leases.leases)
        held = await self._store.run_urgent(
            leases.claim, [presence(me.id)], me.id, me.info, now, self.ttl
        )
        self._renewed.update(dict.fromkeys(held, now))
        if held:
            self.presence.renewed_by(started)

    def gone(self) -> set[str]:
        """Instances whose presence row was still there at the last beat but whose process,
        one of this machine's, no longer runs (a kill -9 then a restart): what they owned is
        taken at once rather than once their row runs out (storage.claims)."""
        machine, me = self.instance.machine, self.instance.id
        return {
            r.holder
            for r in self.rows
            if r.holder is not None
            and r.holder != me
            and r.name.startswith(PRESENCE)
            and orphaned(r, machine, alive)
        }

    async def _dead(self) -> set[str]:
        """Read the leases (kept for /healthz and the timers' refresh); the holders of those
        we want that are dead processes of this machine."""
        try:
            async with asyncio.timeout(self.beat.total_seconds() / 2):
                self.rows = await self._store.run_urgent(leases.leases)
        except Exception:
            return set()  # the claim that follows says what is wrong
        machine = self.instance.machine
        return {
            r.holder
            for r in self.rows
            if r.holder is not None and r.name in self._owners and orphaned(r, machine, alive)
        }

    def others(self) -> bool:
        """Whether another instance was there at the last beat (one instance alone needs no
        refresh of what the others planned)."""
        now = self._clock()
        return any(held_by(r, now) not in (None, self.instance.id) for r in self.rows)

    def holding(self) -> dict[str, bool]:
        """Every lease wanted, and whether this instance holds it (for /metrics, /healthz);
        its presence row aside."""
        return {n: n in self._renewed for n in sorted(self._owners) if not n.startswith(PRESENCE)}

    @property
    def _span(self) -> tuple[timedelta, timedelta]:
        return self.ttl, self.beat

    async def _tell(self, name: str, held: bool) -> None:
        try:
            await self._owners[name](name, held)
        except Exception:
            log.exception(
                "lease %s: could not %s what it guards", name, "start" if held else "stop"
            )

    async def halt(self) -> None:
        """Stop renewing (the daemon stops): nothing is started or stopped any more."""
        task, self._task = self._task, None
        if task is not None:
            await cancel([task])

    async def stopping(self) -> None:
        """As halt(), but this instance's presence is still renewed until release(): the
        replies it still sends and the messages it still decides while it stops stay its own
        (storage.claims), not taken and sent a second time by another instance."""
        await self.halt()
        if presence(self.instance.id) in self._renewed:
            self._task = self._tasks.spawn(self._stay(), name="leases:presence")

    async def _stay(self) -> None:
        me = self.instance
        while True:
            now, started = self._clock(), self.presence.now()
            try:
                async with asyncio.timeout(self.beat.total_seconds() / 2):
                    held = await self._store.run_urgent(
                        leases.claim, [presence(me.id)], me.id, me.info, now, self.ttl
                    )
            except Exception:
                log.debug("presence not renewed", exc_info=True)
            else:
                if held:
                    self.presence.renewed_by(started)
            await asyncio.sleep(self.beat.total_seconds())

    async def hand_over(self) -> None:
        """Release the leases that guard something, its presence aside: another instance
        takes intake and the timers over at its next heartbeat rather than after the ttl.
        Call once what they guard has stopped."""
        held = [n for n in self._renewed if not n.startswith(PRESENCE)]
        for name in held:
            del self._renewed[name]
        await self._release(held)

    async def release(self) -> None:
        """Release what is held, its presence too, so another instance takes over at its next
        heartbeat rather than after the ttl. Call once what the leases guard has stopped, and
        the replies this instance sends are sent or recorded as waiting."""
        await self.halt()
        self.presence.released()  # nothing more is sent as this instance's
        held, self._renewed = list(self._renewed), {}
        if held:
            await self._release([*held, presence(self.instance.id)])

    async def _release(self, names: list[str]) -> None:
        if not names:
            return
        try:
            await self._store.run_urgent(leases.release, names, self.instance.id, self._clock())
        except Exception as exc:
            log_fault(log, exc, "could not release the leases; they run out after the ttl")
        else:
            if shown := sorted(n for n in names if not n.startswith(PRESENCE)):
                log.info("leases released: %s", ", ".join(shown))

    async def table(self) -> list[Lease]:
        """Every lease row, for status."""
        return await self._store.run(leases.leases)
