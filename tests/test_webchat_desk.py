"""A website chat visitor answered from the Telegram staff group: the ticket is posted there,
a staff reply appears live in the visitor's panel (or by long poll), /close resolves it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from responder.testing import TelegramStandIn
from tests.harness import (
    STAFF_GROUP,
    db_rows,
    shown,
    staff_answer,
    wait_sent,
    webchat_desk,
)


async def test_a_staff_reply_in_the_telegram_group_appears_live_in_the_panel(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    async with webchat_desk(tmp_path, tg) as (config, visitor), visitor.stream() as stream:
        await visitor.send("Kak, ukuran L masih ada? <b>")
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        await stream.wait(2)  # the message, the acknowledgement
        await staff_answer(tg, relay, "Masih ada kak, silakan order 🙏 <i>")
        *_, answer = await stream.wait(3)
        await staff_answer(tg, relay, "/close")
        await wait_sent(tg, STAFF_GROUP, 2)
        await asyncio.sleep(0.3)
    [ticket] = await db_rows(config, "tickets")
    ref = ticket["ref"]
    # Staff see the ticket, the visitor, and their words as text.
    assert f"#{ref}" in relay.text and f"web:{visitor.visitor}" in shown(relay)
    assert "ukuran L masih ada? <b>" in shown(relay) and "&lt;b&gt;" in relay.text
    assert answer["from"] == "staff" and answer["kind"] == "staff_reply"
    assert answer["text"] == "Masih ada kak, silakan order 🙏 <i>"
    assert len(stream.events) == 3  # /close is staff's business, not the visitor's
    assert ticket["status"] == "resolved"
    events = [(e["kind"], e["detail"]) for e in await db_rows(config, "ticket_events")]
    assert events[0] == ("staff_reply", "Masih ada kak, silakan order 🙏 <i>")


async def test_a_visitor_whose_streams_are_blocked_gets_the_reply_by_long_poll(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    async with webchat_desk(tmp_path, tg) as (_config, visitor):
        sent = await visitor.send("Halo, bisa kirim hari ini?")
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        first = await visitor.poll(after=sent.body["id"])  # the acknowledgement, at once
        last = first.body["events"][-1]["id"]
        waiting = asyncio.create_task(visitor.poll(after=last))
        await asyncio.sleep(0.5)
        assert not waiting.done()  # nothing new yet: the poll waits
        await staff_answer(tg, relay, "Bisa kak, sebelum jam 3")
        answered = await asyncio.wait_for(waiting, 10)
    assert [e["kind"] for e in first.body["events"]] == ["acknowledgement"]
    assert [e["text"] for e in answered.body["events"]] == ["Bisa kak, sebelum jam 3"]


async def test_a_staff_file_the_panel_cannot_show_is_not_passed_on_and_staff_hear_why(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    async with webchat_desk(tmp_path, tg) as (_config, visitor):
        await visitor.send("Boleh lihat daftar harganya kak?")
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        sheet = ("harga.xlsx", "application/vnd.ms-excel", b"PK\x03\x04 a spreadsheet")
        await staff_answer(tg, relay, "", document=sheet)
        [_, notice] = await wait_sent(tg, STAFF_GROUP, 2)
    assert "lewat chat situs web" in shown(notice) and "Tidak terkirim" in shown(notice)
