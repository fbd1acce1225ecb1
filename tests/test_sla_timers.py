"""SLA timers in business time with an injected clock, through real Dovecot and SMTP: due
dates across evenings, weekends and holidays, pause and resume, a staff reply that cancels
the rest, and an outage after which each due alert goes once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from harness import (
    JAKARTA,
    SUPPORT,
    Clock,
    db_rows,
    local,
    running,
    wait_connected,
    wait_until,
    write_config,
)
from mailfactory import make_mail

from responder.app.daemon import App
from responder.testing import Dovecot, RecordingSMTPServer

STAFF = "ani@toko-contoh.id"
OWNER = "pemilik@toko-contoh.id"
# Far enough ahead that the real scheduler never wakes during a test: the tests move the
# injected clock and call run_due, as the scheduler would.
POLICY = f"""\
business_hours:
  weekly:
    mon: ["08:00-17:00"]
    tue: ["08:00-17:00"]
    wed: ["08:00-17:00"]
    thu: ["08:00-17:00"]
    fri: ["08:00-17:00"]
  holidays: {{country: ID}}
sla:
  default: standard
  policies:
    - name: standard
      first_response: 1h
      resolution: 4h
      remind: ["50%"]
      escalate:
        - after: 1h
          email: [{OWNER}]
"""


async def timers(config: Path) -> dict[tuple[str, str], tuple[str, datetime | None]]:
    rows = await db_rows(config, "timers")
    return {
        (t["clock"], t["stage"]): (
            t["state"],
            t["due_at"].astimezone(JAKARTA) if t["due_at"] else None,
        )
        for t in rows
    }


async def open_ticket(
    app: App, dovecot: Dovecot, config: Path, message_id: str, clock: Clock
) -> None:
    await wait_connected(app)
    mail = make_mail(message_id=f"<{message_id}>")
    await dovecot.append_async(SUPPORT, mail, when=clock.now)

    async def opened() -> bool:
        return bool(await db_rows(config, "timers"))

    await wait_until(opened)


def setup(tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer) -> Path:
    return write_config(
        tmp_path, dovecot, smtp, extra=POLICY, channel_extra=f"    staff: [{STAFF}]"
    )


@pytest.mark.parametrize(
    ("arrives", "breach"),
    [
        # 16:30 with a 1-hour target on an 08:00-17:00 day: 08:30 the next working day.
        (local(2030, 1, 7, 16, 30), local(2030, 1, 8, 8, 30)),
        # Friday evening: Monday morning, the weekend does not count.
        (local(2030, 1, 11, 16, 30), local(2030, 1, 14, 8, 30)),
        (local(2030, 1, 12, 10, 0), local(2030, 1, 14, 9, 0)),
        # The day before Labour Day (a public holiday in Indonesia): the day after it.
        (local(2030, 4, 30, 16, 30), local(2030, 5, 2, 8, 30)),
    ],
)
async def test_first_response_due_dates_count_business_hours(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    arrives: datetime,
    breach: datetime,
) -> None:
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(arrives)
    async with running(config, clock=clock) as app:
        await open_ticket(app, dovecot, config, "due@example.com", clock)
    planned = await timers(config)
    assert planned["first_response", "breach"] == ("pending", breach)
    assert planned["first_response", "escalate-1"][1] == breach + timedelta(hours=1)


async def test_a_question_pauses_the_resolution_clock_until_the_customer_answers(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(local(2030, 1, 7, 9, 0))
    async with running(config, clock=clock) as app:
        await open_ticket(app, dovecot, config, "order@example.com", clock)
        assert (await timers(config))["resolution", "breach"] == ("pending", local(2030, 1, 7, 13))
        # Ani answers at 10:00 with a question, Cc to the support address.
        clock.now = local(2030, 1, 7, 10, 0)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender=STAFF,
                to="budi@example.com",
                subject="Re: Pesanan saya",
                body="Boleh kirim nomor pesanannya, kak?\n\n> Pesanan saya belum sampai",
                in_reply_to="<order@example.com>",
                headers={"Cc": SUPPORT},
            ),
            when=clock.now,
        )
        await wait_until(lambda: _state(config, ("resolution", "breach"), "paused"))
        assert (await timers(config))["first_response", "breach"][0] == "stopped"
        # Budi answers at 14:00: 60 minutes were counted, 180 are left, so 17:00.
        clock.now = local(2030, 1, 7, 14, 0)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                subject="Re: Pesanan saya",
                body="Nomornya INV-2291, kak.",
                in_reply_to="<reply@example.com>",
                references="<order@example.com>",
            ),
            when=clock.now,
        )
        await wait_until(lambda: _state(config, ("resolution", "breach"), "pending"))
    assert (await timers(config))["resolution", "breach"] == ("pending", local(2030, 1, 7, 17))
    # Nobody was alerted; only the acknowledgement went out.
    assert [r.rcpt_tos for r in smtp_server.received] == [("budi@example.com",)]


async def test_a_staff_reply_after_the_reminder_cancels_the_breach_and_escalation(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(local(2030, 1, 7, 9, 0))
    async with running(config, clock=clock) as app:
        await open_ticket(app, dovecot, config, "late@example.com", clock)
        clock.now = local(2030, 1, 7, 9, 31)
        assert app.sla is not None
        assert await app.sla.run_due() == 1
        await smtp_server.wait_for_async(2, timeout=5)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender=STAFF,
                subject="Re: Pesanan saya",
                body="Sudah dikirim tadi pagi.",
                in_reply_to="<late@example.com>",
            ),
            when=clock.now,
        )
        await wait_until(lambda: _state(config, ("first_response", "breach"), "stopped"))
        clock.now = local(2030, 1, 7, 12, 0)
        await app.sla.run_due()
        await smtp_server.wait_for_async(3, timeout=5)
    alerts = [r.message["Subject"] for r in smtp_server.received if STAFF in r.rcpt_tos]
    # The first-response reminder, then (the resolution clock runs on) its 50% reminder; no
    # breach, and nothing for the owner.
    assert len(alerts) == 2 and all("Pengingat" in a for a in alerts)
    assert "penyelesaian" in alerts[1]
    assert not [r for r in smtp_server.received if OWNER in r.rcpt_tos]
    planned = await timers(config)
    assert planned["first_response", "remind-50%"][0] == "done"
    assert planned["first_response", "breach"][0] == "stopped"
    assert planned["first_response", "escalate-1"][0] == "stopped"


async def test_after_an_outage_each_due_alert_goes_once_and_superseded_reminders_do_not(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(local(2030, 1, 7, 9, 0))
    async with running(config, clock=clock) as app:
        await open_ticket(app, dovecot, config, "outage@example.com", clock)
        await smtp_server.wait_for_async(1, timeout=5)
    # Down from 09:00 until 12:00: the first response reminder, breach and escalation and
    # the resolution reminder all fell due meanwhile.
    clock.now = local(2030, 1, 7, 12, 0)
    for _ in range(2):
        async with running(config, clock=clock) as app:
            await wait_connected(app)
            assert app.sla is not None
            await app.sla.run_due()
            await smtp_server.wait_for_async(4, timeout=5)
    alerts = smtp_server.received[1:]
    subjects = sorted(r.message["Subject"].split("] ")[1].split(":")[0] for r in alerts)
    # The breach to staff, the escalation to the owner, and the resolution reminder; the
    # first-response reminder was overtaken by its breach.
    assert subjects == ["Eskalasi", "Pengingat", "SLA terlewati"]
    planned = await timers(config)
    assert planned["first_response", "remind-50%"][0] == "skipped"
    assert planned["resolution", "breach"] == ("pending", local(2030, 1, 7, 13))


async def _state(config: Path, key: tuple[str, str], state: str) -> bool:
    return (await timers(config)).get(key, ("", None))[0] == state
