"""The soak (issue 13): a stream of mail through kill -9, a full disk and SMTP outages.

2,000 customers write over 10 minutes to a real daemon process, while the SMTP server is down
twice for 5 minutes, the disk holding the database is full twice for 10 s and the daemon is
killed with SIGKILL twice and started again. Every customer must be acknowledged exactly
once, and none later than 60 s after the last fault cleared. RESPONDER_SOAK_SECONDS shortens
the whole schedule in proportion for a quick run by hand; CI runs it at full length.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest
from diskfull import SmallDisk
from harness import SUPPORT, DaemonProcess, has_cursor, wait_until, write_config
from mailfactory import make_mail

from responder.testing import Dovecot, RecordingSMTPServer

LENGTH = float(os.environ.get("RESPONDER_SOAK_SECONDS", "600"))
CUSTOMERS = 2000
SETTLE = 60.0  # the promise: every acknowledgement within this after the last fault


def at(fraction_of_ten_minutes: float) -> float:
    """A moment of the schedule, written for ten minutes and scaled to LENGTH."""
    return fraction_of_ten_minutes / 600.0 * LENGTH


# (start, end) in seconds of the ten-minute schedule.
SMTP_DOWN = [(at(45), at(345)), (at(390), at(690))]
DISK_FULL = [(at(150), at(160)), (at(470), at(480))]
KILLS = [at(250), at(540)]


@pytest.mark.sqlite_only(
    "its full disk is the one holding SQLite's file; on PostgreSQL the server's disk is not "
    "the daemon's (kill -9 on PostgreSQL: test_failover.py, test_claims_e2e.py)"
)
async def test_soak_every_customer_acknowledged_exactly_once(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    # The shipped retry settings, not the tests' quick ones: recovery must not depend on them.
    config = write_config(tmp_path, dovecot, smtp_server)
    text = config.read_text().replace(
        "delivery: {retry_base: 0.2s, retry_cap: 1s, max_attempts: 5}\n", ""
    )
    config.write_text(text)
    with SmallDisk(tmp_path / "state", size_mb=256) as disk:
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        daemon.start()
        try:
            await wait_until(lambda: has_cursor(config), timeout=30)
            last_clear = await _run_schedule(dovecot, smtp_server, disk, daemon)
            deadline = last_clear + SETTLE
            with contextlib.suppress(TimeoutError):
                await smtp_server.wait_for_async(CUSTOMERS, max(deadline - time.monotonic(), 1))
            settled_in = time.monotonic() - last_clear
            await asyncio.sleep(3.0)  # a late duplicate would show here
        finally:
            disk.free()
            daemon.terminate()
    got = Counter(r for m in smtp_server.received for r in m.rcpt_tos)
    expected = {f"soak{n}@example.com" for n in range(CUSTOMERS)}
    missing = expected - set(got)
    doubled = {r: n for r, n in got.items() if n > 1}
    print(f"soak: {sum(got.values())} acknowledgements, last {settled_in:.1f}s after the faults")
    assert not missing, f"{len(missing)} never acknowledged, e.g. {sorted(missing)[:5]}"
    assert not doubled, f"{len(doubled)} acknowledged twice, e.g. {list(doubled.items())[:5]}"
    assert set(got) == expected
    assert settled_in <= SETTLE
    log = (tmp_path / "daemon.log").read_text()
    assert "database or disk is full" in log, "the full disk did not reach the daemon"


async def _run_schedule(
    dovecot: Dovecot, smtp: RecordingSMTPServer, disk: SmallDisk, daemon: DaemonProcess
) -> float:
    """Deliver the mail at an even pace and apply the faults on time; returns the monotonic
    time at which the last fault cleared."""
    events: list[tuple[float, str]] = [(start, "smtp down") for start, _ in SMTP_DOWN]
    events += [(end, "smtp up") for _, end in SMTP_DOWN]
    events += [(start, "disk full") for start, _ in DISK_FULL]
    events += [(end, "disk freed") for _, end in DISK_FULL]
    events += [(when, "kill -9") for when in KILLS]
    events.sort()
    began = time.monotonic()
    pace = LENGTH / CUSTOMERS
    sent = 0
    last_clear = began
    while sent < CUSTOMERS or events:
        now = time.monotonic() - began
        while events and events[0][0] <= now:
            _, what = events.pop(0)
            print(f"soak: {now:6.1f}s {what} ({sent} mails in)")
            if what == "smtp down":
                await asyncio.to_thread(smtp.stop)
            elif what == "smtp up":
                await asyncio.to_thread(smtp.start)
            elif what == "disk full":
                await asyncio.to_thread(_fill, disk)
            elif what == "disk freed":
                disk.free()
            else:
                await asyncio.to_thread(daemon.kill9)
                daemon.start()
            last_clear = time.monotonic()
        if sent < CUSTOMERS and sent * pace <= now:
            await dovecot.append_async(SUPPORT, make_mail(sender=f"soak{sent}@example.com"))
            sent += 1
            continue
        await asyncio.sleep(0.02)
    return last_clear


def _fill(disk: SmallDisk) -> None:
    """Fill the disk after a truncating checkpoint (as `sqlite3 DB 'PRAGMA
    wal_checkpoint(TRUNCATE)'` or a backup tool does), so the daemon's very next write needs
    space: otherwise SQLite may keep writing into WAL space it already has for a while."""
    with contextlib.closing(sqlite3.connect(disk.path / "responder.db", timeout=10)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    disk.fill()
