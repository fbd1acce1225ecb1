"""A clean stop within its deadline (systemd/responder.service: TimeoutStopSec=30s): a
standby instance SIGTERMed while another program holds a lock on the shared database, and
one SIGTERMed while its start waits on that lock, stop within STOP_WITHIN seconds, on SQLite
and on PostgreSQL, instead of waiting on every write (in CI a standby's stop once hung past
20 s); and a stop that comes as a heartbeat is answered ends at once."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Awaitable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import testdb
from sqlalchemy import create_engine, text

from responder.common.tasks import TaskGroup
from responder.services.leases import Instance, LeaseKeeper
from responder.storage.store import Store, utcnow
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn
from tests.harness import DaemonProcess, wait_until
from tests.test_failover import instance_of
from tests.test_leases_e2e import config_for, holders, present

# A standby has no queued work to wait for: its stop is the phases around it (app.shutdown),
# the database's bounded to one PHASE and LEASTs. Before the fix it took 7.5-8 s here.
STOP_WITHIN = 5.0


@contextlib.contextmanager
def database_locked(path: Path) -> Iterator[None]:
    """Another program holds the write lock (SQLite) or a lock on the leases table
    (PostgreSQL) until the block ends: every write the daemon tries waits for it."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        if testdb.ON_POSTGRESQL:
            engine = create_engine(testdb.sync_url(path))
            with engine.connect() as conn, conn.begin():
                conn.execute(text("LOCK TABLE leases IN ACCESS EXCLUSIVE MODE"))
                taken.set()
                done.wait(60)
            engine.dispose()
        else:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            taken.set()
            done.wait(60)
            conn.execute("ROLLBACK")
            conn.close()

    holder = threading.Thread(target=hold, name="lock-holder")
    holder.start()
    try:
        assert taken.wait(30)
        yield
    finally:
        done.set()
        holder.join()


def stop_time(daemon: DaemonProcess) -> float:
    """Seconds from SIGTERM until the process has exited (at most 40)."""
    began = time.monotonic()
    with contextlib.suppress(Exception):
        daemon.terminate()
    assert daemon.proc is not None
    if daemon.proc.poll() is None:
        with contextlib.suppress(Exception):
            daemon.proc.wait(20)
    return time.monotonic() - began


async def test_a_standby_stops_within_its_deadline_while_the_database_is_locked(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    config = config_for(tmp_path, dovecot, smtp_server, tg, ttl=3.0, beat=1.0)
    daemons = [
        DaemonProcess(config, tmp_path / f"daemon{n}.log", own_machine=True) for n in range(3)
    ]
    late = daemons.pop()

    def both_there() -> Awaitable[bool]:
        return present(config, 2)

    try:
        for daemon in daemons:
            daemon.start()
        await wait_until(both_there, timeout=30)
        holder = (await holders(config))["imap:support-mail"]
        (standby,) = [d for d in daemons if instance_of(d) != holder]
        with database_locked(config.parent / "state" / "responder.db"):
            late.start()  # a third instance, still starting: its start waits on the lock
            await asyncio.sleep(3.0)  # the standby's heartbeats wait on it meanwhile
            took = await asyncio.to_thread(stop_time, standby)
            took_starting = await asyncio.to_thread(stop_time, late)
    finally:
        stopped = [daemon.shut_down() for daemon in [*daemons, late]]
    print(f"stopped {took:.1f}s and {took_starting:.1f}s after SIGTERM; on SIGTERM: {stopped}")
    assert took < STOP_WITHIN, standby.log_path.read_text()
    assert "responder stopped" in standby.log_path.read_text()
    assert took_starting < STOP_WITHIN, late.log_path.read_text()


async def test_a_stop_that_comes_as_the_heartbeat_is_answered_ends_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The race behind the hang: SIGTERM handled in the loop iteration in which a lease
    heartbeat's database answer lands. Python 3.11's asyncio.wait_for then returned the
    answer and dropped the cancellation, the heartbeat loop went on, and the stop waited for
    it for ever. Made certain here: the answer waits on the lock, lands while the loop is
    held, and the stop is asked for in the next iteration."""
    path = tmp_path / "responder.db"
    store = Store(testdb.url(path))
    await store.open()
    tasks = TaskGroup()
    # A long beat: the heartbeat's half-beat timeout must not end the wait first.
    beat, ttl = timedelta(seconds=10), timedelta(seconds=30)
    keeper = LeaseKeeper(store, Instance("me", "me", "me"), ttl, beat, utcnow, tasks)
    try:
        with database_locked(path):
            keeper.start()
            await asyncio.sleep(0.5)  # its first beat waits on the lock
        time.sleep(0.5)  # noqa: ASYNC251 - the answer lands while the loop is held
        await asyncio.sleep(0)  # the answer is taken in; the stop comes right after
        began = time.monotonic()
        async with asyncio.timeout(10):
            await keeper.halt()
        took = time.monotonic() - began
    finally:
        await tasks.cancel_all()
        await store.close()
    assert took < 1.0, took
    assert "did not end" not in caplog.text
