"""Leases (issue 19): what a lease row means to one instance at a given time. Pure; the
storage takes and renews them, the lease keeper acts on these answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

# The lease of the timers' role: SLA stages, surveys, auto-close and the retention purge fire
# on one instance only (APScheduler's jobs live in one process's memory).
SCHEDULER = "scheduler"
# Each instance also holds a lease of its own, `instance:<id>`: the others see it is there
# (the timers' holder re-arms what a standing-by instance planned) and `status` lists it.
PRESENCE = "instance:"


def presence(instance: str) -> str:
    return PRESENCE + instance


@dataclass(frozen=True)
class Lease:
    """One row of the leases table: who holds the lease (None: released) and until when."""

    name: str
    holder: str | None
    info: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


def intake_lease(kind: str, key: str) -> str:
    """The lease of one exclusive intake: `imap:<channel>/<folder>`, `telegram:<channel>`."""
    return f"{kind}:{key}"


def takeable(lease: Lease | None, me: str, now: datetime) -> bool:
    """Whether `me` may take or renew it now: nobody holds it, it is ours, or its holder let
    it run out (the compare-and-set the storage does in SQL, stated once in Python)."""
    return lease is None or lease.holder in (None, me) or lease.expires_at <= now


def held_by(lease: Lease, now: datetime) -> str | None:
    """Who holds it now; None once released or run out."""
    return lease.holder if lease.holder is not None and lease.expires_at > now else None


def expires_in(lease: Lease, now: datetime) -> timedelta:
    """How long the hold has left (negative: run out that long ago)."""
    return lease.expires_at - now


def machine_of(info: str) -> str | None:
    """The machine key an instance wrote in its info (see orphaned)."""
    _, on, machine = info.rpartition(" on ")
    return machine or None if on else None


def pid_of(holder: str) -> int | None:
    """The process id in an instance id (host:pid:random)."""
    parts = holder.split(":")
    return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None


def orphaned(lease: Lease, machine: str, alive: Callable[[int], bool]) -> bool:
    """Whether the lease's holder is a process of this very machine (same boot, same pid
    namespace: `machine`) that no longer runs: a restart after kill -9 takes its intake back
    at once instead of after the ttl. Only ever True for a dead local process; one of another
    host, or another container, waits out the ttl."""
    if lease.holder is None or machine_of(lease.info) != machine:
        return False
    pid = pid_of(lease.holder)
    return pid is not None and not alive(pid)


def still_ours(renewed: datetime | None, now: datetime, ttl: timedelta, beat: timedelta) -> bool:
    """Fencing: whether a lease last renewed (by an attempt that started) at `renewed` may
    still be worked on at `now`. Its row expires at renewed + ttl; the holder stops one
    heartbeat before that, so its intake is quiet before another instance may take over,
    whatever the database said since (or whether it answered at all)."""
    return renewed is not None and now < renewed + ttl - beat


def fresh(renewed: float | None, now: float, ttl: float, beat: float) -> bool:
    """Whether the work this instance owns (its replies, issue 19) is still nobody else's: its
    presence was last renewed by an attempt that started at `renewed`, and the row cannot run
    out, nor another instance adopt that work, before one heartbeat ahead (as still_ours).
    Seconds on a monotonic clock: a step of the wall clock must not stretch the fence."""
    return renewed is not None and now < renewed + ttl - beat


def may_have_run_out(previous: float, answered: float, ttl: float) -> bool:
    """Whether a presence renewed at `previous` may have run out before the renewal that
    answered at `answered` went through: the others may have adopted its work meanwhile. Only
    an answer within the ttl proves the row never ran out (monotonic seconds, as fresh)."""
    return answered >= previous + ttl


def renew_due(last_try: datetime | None, now: datetime, beat: timedelta) -> bool:
    """Whether the next heartbeat is due: one a beat after the last try."""
    return last_try is None or now >= last_try + beat
