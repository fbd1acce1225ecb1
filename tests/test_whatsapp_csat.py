"""A WhatsApp customer's survey: sent after the ticket is resolved as a list of ratings,
answered in place by picking one, the answer recorded and thanked."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from responder.app.daemon import App
from responder.testing import GraphStandIn, TelegramStandIn, free_port
from responder.testing.whatsapp_webhooks import Webhooks
from tests.harness import (
    STAFF_GROUP,
    WA_NUMBER_ID,
    Clock,
    db_rows,
    local,
    running,
    staff_answer,
    wait_sent,
    wait_until,
)
from tests.test_whatsapp_desk import post, with_staff_group

CUSTOMER = "6281234567890"
hooks = Webhooks(phone_number_id=WA_NUMBER_ID)


async def test_the_survey_is_a_list_of_ratings_answered_in_place(
    tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn
) -> None:
    port = free_port()
    config = with_staff_group(tmp_path, graph, tg, port)
    with config.open("r+") as f:
        text = f.read().replace("channels:\n", "csat: {}\nchannels:\n", 1)
        f.seek(0)
        f.write(text)
    clock = Clock(local(2030, 1, 7, 10, 0))
    at = clock.now.timestamp()
    async with running(config, clock=clock) as app:
        await post(port, hooks.text(CUSTOMER, "Paket saya belum sampai", name="Budi", at=at))
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        await staff_answer(tg, relay, "Sudah kami kirim ulang hari ini kak")
        await graph.wait_for_sent_async(2, 10.0)
        await staff_answer(tg, relay, "/close")
        await _resolved(config)
        survey = await _survey_sent(app, graph, clock)
        interactive = survey.payload["interactive"]
        assert interactive["type"] == "list"
        assert "Budi" in interactive["body"]["text"]
        rows = interactive["action"]["sections"][0]["rows"]
        assert [r["title"] for r in rows] == ["1", "2", "3", "4", "5"]
        # Budi picks 5 in the list: a reply to the survey message, with the row's id.
        four = hooks.list_reply(
            CUSTOMER, rows[4]["id"], rows[4]["title"], name="Budi", at=clock.now.timestamp()
        )
        await post(port, four)

        async def rated() -> bool:
            [row] = await db_rows(config, "surveys")
            return row["rating"] == 5

        await wait_until(rated)
        thanks = (await graph.wait_for_sent_async(4, 10.0))[3]
    [row] = await db_rows(config, "surveys")
    assert row["answered_via"] == "whatsapp"
    assert "Terima kasih" in str(thanks.payload)
    # Picking a rating is not a new message from the customer: no new ticket.
    assert len(await db_rows(config, "tickets")) == 1


async def _resolved(config: Path) -> None:
    async def resolved() -> bool:
        return [t["status"] for t in await db_rows(config, "tickets")] == ["resolved"]

    await wait_until(resolved)


async def _survey_sent(app: App, graph: GraphStandIn, clock: Clock) -> object:
    assert app.surveys is not None
    clock.now += timedelta(hours=1)
    await app.surveys.run_due()
    sent = await graph.wait_for_sent_async(3, 10.0)
    await asyncio.sleep(0)
    return sent[2]
