"""/merge end to end (issue 18 item 4), through real Dovecot, SMTP and the Bot API stand-in
with an injected clock: a customer mails twice, staff merge the second ticket into the first
from the staff group; then one ticket holds both messages, an answer to the duplicate's post
reaches the customer on the old ticket's reference, the SLA clock counts from the message
nobody answered, one survey goes at the end, and the report counts one conversation."""

from __future__ import annotations

import asyncio
import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from harness import (
    STAFF_GROUP,
    SUPPORT,
    Clock,
    add_staff_bot,
    db_rows,
    local,
    running,
    shown,
    staff_answer,
    wait_connected,
    wait_sent,
    wait_until,
    write_config,
)
from mailfactory import make_mail
from test_report import cell

from responder.cli import main
from responder.core.settings import CSAT_SURVEY
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn

CUSTOMER = "budi@example.com"
POLICIES = """\
sla:
  default: quick
  policies:
    - name: quick
      time: calendar
      first_response: 1h
      remind: ["50%"]
csat:
  after_resolved: 1h
  send_between: "09:00-20:00"
  once_per: 30d
"""
FAST = "    limits: {group_per_minute: 1000, per_chat_interval: 50ms}\n"


def to_customer(smtp: RecordingSMTPServer) -> list[EmailMessage]:
    return [r.message for r in smtp.received if r.rcpt_tos == (CUSTOMER,)]


async def cli(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    capsys.readouterr()
    assert await asyncio.to_thread(main, list(words)) == 0
    return capsys.readouterr().out


async def _tickets(config: Path, n: int) -> bool:
    return len(await db_rows(config, "tickets")) == n


async def test_staff_merge_a_second_mail_into_the_first_ticket(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server, extra=POLICIES)
    add_staff_bot(config, tmp_path, tg, FAST)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        assert app.surveys is not None
        await wait_connected(app)
        first = make_mail(sender=CUSTOMER, subject="Pesanan saya", message_id="<m1@example.com>")
        await dovecot.append_async(SUPPORT, first, when=clock.now)
        [old_post] = await wait_sent(tg, STAFF_GROUP, 1)
        clock.now = local(2030, 1, 7, 10, 10)
        await staff_answer(tg, old_post, "Sudah kami kirim hari ini, kak.")
        await smtp_server.wait_for_async(2, timeout=10)  # the acknowledgement, the answer
        # Twenty minutes later the customer writes again, as a new mail: a second ticket.
        clock.now = local(2030, 1, 7, 10, 30)
        again = make_mail(
            sender=CUSTOMER, subject="Ongkir ke Bandung?", message_id="<m2@example.com>"
        )
        await dovecot.append_async(SUPPORT, again, when=clock.now)
        [_, dup_post] = await wait_sent(tg, STAFF_GROUP, 2)
        await wait_until(lambda: _tickets(config, 2))
        old, dup = [t["ref"] for t in await db_rows(config, "tickets")]
        clock.now = local(2030, 1, 7, 10, 40)
        await staff_answer(tg, dup_post, f"/merge {old}")
        [*_, merged] = await wait_sent(tg, STAFF_GROUP, 3)
        timers = await db_rows(config, "timers")
        # The answer to the duplicate's post goes to the customer as the old ticket's.
        clock.now = local(2030, 1, 7, 10, 45)
        await staff_answer(tg, dup_post, "Ongkir ke Bandung Rp15.000 ya, kak.")
        await smtp_server.wait_for_async(4, timeout=10)
        clock.now = local(2030, 1, 7, 11, 0)
        await staff_answer(tg, old_post, "/close")
        await wait_sent(tg, STAFF_GROUP, 4)
        clock.now = local(2030, 1, 7, 12, 1)
        await app.surveys.run_due()
        await app.surveys.run_due()
        await smtp_server.wait_for_async(5, timeout=10)

    assert shown(merged) == f"🔀 #{dup} digabung ke #{old} (1 pesan); balas di #{old}."
    tickets = {t["ref"]: t for t in await db_rows(config, "tickets")}
    assert tickets[dup]["status"] == "merged"
    assert tickets[dup]["merged_into"] == tickets[old]["id"]
    assert tickets[old]["status"] == "resolved"
    # The SLA: the old ticket was answered at 10:10, but the merged message of 10:30 was
    # not, so its first response is due an hour after it; the duplicate's own clocks stop.
    by_ticket = {
        ref: {(t["stage"], t["state"], t["due_at"]) for t in timers if t["ticket_id"] == row["id"]}
        for ref, row in tickets.items()
    }
    pending = {(stage, due) for stage, state, due in by_ticket[old] if state == "pending"}
    assert {due for _, due in pending} == {
        local(2030, 1, 7, 11, 0),
        local(2030, 1, 7, 11, 30),
    }, by_ticket
    assert by_ticket[dup] and all(state == "stopped" for _, state, _ in by_ticket[dup])

    mails = to_customer(smtp_server)
    answer = next(m for m in mails if "Rp15.000" in str(m.get_body()))
    assert f"[#{old}]" in str(answer["Subject"])
    surveys = await db_rows(config, "surveys")
    assert [(s["ticket_id"], s["state"]) for s in surveys] == [(tickets[old]["id"], "sent")]
    sent = [r for r in await db_rows(config, "replies") if r["kind"] == CSAT_SURVEY]
    assert [(r["recipient"], r["ticket_id"]) for r in sent] == [(CUSTOMER, tickets[old]["id"])]
    assert len(mails) == 5  # two acknowledgements, two answers, one survey

    export = await cli(capsys, "export", "-c", str(config), "--no-bodies")
    rows = {r["ref"]: r for r in map(json.loads, export.splitlines())}
    assert len(rows[old]["messages"]) >= 2 and rows[dup]["messages"] == []
    kinds = [e["kind"] for e in rows[old]["events"]]
    assert "merged" in kinds and "merged_from" in kinds and "closed" in kinds
    assert [e["kind"] for e in rows[dup]["events"]] == ["merged_into"]
    assert rows[dup]["status"] == "merged" and rows[dup]["merged_into"] == old
    assert rows[old]["merged_into"] is None
    out = await cli(capsys, "contact", "-c", str(config), CUSTOMER)
    assert "Tickets: 1" in out and f"#{old}" in out and f"#{dup}" not in out
    period = ["--since", "2030-01-01", "--until", "2030-02-01"]
    report = await cli(capsys, "report", "-c", str(config), *period)
    assert cell(report, "Tickets opened") == "1"
    assert cell(report, "Merged duplicates") == "1"
