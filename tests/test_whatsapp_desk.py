"""A WhatsApp customer answered from the Telegram staff group: the ticket is posted there, a
staff reply reaches the customer on WhatsApp, /close resolves it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from responder.testing import GraphStandIn, TelegramStandIn, free_port
from responder.testing.whatsapp_webhooks import Webhooks, post_webhook
from tests.harness import (
    STAFF_GROUP,
    TELEGRAM_TOKEN,
    WA_APP_SECRET,
    WA_NUMBER_ID,
    db_rows,
    running,
    shown,
    staff_answer,
    wait_sent,
    write_whatsapp_config,
)

CUSTOMER = "6281234567890"
hooks = Webhooks(phone_number_id=WA_NUMBER_ID)


def with_staff_group(tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn, port: int) -> Path:
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    token = tmp_path / "telegram-token"
    token.write_text(TELEGRAM_TOKEN + "\n")
    with config.open("a") as f:
        f.write(
            f"""\
  - name: shop-bot
    type: telegram
    token_file: {token}
    api_url: {tg.base_url.removesuffix("/bot")}
    language: id
    poll_timeout: 2s
    timeout: 5s
    staff_chat_id: {STAFF_GROUP}
"""
        )
    return config


async def post(port: int, body: object) -> tuple[int, str]:
    url = f"http://127.0.0.1:{port}/webhooks/whatsapp/shop-wa"
    return await asyncio.to_thread(post_webhook, url, body, WA_APP_SECRET)


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
