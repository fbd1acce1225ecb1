"""Auto-close and the reopen window by email, through real Dovecot and SMTP with an injected
clock (issue 18 item 5): a ticket that waits on the customer closes itself once, across a
restart, and tells the customer; their reply before that keeps it open; a reply soon after
reopens it, a late one opens a new ticket that names the old."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from harness import SUPPORT, Clock, db_rows, local, running, wait_connected, wait_until
from mailfactory import make_mail
from test_csat_e2e import CUSTOMER, STAFF, setup
from test_report import cell, run_cli

from responder.app.daemon import App
from responder.testing import Dovecot, RecordingSMTPServer

TICKETS = """\
tickets:
  close_after: 3d
  close_time: calendar
  reopen_within: 7d
"""
FIRST = "<order@example.com>"


async def waiting_ticket(app: App, dovecot: Dovecot, config: Path, clock: Clock) -> str:
    """Budi asks, Ani answers (Cc to us): the ticket waits on him. Returns its reference."""
    await wait_connected(app)
    when = clock.now
    await dovecot.append_async(SUPPORT, make_mail(message_id=FIRST), when=when)
    answer = make_mail(
        sender=STAFF,
        to=CUSTOMER,
        subject="Re: Pesanan saya",
        body="Nomor pesanannya berapa, kak?",
        in_reply_to=FIRST,
        headers={"Cc": SUPPORT},
    )
    await dovecot.append_async(SUPPORT, answer, when=when)
    await wait_until(lambda: _timer_is(config, "pending"))
    [ticket] = await db_rows(config, "tickets")
    return str(ticket["ref"])


async def _timer_is(config: Path, state: str) -> bool:
    rows = [t for t in await db_rows(config, "timers") if t["clock"] == "close"]
    return len(rows) == 1 and rows[0]["state"] == state


def to_customer(smtp: RecordingSMTPServer) -> list[EmailMessage]:
    return [r.message for r in smtp.received if r.rcpt_tos == (CUSTOMER,)]


async def customer_writes(dovecot: Dovecot, clock: Clock, subject: str, body: str) -> None:
    mail = make_mail(subject=subject, body=body, in_reply_to=FIRST, references=FIRST)
    await dovecot.append_async(SUPPORT, mail, when=clock.now)


async def test_a_waiting_ticket_closes_itself_once_after_a_restart_and_tells_the_customer(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = setup(tmp_path, dovecot, smtp_server, extra=TICKETS)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        ref = await waiting_ticket(app, dovecot, config, clock)
    [timer] = [t for t in await db_rows(config, "timers") if t["clock"] == "close"]
    assert timer["due_at"] == local(2030, 1, 10, 10, 0)
    # The daemon was down meanwhile; it starts again just before, then at, the due time.
    clock.now = local(2030, 1, 10, 9, 59)
    async with running(config, clock=clock) as app:
        assert app.closing is not None
        await app.closing.run_due()
        assert [t["status"] for t in await db_rows(config, "tickets")] == ["open"]
        clock.now = local(2030, 1, 10, 10, 0)
        await app.closing.run_due()
        await app.closing.run_due()  # fires once
        await smtp_server.wait_for_async(2, timeout=5)
        await asyncio.sleep(0.3)
    [ticket] = await db_rows(config, "tickets")
    assert (ticket["status"], ticket["resolved_at"]) == ("resolved", local(2030, 1, 10, 10, 0))
    closed = [e for e in await db_rows(config, "ticket_events") if e["kind"] == "closed"]
    assert [(e["actor"], e["detail"]) for e in closed] == [
        ("auto-close", "waited on the customer 3 days")
    ]
    assert await _timer_is(config, "done")
    ack, told = to_customer(smtp_server)
    assert ack["Auto-Submitted"] == "auto-replied"  # the acknowledgement, then the close
    assert told["In-Reply-To"] == FIRST and f"[#{ref}]" in told["Subject"]
    assert told["Auto-Submitted"] == "auto-generated"
    text = told.get_body(("plain",)).get_content()
    assert f"Kami belum menerima kabar dari Anda tentang permintaan {ref}" in text
    # The report tells it apart from a ticket staff closed.
    period = ["--since", "2030-01-01", "--until", "2030-02-01"]
    code, out, err = await asyncio.to_thread(run_cli, capsys, "-c", str(config), *period)
    assert code == 0, err
    assert cell(out, "Closed automatically") == "1"
    assert cell(out, "Closed automatically", 2).startswith("1 of 1 resolved")


async def test_a_customer_reply_before_the_close_keeps_the_ticket_open(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server, extra=TICKETS)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        await waiting_ticket(app, dovecot, config, clock)
        clock.now = local(2030, 1, 9, 16, 0)
        await customer_writes(dovecot, clock, "Re: Pesanan saya", "Nomornya 12345")
        await wait_until(lambda: _timer_is(config, "stopped"))
        clock.now = local(2030, 1, 12, 10, 0)
        assert app.closing is not None
        await app.closing.run_due()
    assert [t["status"] for t in await db_rows(config, "tickets")] == ["open"]
    assert len(to_customer(smtp_server)) == 1  # the acknowledgement only


async def closed_ticket(
    app: App, dovecot: Dovecot, smtp: RecordingSMTPServer, config: Path, clock: Clock
) -> str:
    ref = await waiting_ticket(app, dovecot, config, clock)
    clock.now = local(2030, 1, 10, 10, 0)
    assert app.closing is not None
    await app.closing.run_due()
    await smtp.wait_for_async(2, timeout=5)
    return ref


async def test_a_reply_within_the_window_reopens_the_same_ticket(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server, extra=TICKETS)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        ref = await closed_ticket(app, dovecot, smtp_server, config, clock)
        clock.now = local(2030, 1, 16, 9, 0)  # 6 days 23 hours later
        await customer_writes(dovecot, clock, f"Re: Pesanan saya [#{ref}]", "Belum sampai juga")

        async def reopened() -> bool:
            return [t["status"] for t in await db_rows(config, "tickets")] == ["open"]

        await wait_until(reopened)
        await asyncio.sleep(0.3)
    kinds = [e["kind"] for e in await db_rows(config, "ticket_events")]
    assert kinds[-2:] == ["customer_reply", "reopened"]
    assert len(to_customer(smtp_server)) == 2  # no new acknowledgement: the same ticket
    # The last word is the customer's: nothing waits to close.
    assert await _timer_is(config, "done")


async def test_a_reply_after_the_window_opens_a_new_ticket_that_names_the_old(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server, extra=TICKETS)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        old = await closed_ticket(app, dovecot, smtp_server, config, clock)
        clock.now = local(2030, 1, 17, 10, 1)  # 7 days and a minute later
        await customer_writes(dovecot, clock, f"Re: Pesanan saya [#{old}]", "Ada masalah lagi")
        await smtp_server.wait_for_async(3, timeout=5)
        # Another mail in the old thread joins the new ticket: not yet another one.
        await customer_writes(dovecot, clock, f"Re: Pesanan saya [#{old}]", "Fotonya terlampir")

        async def joined() -> bool:
            return [i["outcome"] for i in await db_rows(config, "inbound")][-1] == "follow-up"

        await wait_until(joined)
    old_ticket, new_ticket = await db_rows(config, "tickets")
    assert (old_ticket["ref"], old_ticket["status"]) == (old, "resolved")
    assert new_ticket["status"] == "open" and new_ticket["customer"] == CUSTOMER
    follows = [e for e in await db_rows(config, "ticket_events") if e["kind"] == "follows_up"]
    assert [(e["ticket_id"], e["detail"]) for e in follows] == [(new_ticket["id"], old)]
    ack = to_customer(smtp_server)[-1]
    assert f"[#{new_ticket['ref']}]" in ack["Subject"] and len(to_customer(smtp_server)) == 3
    last = (await db_rows(config, "inbound"))[-1]
    assert last["ticket_id"] == new_ticket["id"]
    assert timedelta(0) < new_ticket["created_at"] - old_ticket["resolved_at"]


async def test_on_real_time_the_scheduler_closes_the_ticket_when_due(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    extra = "tickets:\n  close_after: 2s\n  close_time: calendar\n"
    config = setup(tmp_path, dovecot, smtp_server, extra=extra)
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, make_mail(message_id=FIRST))
        answer = make_mail(
            sender=STAFF,
            to=CUSTOMER,
            subject="Re: Pesanan saya",
            body="Sudah kami kirim, kak.",
            in_reply_to=FIRST,
            headers={"Cc": SUPPORT},
        )
        await dovecot.append_async(SUPPORT, answer)
        await wait_until(lambda: _timer_is(config, "pending"))
        [timer] = [t for t in await db_rows(config, "timers") if t["clock"] == "close"]
        await smtp_server.wait_for_async(2, timeout=8)
        closed_at = smtp_server.received[-1].wall
    [ticket] = await db_rows(config, "tickets")
    assert ticket["status"] == "resolved"
    assert timer["due_at"].timestamp() - 0.05 <= closed_at <= timer["due_at"].timestamp() + 1.5
