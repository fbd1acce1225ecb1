"""A WhatsApp customer answered from the Telegram staff group: the ticket is posted there, a
staff reply reaches the customer on WhatsApp, /close resolves it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from responder.testing import GraphStandIn, TelegramStandIn, free_port
from responder.testing.whatsapp_webhooks import Webhooks
from tests.harness import (
    STAFF_GROUP,
    WA_NUMBER_ID,
    Clock,
    add_staff_bot,
    db_rows,
    post_signed,
    running,
    shown,
    staff_answer,
    wait_sent,
    write_whatsapp_config,
)

CUSTOMER = "6281234567890"
hooks = Webhooks(phone_number_id=WA_NUMBER_ID)


def with_staff_group(tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn, port: int) -> Path:
    return add_staff_bot(write_whatsapp_config(tmp_path, graph.base_url, port), tmp_path, tg)


post = post_signed


async def test_staff_answer_a_whatsapp_customer_from_the_telegram_group(
    tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn
) -> None:
    port = free_port()
    config = with_staff_group(tmp_path, graph, tg, port)
    async with running(config):
        await post(port, hooks.text(CUSTOMER, "Kak, ukuran L masih ada? <b>", name="Budi"))
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        await graph.wait_for_sent_async(1, 10.0)  # the acknowledgement
        await staff_answer(tg, relay, "Masih ada kak, silakan order 🙏")
        sent = await graph.wait_for_sent_async(2, 10.0)
        await staff_answer(tg, relay, "/close")
        await wait_sent(tg, STAFF_GROUP, 2)
    [ticket] = await db_rows(config, "tickets")
    ref = ticket["ref"]
    # Staff see the ticket, the customer's name and number, and their words as text.
    assert f"#{ref}" in relay.text and "Budi" in shown(relay)
    assert "ukuran L masih ada? <b>" in shown(relay) and "&lt;b&gt;" in relay.text
    answer = sent[1]
    assert answer.to == CUSTOMER and answer.type == "text"
    assert "Masih ada kak, silakan order 🙏" in answer.payload["text"]["body"]
    assert ticket["status"] == "resolved"
    events = [(e["kind"], e["detail"]) for e in await db_rows(config, "ticket_events")]
    assert events[0] == ("staff_reply", "Masih ada kak, silakan order 🙏")


async def test_a_staff_answer_after_the_24_hour_window_is_not_sent_and_staff_hear_why(
    tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn
) -> None:
    port = free_port()
    config = with_staff_group(tmp_path, graph, tg, port)
    clock = Clock(datetime.now(UTC))
    async with running(config, clock=clock):
        at = clock.now.timestamp()
        await post(port, hooks.text(CUSTOMER, "Kak, ukuran L masih ada?", name="Budi", at=at))
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        await graph.wait_for_sent_async(1, 10.0)  # the acknowledgement, sent at once
        # Staff answer 30 hours after the customer wrote (by WhatsApp's own timestamp).
        clock.now += timedelta(hours=30)
        await staff_answer(tg, relay, "Masih ada kak")
        [_, notice] = await wait_sent(tg, STAFF_GROUP, 2)
        await asyncio.sleep(0.5)
    [ticket] = await db_rows(config, "tickets")
    assert len(graph.sent) == 1  # only the acknowledgement
    said = shown(notice)
    assert f"#{ticket['ref']}" in said and "30 jam yang lalu" in said and "24 jam" in said
    # Not an answer: the first-response clock keeps running.
    assert [e["kind"] for e in await db_rows(config, "ticket_events")] == []
