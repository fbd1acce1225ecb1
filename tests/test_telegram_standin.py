"""The Telegram Bot API stand-in, driven over HTTP by the daemon's own Bot API client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from responder.channels.telegram.botapi import BotApi
from responder.channels.telegram.errors import Forbidden, InvalidToken, NetworkError, RetryAfter
from responder.testing import SentMessage, TelegramStandIn

CUSTOMER = 5001
STAFF = 7001


@pytest.fixture
def tg() -> Iterator[TelegramStandIn]:
    with TelegramStandIn(staff={STAFF: "administrator"}) as server:
        yield server


def make_bot(tg: TelegramStandIn, token: str | None = None) -> BotApi:
    return BotApi(token or tg.token, tg.base_url, timeout=5.0, poll_timeout=0.0)


async def test_get_me(tg: TelegramStandIn) -> None:
    async with make_bot(tg) as bot:
        me = await bot.get_me()
    assert me["is_bot"] and me["id"] == 123456 and me["username"] == "responder_test_bot"


async def test_updates_are_confirmed_by_offset(tg: TelegramStandIn) -> None:
    pushed = tg.push_message(CUSTOMER, "Halo, pesanan saya belum sampai", first_name="Budi")
    async with make_bot(tg) as bot:
        updates = await bot.get_updates(0, [], timeout=1)
        assert [u["update_id"] for u in updates] == [pushed["update_id"]]
        message = updates[0]["message"]
        assert message["text"] == "Halo, pesanan saya belum sampai"
        assert message["from"]["language_code"] == "id"
        assert message["chat"]["type"] == "private" and message["chat"]["id"] == CUSTOMER

        # Not yet confirmed: asking again without a higher offset returns it again.
        again = await bot.get_updates(updates[0]["update_id"], [], timeout=0)
        assert [u["update_id"] for u in again] == [pushed["update_id"]]
        confirmed = await bot.get_updates(updates[0]["update_id"] + 1, [], timeout=0)
    assert confirmed == []
    assert tg.pending_updates() == []


async def test_long_poll_returns_when_a_message_arrives(tg: TelegramStandIn) -> None:
    timer = threading.Timer(0.3, tg.push_message, (CUSTOMER, "ada orang?"))
    async with make_bot(tg) as bot:
        loop = asyncio.get_running_loop()
        started = loop.time()
        timer.start()
        try:
            updates = await bot.get_updates(None, [], timeout=10)
        finally:
            timer.join()
        elapsed = loop.time() - started
    assert [u["message"]["text"] for u in updates] == ["ada orang?"]
    assert 0.2 < elapsed < 3


async def test_long_poll_times_out_empty(tg: TelegramStandIn) -> None:
    async with make_bot(tg) as bot:
        assert await bot.get_updates(None, [], timeout=0.3) == []


async def test_limit_and_allowed_updates(tg: TelegramStandIn) -> None:
    tg.push_message(CUSTOMER, "one")
    tg.push_callback(CUSTOMER, "pick:1")
    tg.push_message(CUSTOMER, "two")
    async with make_bot(tg) as bot:
        first = await bot.call("getUpdates", {"limit": 1})
        only_messages = await bot.get_updates(None, ["message"], timeout=0)
    assert len(first) == 1
    assert [u["message"]["text"] for u in only_messages] == ["one", "two"]
    assert all("callback_query" not in u for u in only_messages)


async def test_send_message_is_recorded(tg: TelegramStandIn) -> None:
    pushed = tg.push_message(CUSTOMER, "tolong")
    async with make_bot(tg) as bot:
        sent = await bot.send_message(
            CUSTOMER,
            "<b>Terima kasih</b>, kami segera membalas.",
            parse_mode="HTML",
            reply_parameters={"message_id": pushed["message"]["message_id"]},
        )
    assert sent["from"]["is_bot"]
    assert sent["chat"]["id"] == CUSTOMER and sent["text"].startswith("<b>Terima kasih</b>")
    [record] = tg.wait_for_sent(1, timeout=1)
    assert isinstance(record, SentMessage)
    assert (record.method, record.chat_id, record.parse_mode) == ("sendMessage", CUSTOMER, "HTML")
    assert record.reply_to == pushed["message"]["message_id"]
    assert record.message_id == sent["message_id"]
    assert tg.send_times(CUSTOMER) == [record.at]


async def test_retry_after(tg: TelegramStandIn) -> None:
    tg.fail_next("sendMessage", 429, retry_after=3)
    async with make_bot(tg) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CUSTOMER, "hi")
        await bot.send_message(CUSTOMER, "hi again")  # only the next call fails
    assert caught.value.retry_after == 3.0
    assert [s.text for s in await tg.wait_for_sent_async(1, timeout=1)] == ["hi again"]


async def test_blocked_by_user_and_bad_gateway(tg: TelegramStandIn) -> None:
    tg.fail_next("sendMessage", 403)
    tg.fail_next("getUpdates", 502)
    async with make_bot(tg) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(CUSTOMER, "hi")
        with pytest.raises(NetworkError):
            await bot.get_updates(None, [])
    assert tg.sent == []


async def test_invalid_token(tg: TelegramStandIn) -> None:
    tg.invalid_token = True
    async with make_bot(tg) as bot:
        with pytest.raises(InvalidToken):
            await bot.initialize()
    tg.invalid_token = False
    async with make_bot(tg, "999:wrong") as bot:
        with pytest.raises(InvalidToken):
            await bot.initialize()
        assert bot.me is None


async def test_forum_topic_and_threaded_reply(tg: TelegramStandIn) -> None:
    group = -1001234
    async with make_bot(tg) as bot:
        topic = await bot.create_forum_topic(group, "Budi #42")
        await bot.send_message(group, "new ticket", message_thread_id=topic["message_thread_id"])
    assert topic["message_thread_id"] > 0 and topic["name"] == "Budi #42"
    assert tg.sent[0].thread_id == topic["message_thread_id"]


async def test_copy_edit_callback_and_members(tg: TelegramStandIn) -> None:
    pushed = tg.push_message(CUSTOMER, "foto rusak", photo=True)
    staff_group = -100777
    async with make_bot(tg) as bot:
        copied = await bot.copy_message(staff_group, CUSTOMER, pushed["message"]["message_id"])
        forward = {"chat_id": staff_group, "from_chat_id": CUSTOMER}
        forward["message_id"] = copied["message_id"] - 1
        forwarded = await bot.call("forwardMessage", forward)
        edited = await bot.edit_message_text(staff_group, forwarded["message_id"], "ok")
        tg.push_callback(staff_group, "claim", from_id=STAFF)
        [update] = await bot.get_updates(2, [], timeout=0)
        assert await bot.answer_callback_query(update["callback_query"]["id"], text="claimed")
        admin = await bot.get_chat_member(staff_group, STAFF)
        stranger = await bot.get_chat_member(staff_group, CUSTOMER)
        chat = await bot.get_chat(CUSTOMER)
    assert [s.method for s in tg.sent] == ["copyMessage", "forwardMessage", "editMessageText"]
    assert tg.sent[0].text == "foto rusak" and edited["text"] == "ok"
    assert (admin["status"], stranger["status"]) == ("administrator", "left")
    assert chat["id"] == CUSTOMER and tg.answered_callbacks[0]["text"] == "claimed"


async def test_stop_releases_a_parked_long_poll() -> None:
    server = TelegramStandIn()
    server.start()
    try:
        async with make_bot(server) as bot:
            poll = asyncio.create_task(bot.get_updates(None, [], timeout=30))
            await asyncio.sleep(0.2)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.to_thread(server.stop)
            assert await poll == []
            assert loop.time() - started < 5
    finally:
        server.stop()
