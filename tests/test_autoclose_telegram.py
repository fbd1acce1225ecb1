"""Auto-close and the reopen window on Telegram, against the Bot API stand-in with an
injected clock (issue 18 item 5): the closing message in the customer's chat and a line in
the staff group; a chat message soon after reopens the ticket, a late one opens a new ticket
whose post names the old."""

from __future__ import annotations

from pathlib import Path

from responder.app.daemon import App
from responder.testing import TelegramStandIn
from tests.harness import (
    STAFF_GROUP,
    TG_CUSTOMER,
    Clock,
    db_rows,
    local,
    running,
    shown,
    staff_answer,
    wait_sent,
    wait_until,
    write_telegram_config,
)

CUSTOMER = TG_CUSTOMER
FAST = "    limits: {per_chat_interval: 50ms, group_per_minute: 1000}"
# Monday to Friday 08:00-17:00: three working days from Friday 10:00 is Wednesday 10:00.
TICKETS = """\
business_hours:
  weekly:
    mon: "08:00-17:00"
    tue: "08:00-17:00"
    wed: "08:00-17:00"
    thu: "08:00-17:00"
    fri: "08:00-17:00"
tickets:
  close_after: 3d
  reopen_within: 2d
"""


async def closed_by_itself(app: App, tg: TelegramStandIn, config: Path, clock: Clock) -> str:
    """Budi asks on Friday, Sari asks back from the group; on Wednesday it closes itself."""
    tg.push_message(CUSTOMER, "Kak, paket saya belum sampai", first_name="Budi")
    [relay] = await wait_sent(tg, STAFF_GROUP, 1)
    await staff_answer(tg, relay, "Nomor pesanannya berapa kak?")
    await wait_sent(tg, CUSTOMER, 2)  # the acknowledgement and the answer

    async def armed() -> bool:
        return any(t["clock"] == "close" for t in await db_rows(config, "timers"))

    await wait_until(armed)
    [timer] = [t for t in await db_rows(config, "timers") if t["clock"] == "close"]
    assert timer["due_at"] == local(2030, 1, 16, 10, 0)
    assert app.closing is not None
    clock.now = local(2030, 1, 16, 10, 0)
    await app.closing.run_due()
    [ticket] = await db_rows(config, "tickets")
    return str(ticket["ref"])


async def test_a_chat_ticket_closes_itself_with_a_message_and_a_line_for_staff(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, extra=TICKETS, channel_extra=FAST)
    clock = Clock(local(2030, 1, 11, 10, 0))  # a Friday
    async with running(config, clock=clock) as app:
        ref = await closed_by_itself(app, tg, config, clock)
        told = (await wait_sent(tg, CUSTOMER, 3))[2]
        line = (await wait_sent(tg, STAFF_GROUP, 2))[1]
    assert "Halo Budi" in shown(told) and f"#{ref}" in shown(told)
    assert "jadi tiket ini kami tutup" in shown(told)
    assert shown(line) == (
        f"⏳ #{ref} ditutup otomatis setelah 3 hari kerja menunggu balasan pelanggan."
    )
    [ticket] = await db_rows(config, "tickets")
    assert ticket["status"] == "resolved"


async def test_a_chat_message_soon_after_reopens_and_a_late_one_names_the_old_ticket(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, extra=TICKETS, channel_extra=FAST)
    clock = Clock(local(2030, 1, 11, 10, 0))
    async with running(config, clock=clock) as app:
        ref = await closed_by_itself(app, tg, config, clock)
        await wait_sent(tg, STAFF_GROUP, 2)
        # A day later: the same ticket is open again, and staff see that in its post.
        clock.now = local(2030, 1, 17, 10, 0)
        tg.push_message(CUSTOMER, "Sudah sampai, tapi rusak", first_name="Budi")
        back = (await wait_sent(tg, STAFF_GROUP, 3))[2]
        assert f"#{ref}" in shown(back) and "dibuka kembali" in shown(back)
        [ticket] = await db_rows(config, "tickets")
        assert ticket["status"] == "open"
        # Staff close it; four days later Budi writes again: a new ticket that names it.
        await staff_answer(tg, back, "/close")
        await wait_sent(tg, STAFF_GROUP, 4)
        clock.now = local(2030, 1, 21, 10, 0)
        tg.push_message(CUSTOMER, "Mau pesan lagi", first_name="Budi")
        post = (await wait_sent(tg, STAFF_GROUP, 5))[4]
    old, new = await db_rows(config, "tickets")
    assert (old["ref"], old["status"], new["status"]) == (ref, "resolved", "open")
    assert f"#{new['ref']}" in shown(post) and f"lanjutan dari #{ref}" in shown(post)
    events = [(e["ticket_id"], e["kind"]) for e in await db_rows(config, "ticket_events")]
    assert (old["id"], "reopened") in events and (new["id"], "follows_up") in events
