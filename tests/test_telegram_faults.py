"""Telegram under load and faults: floods, restarts mid-burst, kill -9, Telegram's limits."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from responder.testing import TelegramStandIn
from tests.harness import (
    STAFF_GROUP,
    TELEGRAM_TOKEN,
    DaemonProcess,
    db_rows,
    has_cursor,
    running,
    sent_to,
    shown,
    wait_until,
    write_telegram_config,
)

CUSTOMER = 5001
FAST_LIMITS = (
    "    limits: {per_chat_interval: 0.01s, global_per_second: 200.0, group_per_minute: 6000}"
)


@pytest.fixture
def tg() -> Iterator[TelegramStandIn]:
    with TelegramStandIn(token=TELEGRAM_TOKEN) as server:
        server.add_group(STAFF_GROUP, "Toko Contoh staff")
        yield server


async def all_decided(config: Path, n: int) -> bool:
    rows = await db_rows(config, "inbound")
    return len(rows) == n and all(r["state"] == "done" for r in rows)


async def test_a_flood_from_one_chat_is_one_ticket_one_reply_and_few_staff_posts(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url)
    for n in range(100):
        tg.push_message(CUSTOMER, f"pesan nomor {n}", first_name="Budi")
    async with running(config):
        await wait_until(lambda: all_decided(config, 100), timeout=20)
        await asyncio.sleep(0.3)

        async def relayed_all() -> bool:
            return "pesan nomor 99" in "".join(shown(m) for m in sent_to(tg, STAFF_GROUP))

        await wait_until(relayed_all, timeout=20)
    assert len(sent_to(tg, CUSTOMER)) == 1
    assert len(await db_rows(config, "tickets")) == 1
    posts = sent_to(tg, STAFF_GROUP)
    # Merged per ticket and batch: a few posts, every line in order, none twice.
    assert len(posts) <= 5
    text = "\n".join(shown(m) for m in posts)
    numbers = [int(n) for n in re.findall(r"pesan nomor (\d+)", text)]
    assert numbers == list(range(100))
    # Telegram's one message a second per chat, with the default limits.
    times = tg.send_times(STAFF_GROUP)
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times))


async def test_a_flood_from_100_chats_answers_each_once_and_relays_each(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, channel_extra=FAST_LIMITS)
    chats = [20_000 + n for n in range(100)]
    async with running(config):
        for chat in chats:
            tg.push_message(chat, f"Halo, saya pelanggan {chat}", first_name=f"P{chat}")
        await tg.wait_for_sent_async(200, timeout=30)
        await asyncio.sleep(0.3)
    acks = Counter(m.chat_id for m in tg.sent if m.chat_id != STAFF_GROUP)
    assert acks == Counter(dict.fromkeys(chats, 1))
    tickets = await db_rows(config, "tickets")
    assert sorted(int(t["customer"]) for t in tickets) == chats
    relayed = Counter(
        ref for m in sent_to(tg, STAFF_GROUP) for ref in re.findall(r"#(\w{6})", shown(m))
    )
    assert relayed == Counter({t["ref"]: 1 for t in tickets})


async def test_a_restart_in_the_middle_of_a_burst_loses_and_repeats_nothing(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, channel_extra=FAST_LIMITS)
    chats = [30_000 + n for n in range(40)]
    async with running(config):
        for chat in chats[:20]:
            tg.push_message(chat, "Halo, mau tanya produk", first_name="A")
        await tg.wait_for_sent_async(5, timeout=10)
        for chat in chats[20:]:
            tg.push_message(chat, "Halo, mau tanya produk", first_name="B")
    # Stopped mid-burst; the rest are waiting at Telegram or recorded and undecided.
    async with running(config):
        await tg.wait_for_sent_async(80, timeout=20)
        await asyncio.sleep(0.5)
    acks = Counter(m.chat_id for m in tg.sent if m.chat_id != STAFF_GROUP)
    assert acks == Counter(dict.fromkeys(chats, 1))
    assert len(sent_to(tg, STAFF_GROUP)) == 40
    assert len(await db_rows(config, "inbound")) == 40
    assert tg.pending_updates() == []


async def test_kill_9_mid_burst_then_restart_answers_every_customer(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, channel_extra=FAST_LIMITS)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    chats = [40_000 + n for n in range(60)]
    daemon.start()
    try:
        await wait_until(lambda: has_cursor_or_polling(tg), timeout=15)
        for n, chat in enumerate(chats):
            tg.push_message(chat, f"Halo, pesanan {n}", first_name="C")
            if n == 30:
                await asyncio.sleep(0.05)
                daemon.kill9()
                daemon.start()
        await tg.wait_for_sent_async(120, timeout=30)
        await asyncio.sleep(0.5)
    finally:
        assert daemon.terminate() == 0
    acks = Counter(m.chat_id for m in tg.sent if m.chat_id != STAFF_GROUP)
    assert set(acks) == set(chats), "a customer was left unanswered"
    # The window recorder.py describes: sent, then killed before the record was committed.
    # Each of the channel's five senders can be at most two replies ahead.
    assert sum(n - 1 for n in acks.values()) <= 10
    tickets = await db_rows(config, "tickets")
    assert sorted(int(t["customer"]) for t in tickets) == chats
    assert await has_cursor(config)


async def has_cursor_or_polling(tg: TelegramStandIn) -> bool:
    return any(c.method == "getUpdates" for c in tg.calls)


async def test_network_errors_and_502_are_retried(tmp_path: Path, tg: TelegramStandIn) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, staff_chat=None)
    async with running(config):
        tg.fail_next("sendMessage", 502, count=2)
        tg.push_message(CUSTOMER, "Halo, mau tanya", first_name="Budi")
        await tg.wait_for_sent_async(1, timeout=10)
        await asyncio.sleep(0.3)
    [reply] = await db_rows(config, "replies")
    assert reply["state"] == "sent" and reply["attempts"] == 3
    assert len(sent_to(tg, CUSTOMER)) == 1


async def test_a_long_answer_is_split_at_4096_characters_without_breaking_text(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, channel_extra=FAST_LIMITS)
    long_text = " ".join(f"kata{n}&<x>" for n in range(1200))  # about 12,000 characters
    async with running(config):
        tg.push_message(CUSTOMER, long_text, first_name="Budi")

        async def relayed() -> bool:
            return len(sent_to(tg, STAFF_GROUP)) >= 3

        await wait_until(relayed, timeout=10)
        await asyncio.sleep(0.3)
    posts = sent_to(tg, STAFF_GROUP)
    text = " ".join(shown(m) for m in posts)
    assert re.findall(r"kata(\d+)&<x>", text) == [str(n) for n in range(1200)]
    assert all(len(shown(m)) <= 4096 for m in posts)


@pytest.mark.parametrize(
    ("conflict", "said", "remedy"),
    [
        (
            "Conflict: terminated by other getUpdates request; make sure that only one bot "
            "instance is running",
            "another program is reading this bot's messages",
            "stop the other copy using this token",
        ),
        (
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
            "to delete the webhook first",
            "a webhook is set for this bot",
            "/deleteWebhook once",
        ),
    ],
)
async def test_another_poller_or_a_webhook_is_named_and_polling_resumes_after_it(
    tmp_path: Path, tg: TelegramStandIn, conflict: str, said: str, remedy: str
) -> None:
    # Bot API: one getUpdates per bot and none under a webhook, both answered 409 Conflict.
    config = write_telegram_config(tmp_path, tg.base_url, staff_chat=None)
    tg.fail_next("getUpdates", 409, count=2, description=conflict)
    async with running(config) as app:

        async def named() -> bool:
            problem = app.channel_health()["shop-bot"].problem
            return problem is not None and said in problem.problem and remedy in problem.remedy

        await wait_until(named, timeout=10, interval=0.02)
        tg.push_message(CUSTOMER, "Halo, mau tanya", first_name="Budi")
        await tg.wait_for_sent_async(1, timeout=15)
        assert app.channel_health()["shop-bot"].state == "connected"
    assert len(sent_to(tg, CUSTOMER)) == 1
