"""Database faults while deciding: a full disk, a refusing database, a poison message (issue 13)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import testdb
from diskfull import SmallDisk
from harness import SUPPORT, db_rows, running, wait_connected, wait_until, write_config
from mailfactory import make_mail

from responder.errors import StorageUnavailable, TransientError
from responder.services.dispatch_retry import Retries
from responder.testing import Dovecot, RecordingSMTPServer


@pytest.mark.sqlite_only("fills the disk SQLite's file is on")
async def test_a_full_disk_for_seconds_delays_answers_but_loses_none_and_needs_no_restart(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    customers = [f"pelanggan{n}@example.com" for n in range(7)]
    with SmallDisk(tmp_path / "state", size_mb=32) as disk:
        async with running(config) as app:
            await wait_connected(app)
            await dovecot.append_async(SUPPORT, make_mail(sender="first@example.com"))
            await smtp_server.wait_for_async(1, timeout=10)
            disk.fill()
            for sender in customers:
                await dovecot.append_async(SUPPORT, make_mail(sender=sender))
                await asyncio.sleep(0.3)
            await asyncio.sleep(1.0)
            disk.free()
            freed = time.monotonic()
            await smtp_server.wait_for_async(1 + len(customers), timeout=40)
            answered_after = time.monotonic() - freed
            await asyncio.sleep(1.0)  # nothing more may come
    got = Counter(r for m in smtp_server.received for r in m.rcpt_tos)
    assert got == Counter(["first@example.com", *customers])
    assert answered_after < 30
    faults = [
        r.getMessage() for r in caplog.records if "database or disk is full" in r.getMessage()
    ]
    assert faults, "the fault is named in the log"
    # One line per fault, naming the cause and the file: no traceback, no "IMAP trouble".
    assert all(str(tmp_path / "state") in line for line in faults)
    assert not any(
        r.exc_info for r in caplog.records if r.levelno >= logging.WARNING and "full" in r.message
    )
    assert not any("IMAP server" in line for line in faults)


POISON = "racun@example.com"


def _refuse_tickets_for(db: Path, customer: str) -> None:
    """A database that refuses one customer's ticket: a trigger, as a DBA might leave."""
    when = f"NEW.customer = '{customer}'"
    testdb.execute(db, *testdb.refuse("refuse", "tickets", "INSERT", REFUSED, when=when))


REFUSED = "refused by the test trigger"


async def test_a_message_that_cannot_be_recorded_never_blocks_others_and_shows_in_status(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    db = tmp_path / "state" / "responder.db"
    async with running(config) as app:
        assert app.dispatcher is not None
        app.dispatcher.retries = Retries(passing=(0.2, 1.0), bug=(0.3, 1.0))
        await wait_connected(app)
        await asyncio.to_thread(_refuse_tickets_for, db, POISON)
        await dovecot.append_async(SUPPORT, make_mail(sender=POISON))
        for n in range(3):
            await dovecot.append_async(SUPPORT, make_mail(sender=f"budi{n}@example.com"))
        await smtp_server.wait_for_async(3, timeout=10)

        async def reported() -> bool:
            rows = await db_rows(config, "inbound", state="new")
            return bool(rows) and rows[0]["attempts"] >= 3

        await wait_until(reported, timeout=15)
        status = await asyncio.to_thread(_status, config)
        assert "1 failing" in status and "refused by the test trigger" in status
        await asyncio.to_thread(testdb.execute, db, *testdb.allow("refuse", "tickets"))
        received = await smtp_server.wait_for_async(4, timeout=10)
    assert Counter(r for m in received for r in m.rcpt_tos)[POISON] == 1
    assert await db_rows(config, "inbound", state="new") == []


def _status(config_path: Path) -> str:
    """`responder status`, as the admin runs it beside the daemon."""
    testdb.for_child(config_path)
    done = subprocess.run(
        [sys.executable, "-m", "responder.cli", "status", "-c", str(config_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.mark.sqlite_only("the folder of SQLite's file is read-only")
async def test_a_read_only_state_dir_is_named_with_its_path_and_a_hint(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    with SmallDisk(tmp_path / "state", size_mb=1, read_only=True):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "responder.cli", "run", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "database" in line]
    assert lines, done.stderr
    assert str(tmp_path / "state" / "responder.db") in lines[0]
    assert "is not writable by this user" in lines[0]
    assert "Traceback" not in done.stderr


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("error", "first_wait_at_most", "tenth_wait_at_most"),
    [
        (StorageUnavailable("database x: database or disk is full"), 1.0, 30.0),
        (TransientError("no answer"), 1.0, 30.0),
        (KeyError("a bug"), 5.0, 900.0),
    ],
)
def test_retries_wait_by_the_class_of_fault(
    error: Exception, first_wait_at_most: float, tenth_wait_at_most: float
) -> None:
    retries = Retries(clock=FakeClock())
    delay, report = retries.failed([7], error)
    assert first_wait_at_most / 2 <= delay <= first_wait_at_most and report == []
    for _ in range(9):
        delay, report = retries.failed([7], error)
    assert tenth_wait_at_most / 2 <= delay <= tenth_wait_at_most
    assert report[0].attempts == 10 and type(error).__name__ in report[0].error


def test_due_messages_come_oldest_first_once_and_leave_when_settled() -> None:
    clock = FakeClock()
    retries = Retries(clock=clock, passing=(1.0, 1.0))
    retries.failed([9, 3], StorageUnavailable("full"))
    assert retries.due() == [] and 0.5 <= (retries.wait() or 0) <= 1.0
    clock.now += 1.0
    assert retries.due() == [3, 9]
    assert retries.due() == [] and retries.wait() is None  # in flight: not handed out twice
    retries.failed([9], StorageUnavailable("full"))  # 9 failed again, 3 went through
    retries.settled([3, 9])
    assert len(retries) == 1 and retries.attempts(9) == 2 and retries.attempts(3) == 0
