"""A reload while the bot is sending (issue 14): Telegram's answer to a message it took is not
lost, so the customer gets it once, whether the reload changed the bot's token or only a
setting the bot does not hold (the shop's name)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from harness import (
    TG_CUSTOMER,
    db_rows,
    running,
    sent_to,
    wait_connected,
    wait_sent,
    write_telegram_config,
)
from relay import Relay

from responder.config import load_config
from responder.testing import TelegramStandIn

NEW_TOKEN = "123456:a-new-token-from-BotFather-revoke"


@pytest.mark.parametrize("change", ["display_name", "token"])
async def test_a_reload_during_a_send_neither_loses_nor_repeats_the_message(
    tmp_path: Path, tg: TelegramStandIn, change: str
) -> None:
    relay = Relay(tg.port)
    await relay.open()
    config = write_telegram_config(tmp_path, f"http://127.0.0.1:{relay.port}/bot")
    try:
        async with running(config) as app:
            await wait_connected(app)
            relay.hold = 1.5
            tg.push_message(TG_CUSTOMER, "Halo, pesanan saya belum sampai")
            await wait_sent(tg, TG_CUSTOMER, 1)  # Telegram has it; its answer is on the way
            if change == "token":  # the admin revoked the token at BotFather for a new one
                tg.token = NEW_TOKEN
                (tmp_path / "telegram-token").write_text(NEW_TOKEN + "\n")
            else:
                text = config.read_text().replace("Toko Contoh", "Toko Contoh Jaya")
                config.write_text(text)
            assert app.reload(load_config(config))
            relay.hold = 0.0
            await asyncio.sleep(3.0)  # the retry that would repeat it comes within a second
            await wait_connected(app)
            replies = await db_rows(config, "replies")
    finally:
        await relay.close()
    assert len(sent_to(tg, TG_CUSTOMER)) == 1
    # The staff group's post too: each reply went, once.
    assert [r["state"] for r in replies] == ["sent"] * len(replies)
    assert len(tg.sent) == len(replies)
