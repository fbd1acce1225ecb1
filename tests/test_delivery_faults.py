"""Delivery through real faults (issue 13): a database that refuses the `sent` record, an SMTP
server that is down for a while, acknowledgements that would come too late."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
import testdb
from harness import (
    SUPPORT,
    db_rows,
    has_cursor,
    running,
    wait_connected,
    wait_until,
    write_config,
    write_telegram_config,
)
from mailfactory import make_mail

from responder.channels.email.channel import EmailChannel
from responder.channels.telegram.bot import TelegramChannel
from responder.channels.telegram.errors import NetworkError
from responder.common.tasks import TaskGroup
from responder.config import EmailChannelConfig, TelegramChannelConfig, load_config
from responder.errors import ChannelDown
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn

HARNESS_DELIVERY = "delivery: {retry_base: 0.2s, retry_cap: 1s, max_attempts: 5}"
STAFF = "ani@toko-contoh.id"
OWNER = "pemilik@toko-contoh.id"


def with_delivery(config: Path, delivery: str) -> Path:
    text = config.read_text()
    assert HARNESS_DELIVERY in text
    config.write_text(text.replace(HARNESS_DELIVERY, f"delivery: {delivery}"))
    return config


def sql(config: Path, *statements: str) -> list[tuple[object, ...]]:
    """Run SQL on the daemon's database from outside, as another process would."""
    return testdb.execute(config.parent / "state" / "responder.db", *statements)


async def states(config: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in await db_rows(config, "replies"):
        found.setdefault(row["state"], []).append(row["kind"])
    return found


# A fault the test switches on and off: every UPDATE of a reply is refused while
# test_fault has a row, as a full disk or a failing one would refuse it.
REFUSE_UPDATES = (
    "CREATE TABLE test_fault (since TEXT)",
    *testdb.refuse(
        "refuse_reply_updates",
        "replies",
        "UPDATE",
        "the disk refused the write (test fault)",
        when="EXISTS (SELECT 1 FROM test_fault)",
    ),
)


async def test_a_refused_sent_record_is_retried_and_the_reply_never_goes_twice(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="responder.services.recorder")
    config = write_config(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        sql(config, *REFUSE_UPDATES, "INSERT INTO test_fault VALUES ('now')")
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))
        await smtp_server.wait_for_async(1, timeout=10)
        await asyncio.sleep(2.0)  # the record is refused over and over meanwhile
        assert sql(config, "SELECT state FROM replies") == [("pending",)]
        sql(config, "DELETE FROM test_fault")  # the admin freed the disk
        await wait_until(lambda: _all(config, "sent"), timeout=15)
        assert len(smtp_server.received) == 1  # not sent again in this run
    async with running(config) as app:  # nor after a restart
        await wait_connected(app)
        await asyncio.sleep(1.0)
    assert len(smtp_server.received) == 1
    refused = [r for r in caplog.records if "could not record" in r.getMessage()]
    assert len(refused) == 1  # once per fault, not once per try
    [recovered] = [r.getMessage() for r in caplog.records if "outcomes after" in r.getMessage()]
    tries = re.search(r"after (\d+) refused tries", recovered)
    assert tries is not None and int(tries.group(1)) >= 3, recovered


async def test_shutdown_waits_for_a_refused_record_within_its_deadline(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        sql(config, *REFUSE_UPDATES, "INSERT INTO test_fault VALUES ('now')")
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))
        await smtp_server.wait_for_async(1, timeout=10)
        await asyncio.sleep(0.5)

        async def freed_later() -> None:
            await asyncio.sleep(1.5)  # while the daemon is stopping
            sql(config, "DELETE FROM test_fault")

        freeing = asyncio.create_task(freed_later())
    # Leaving the block stopped the daemon; the stop waited for the record.
    await freeing
    assert sql(config, "SELECT state FROM replies") == [("sent",)]
    async with running(config) as app:
        await wait_connected(app)
        await asyncio.sleep(1.0)
    assert len(smtp_server.received) == 1


async def test_replies_waiting_for_a_down_smtp_server_go_within_seconds_of_its_return(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    # retry_cap is large: only the release explains replies going right after the outage.
    config = with_delivery(
        write_config(tmp_path, dovecot, smtp_server),
        "{retry_base: 1s, retry_cap: 10m, probe_interval: 1s}",
    )
    customers = [f"customer{n}@example.com" for n in range(5)]
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, make_mail(sender="first@example.com"))
        await smtp_server.wait_for_async(1, timeout=10)  # a kept-alive connection is open
        await asyncio.to_thread(smtp_server.stop)
        for n, customer in enumerate(customers):
            await dovecot.append_async(SUPPORT, make_mail(sender=customer, subject=f"Order {n}"))

        async def all_failed() -> bool:
            rows = await db_rows(config, "replies", state="pending")
            return len(rows) == len(customers) and all(r["attempts"] >= 1 for r in rows)

        await wait_until(all_failed, timeout=15)
        # Twelve seconds down: each reply's own backoff (1s doubling) has grown to 8-16 s.
        await asyncio.sleep(12.0)
        assert len(smtp_server.received) == 1
        await asyncio.to_thread(smtp_server.start)
        back = time.monotonic()
        received = await smtp_server.wait_for_async(1 + len(customers), timeout=15)
        await wait_until(lambda: _all(config, "sent"), timeout=5)
    late = max(r.at for r in received[1:]) - back
    assert late < 5.0, f"the last reply went {late:.1f}s after the server came back"
    assert sorted(r.rcpt_tos[0] for r in received[1:]) == sorted(customers)
    rows = await db_rows(config, "replies")
    assert all(r["state"] == "sent" for r in rows)
    assert all(r["attempts"] >= 3 for r in rows if r["recipient"] in customers)


async def test_after_a_restart_replies_left_waiting_go_once_the_server_answers(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = with_delivery(
        write_config(tmp_path, dovecot, smtp_server), "{retry_base: 30s, retry_cap: 10m}"
    )
    await asyncio.to_thread(smtp_server.stop)
    async with running(config) as app:

        async def reading() -> bool:  # the mailbox open, the SMTP server out of reach
            return app.health()["support-mail"] == "reconnecting" and await has_cursor(config)

        await wait_until(reading)
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))

        async def failed() -> bool:
            return any(r["attempts"] for r in await db_rows(config, "replies"))

        await wait_until(failed, timeout=10)
    [row] = await db_rows(config, "replies")
    assert row["next_attempt_at"] is not None  # its own retry is 15-30 s away
    await asyncio.to_thread(smtp_server.start)
    async with running(config):
        started = time.monotonic()
        [received] = await smtp_server.wait_for_async(1, timeout=10)
    assert received.at - started < 3.0  # the first probe, not the recorded retry time


SLA = f"""\
sla:
  default: quick
  policies:
    - name: quick
      time: calendar
      first_response: 1s
      remind: ["50%"]
      escalate:
        - after: 1s
          email: [{OWNER}]
"""


async def test_an_acknowledgement_too_old_is_not_sent_but_alerts_as_old_are(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = with_delivery(
        write_config(
            tmp_path, dovecot, smtp_server, extra=SLA, channel_extra=f"    staff: [{STAFF}]"
        ),
        "{retry_base: 0.2s, retry_cap: 10m, probe_interval: 1s, ack_max_age: 2s}",
    )
    async with running(config) as app:
        await wait_connected(app)
        await asyncio.to_thread(smtp_server.stop)
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))

        async def waiting() -> bool:
            found = await states(config)
            return "expired" in found and len(found.get("pending", [])) == 3

        # The acknowledgement expires 2 s after it was written; the SLA reminder (0.5 s),
        # breach (1 s) and escalation (2 s) keep waiting for the server.
        await wait_until(waiting, timeout=15)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(smtp_server.start)
        await wait_until(lambda: _kinds_sent(config, 3), timeout=10)
        await asyncio.sleep(0.5)
    assert all("budi@example.com" not in r.rcpt_tos for r in smtp_server.received)
    assert sorted(r.rcpt_tos for r in smtp_server.received) == [(STAFF,), (STAFF,), (OWNER,)]
    rows = await db_rows(config, "replies")
    [ack] = [r for r in rows if r["kind"] == "acknowledgement"]
    assert ack["state"] == "expired" and ack["sent_at"] is None
    assert ack["last_error"] == (
        "not sent: this acknowledgement reply could not go out within delivery.ack_max_age "
        "(2s), so it would come too late"
    )
    alerts = [r for r in rows if r["kind"].startswith("sla_")]
    assert len(alerts) == 3 and all(r["state"] == "sent" for r in alerts)
    # Older than the acknowledgement's limit when they went, and sent all the same.
    assert max(r["sent_at"] - r["created_at"] for r in alerts) > timedelta(seconds=2)
    warned = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "state 'expired'" in r.getMessage()
    ]
    assert len(warned) == 1 and "budi@example.com" in warned[0].getMessage()


async def test_probes_reach_the_smtp_server_and_the_bot_api(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    tasks = TaskGroup()
    [mail] = load_config(write_config(tmp_path, dovecot, smtp_server)).channels
    bot_dir = tmp_path / "bot"
    bot_dir.mkdir()
    [bot] = load_config(write_telegram_config(bot_dir, tg.base_url)).channels
    assert isinstance(mail, EmailChannelConfig) and isinstance(bot, TelegramChannelConfig)
    email, telegram = EmailChannel(mail, tasks), TelegramChannel(bot, tasks)
    try:
        await email.probe()
        await telegram.probe()
        assert smtp_server.received == []  # a probe sends nothing
        assert [c.method for c in tg.calls].count("getMe") >= 1
        smtp_server.stop()
        tg.stop()
        with pytest.raises(ChannelDown, match="cannot reach SMTP server"):
            await email.probe()
        with pytest.raises(NetworkError):
            await telegram.probe()
        smtp_server.start()
        tg.start()
        await email.probe()
        await telegram.probe()
    finally:
        await email.stop()
        await telegram.stop()
        await telegram.stop()
        await tasks.cancel_all()


async def _all(config: Path, state: str) -> bool:
    rows = await db_rows(config, "replies")
    return bool(rows) and all(r["state"] == state for r in rows)


async def _kinds_sent(config: Path, n: int) -> bool:
    return len((await states(config)).get("sent", [])) >= n
