"""SLA clocks end to end on the real scheduler and real time: reminders, breach notices and
escalations through real Dovecot and SMTP and the Telegram stand-in; staff answers seen in the
Sent folder, as \\Answered, or in the staff group stop them; restarts change nothing."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

from harness import (
    STAFF_GROUP,
    SUPPORT,
    db_rows,
    running,
    shown,
    staff_answer,
    wait_connected,
    wait_sent,
    wait_until,
    write_config,
    write_telegram_config,
)
from harness import (
    TG_CUSTOMER as CUSTOMER,
)
from mailfactory import make_mail

from responder.config import load_config
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn
from responder.testing.smtp import Received

STAFF = "ani@toko-contoh.id"
OWNER = "pemilik@toko-contoh.id"
# Calendar time keeps the test independent of the day it runs on; seconds keep it short.
QUICK = """\
sla:
  default: quick
  policies:
    - name: quick
      time: calendar
      first_response: {target}
      remind: ["50%"]
      escalate:
        - after: 1s
          email: [{owner}]
"""
STAFF_LINE = f"    staff: [{STAFF}]"


def quick(target: str = "3s") -> str:
    return QUICK.format(target=target, owner=OWNER)


def to(received: list[Received], address: str) -> list[Received]:
    return [r for r in received if address in r.rcpt_tos]


async def ticket_opened(config: Path) -> datetime:
    await wait_until(lambda: _has_rows(config, "tickets"))
    [ticket] = await db_rows(config, "tickets")
    opened: datetime = ticket["created_at"]
    return opened


async def _has_rows(config: Path, table: str) -> bool:
    return bool(await db_rows(config, table))


async def test_an_unanswered_email_gets_its_reminder_breach_and_escalation_on_time(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server, extra=quick(), channel_extra=STAFF_LINE)
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(
            SUPPORT, make_mail(sender="Budi <budi@example.com>", body="Paket saya belum sampai?")
        )
        opened = await ticket_opened(config)
        await smtp_server.wait_for_async(4, timeout=10)
    ack, reminder, breach = to(smtp_server.received, "budi@example.com") + to(
        smtp_server.received, STAFF
    )
    [escalation] = to(smtp_server.received, OWNER)
    start = opened.timestamp()
    # Due at 1.5 s, 3 s and 4 s after the ticket opened; each within a second of it.
    for sent, due in ((reminder, 1.5), (breach, 3.0), (escalation, 4.0)):
        assert due - 0.05 <= sent.wall - start <= due + 1.0, (sent.message["Subject"], due)
    ref = (await db_rows(config, "tickets"))[0]["ref"]
    assert reminder.message["Subject"].startswith(f"[#{ref}] Pengingat: respons pertama")
    assert breach.message["Subject"].startswith(f"[#{ref}] SLA terlewati")
    assert escalation.message["Subject"].startswith(f"[#{ref}] Eskalasi")
    for alert in (reminder, breach, escalation):
        assert alert.message["Auto-Submitted"] == "auto-generated"
        text = alert.message.get_body(preferencelist=("plain",)).get_content()
        assert "budi@example.com" in text and "Paket saya belum sampai?" in text
    assert ack.message["Auto-Submitted"] == "auto-replied"
    events = [e["kind"] for e in await db_rows(config, "ticket_events")]
    assert events == ["sla_reminder", "sla_breach", "sla_escalation"]
    # Each alert names its timer in a column (issue 15), not in its kind.
    fired = {t["id"] for t in await db_rows(config, "timers") if t["state"] == "done"}
    alerts = [r for r in await db_rows(config, "replies") if r["kind"] == "sla_alert"]
    assert len(alerts) == 3 and {r["sla_timer_id"] for r in alerts} == fired


async def test_a_reply_from_a_staff_mail_client_in_the_sent_folder_stops_the_clock(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    dovecot.create(SUPPORT, "Sent")
    config = write_config(
        tmp_path,
        dovecot,
        smtp_server,
        extra=quick("4s"),
        channel_extra=STAFF_LINE,
        imap_extra=", sent_folder: Sent",
    )
    question = "<q1@example.com>"
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, make_mail(message_id=question))
        await ticket_opened(config)
        await smtp_server.wait_for_async(1, timeout=5)
        # Ani answers from Thunderbird; it saves her reply in the shared mailbox's Sent.
        answer = make_mail(
            sender=STAFF,
            to="budi@example.com",
            subject="Re: Pesanan saya",
            body="Sudah kami kirim hari ini, resi menyusul.",
            in_reply_to=question,
            references=question,
        )
        await dovecot.append_async(SUPPORT, answer, "Sent")
        await wait_until(lambda: _event(config, "staff_reply"))
        await asyncio.sleep(5.5)  # past the target and the escalation
    assert [r.rcpt_tos for r in smtp_server.received] == [("budi@example.com",)]
    timers = {t["stage"]: t["state"] for t in await db_rows(config, "timers")}
    assert timers == {"remind-50%": "stopped", "breach": "stopped", "escalate-1": "stopped"}
    [inbound_answer] = [i for i in await db_rows(config, "inbound") if i["sender"] == STAFF]
    assert inbound_answer["outcome"] == "staff-reply"


async def test_answered_flag_set_by_a_mail_client_stops_the_clock(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(
        tmp_path, dovecot, smtp_server, extra=quick("4s"), channel_extra=STAFF_LINE
    )
    async with running(config) as app:
        await wait_connected(app)
        uid = await dovecot.append_async(SUPPORT, make_mail())
        await ticket_opened(config)
        await asyncio.to_thread(dovecot.set_flags, SUPPORT, uid, "\\Answered")
        await wait_until(lambda: _event(config, "answered"))
        await asyncio.sleep(5.5)
    assert [r.rcpt_tos for r in smtp_server.received] == [("budi@example.com",)]


async def test_a_restart_with_timers_pending_and_then_overdue_sends_each_alert_once(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(
        tmp_path, dovecot, smtp_server, extra=quick("3s"), channel_extra=STAFF_LINE
    )
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, make_mail())
        opened = (await ticket_opened(config)).timestamp()
        await smtp_server.wait_for_async(1, timeout=5)
    # Stopped with every timer pending; started again before the reminder is due.
    async with running(config) as app:
        await wait_connected(app)
        await smtp_server.wait_for_async(2, timeout=5)
        reminder = to(smtp_server.received, STAFF)[0]
        assert 1.45 <= reminder.wall - opened <= 2.5
    # Down past the breach and the escalation: both go at start, once; nothing else does.
    await asyncio.sleep(max(0.0, opened + 4.5 - time.time()))
    async with running(config) as app:
        await wait_connected(app)
        await smtp_server.wait_for_async(4, timeout=5)
        await asyncio.sleep(1.0)
    async with running(config) as app:
        await wait_connected(app)
        await asyncio.sleep(1.0)
    kinds = sorted(r.rcpt_tos[0] for r in smtp_server.received)
    assert kinds == sorted(["budi@example.com", STAFF, STAFF, OWNER])
    states = sorted(t["state"] for t in await db_rows(config, "timers"))
    assert states == ["done", "done", "done"]


async def test_reload_replans_open_tickets(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(
        tmp_path, dovecot, smtp_server, extra=quick("1h"), channel_extra=STAFF_LINE
    )
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, make_mail())
        await ticket_opened(config)
        await smtp_server.wait_for_async(1, timeout=5)
        text = config.read_text().replace("first_response: 1h", "first_response: 2s")
        config.write_text(text)
        assert app.reload(load_config(config))
        # The promise is now 2 s: the reminder (1 s), breach (2 s) and escalation (3 s) go.
        await smtp_server.wait_for_async(4, timeout=8)
    assert len(to(smtp_server.received, STAFF)) == 2 and len(to(smtp_server.received, OWNER)) == 1


async def test_telegram_reminders_go_to_the_staff_group_and_a_staff_reply_stops_them(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    policy = """\
sla:
  default: quick
  policies:
    - name: quick
      time: calendar
      first_response: 2s
      remind: ["50%"]
"""
    # Telegram's limits (a post a second, 20 a minute per group) would delay the posts by
    # more than these short targets; the stand-in has no such limits.
    fast = "    limits: {group_per_minute: 1000, per_chat_interval: 50ms}"
    config = write_telegram_config(tmp_path, tg.base_url, extra=policy, channel_extra=fast)
    async with running(config) as app:
        await wait_connected(app)
        tg.push_message(CUSTOMER, "Kak, stok kaos hitam ukuran L ada?", first_name="Budi")
        await wait_sent(tg, STAFF_GROUP, 1)
        # The reminder (1 s) and the breach notice (2 s) arrive in the staff group.
        _, reminder, breach = await wait_sent(tg, STAFF_GROUP, 3, timeout=6)
        assert "Pengingat" in shown(reminder) and "SLA terlewati" in shown(breach)
        assert "Kak, stok kaos hitam ukuran L ada?" in shown(reminder)
        # A second customer; staff answer in the group before anything is due.
        tg.push_message(CUSTOMER + 1, "Halo, mau tanya ongkir ke Bandung", first_name="Sari")
        posts = await wait_sent(tg, STAFF_GROUP, 4)
        await staff_answer(tg, posts[3], "Ongkir ke Bandung Rp15.000 ya kak")
        await wait_until(lambda: _event(config, "staff_reply"))
        await asyncio.sleep(2.5)
    posts = await wait_sent(tg, STAFF_GROUP, 4)
    assert len(posts) == 4, [shown(p)[:40] for p in posts]


async def _event(config: Path, kind: str) -> bool:
    return any(e["kind"] == kind for e in await db_rows(config, "ticket_events"))
