"""The Telegram Bot API stand-in, driven by python-telegram-bot's own `telegram.Bot`."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator

import pytest
import telegram
from telegram.constants import ParseMode
from telegram.error import Forbidden, InvalidToken, NetworkError, RetryAfter

from responder.testing import SentMessage, TelegramStandIn

CUSTOMER = 5001
STAFF = 7001


@pytest.fixture
def tg() -> Iterator[TelegramStandIn]:
    with TelegramStandIn(staff={STAFF: "administrator"}) as server:
        yield server


def make_bot(tg: TelegramStandIn) -> telegram.Bot:
    return telegram.Bot(tg.token, base_url=tg.base_url)


async def test_get_me(tg: TelegramStandIn) -> None:
    async with make_bot(tg) as bot:
        me = await bot.get_me()
    assert me.is_bot and me.id == 123456 and me.username == "responder_test_bot"


async def test_updates_are_confirmed_by_offset(tg: TelegramStandIn) -> None:
    pushed = tg.push_message(CUSTOMER, "Halo, pesanan saya belum sampai", first_name="Budi")
    async with make_bot(tg) as bot:
        updates = await bot.get_updates(offset=0, timeout=1)
        assert [u.update_id for u in updates] == [pushed["update_id"]]
        message = updates[0].message
        assert message is not None and message.text == "Halo, pesanan saya belum sampai"
        assert message.from_user is not None and message.from_user.language_code == "id"
        assert message.chat.type == "private" and message.chat.id == CUSTOMER

        # Not yet confirmed: asking again without a higher offset returns it again.
        again = await bot.get_updates(offset=updates[0].update_id, timeout=0)
        assert [u.update_id for u in again] == [pushed["update_id"]]
        confirmed = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert confirmed == ()
    assert tg.pending_updates() == []


async def test_long_poll_returns_when_a_message_arrives(tg: TelegramStandIn) -> None:
    timer = threading.Timer(0.3, tg.push_message, (CUSTOMER, "ada orang?"))
    async with make_bot(tg) as bot:
        loop = asyncio.get_running_loop()
        started = loop.time()
        timer.start()
        try:
            updates = await bot.get_updates(timeout=10)
        finally:
            timer.join()
        elapsed = loop.time() - started
    assert [u.message.text for u in updates if u.message] == ["ada orang?"]
    assert 0.2 < elapsed < 3


async def test_long_poll_times_out_empty(tg: TelegramStandIn) -> None:
    async with make_bot(tg) as bot:
        assert await bot.get_updates(timeout=0.3) == ()


async def test_limit_and_allowed_updates(tg: TelegramStandIn) -> None:
    tg.push_message(CUSTOMER, "one")
    tg.push_callback(CUSTOMER, "pick:1")
    tg.push_message(CUSTOMER, "two")
    async with make_bot(tg) as bot:
        first = await bot.get_updates(limit=1)
        only_messages = await bot.get_updates(allowed_updates=["message"])
    assert len(first) == 1
    assert [u.message.text for u in only_messages if u.message] == ["one", "two"]
    assert all(u.callback_query is None for u in only_messages)


async def test_send_message_is_recorded(tg: TelegramStandIn) -> None:
    pushed = tg.push_message(CUSTOMER, "tolong")
    async with make_bot(tg) as bot:
        sent = await bot.send_message(
            CUSTOMER,
            "<b>Terima kasih</b>, kami segera membalas.",
            parse_mode=ParseMode.HTML,
            reply_to_message_id=pushed["message"]["message_id"],
        )
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.chat.id == CUSTOMER and sent.text.startswith("<b>Terima kasih</b>")
    [record] = tg.wait_for_sent(1, timeout=1)
    assert isinstance(record, SentMessage)
    assert (record.method, record.chat_id, record.parse_mode) == ("sendMessage", CUSTOMER, "HTML")
    assert record.reply_to == pushed["message"]["message_id"]
    assert record.message_id == sent.message_id
    assert tg.send_times(CUSTOMER) == [record.at]


async def test_retry_after(tg: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns when reading retry_after as an int; opt in to its future timedelta type.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    tg.fail_next("sendMessage", 429, retry_after=3)
    async with make_bot(tg) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CUSTOMER, "hi")
        await bot.send_message(CUSTOMER, "hi again")  # only the next call fails
    assert caught.value.retry_after == dt.timedelta(seconds=3)
    assert [s.text for s in await tg.wait_for_sent_async(1, timeout=1)] == ["hi again"]


async def test_blocked_by_user_and_bad_gateway(tg: TelegramStandIn) -> None:
    tg.fail_next("sendMessage", 403)
    tg.fail_next("getUpdates", 502)
    async with make_bot(tg) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(CUSTOMER, "hi")
        with pytest.raises(NetworkError):
            await bot.get_updates()
    assert tg.sent == []


async def test_invalid_token(tg: TelegramStandIn) -> None:
    tg.invalid_token = True
    with pytest.raises(InvalidToken):
        async with make_bot(tg):
            pass
    tg.invalid_token = False
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:wrong", base_url=tg.base_url):
            pass


async def test_forum_topic_and_threaded_reply(tg: TelegramStandIn) -> None:
    group = -1001234
    async with make_bot(tg) as bot:
        topic = await bot.create_forum_topic(group, "Budi #42")
        await bot.send_message(group, "new ticket", message_thread_id=topic.message_thread_id)
    assert topic.message_thread_id > 0 and topic.name == "Budi #42"
    assert tg.sent[0].thread_id == topic.message_thread_id


async def test_copy_edit_callback_and_members(tg: TelegramStandIn) -> None:
    pushed = tg.push_message(CUSTOMER, "foto rusak", photo=True)
    staff_group = -100777
    async with make_bot(tg) as bot:
        copied = await bot.copy_message(staff_group, CUSTOMER, pushed["message"]["message_id"])
        forwarded = await bot.forward_message(staff_group, CUSTOMER, copied.message_id - 1)
        edited = await bot.edit_message_text("ok", chat_id=staff_group, message_id=forwarded.id)
        tg.push_callback(staff_group, "claim", from_id=STAFF)
        [update] = await bot.get_updates(offset=2)
        assert update.callback_query is not None
        assert await bot.answer_callback_query(update.callback_query.id, text="claimed")
        admin = await bot.get_chat_member(staff_group, STAFF)
        stranger = await bot.get_chat_member(staff_group, CUSTOMER)
        chat = await bot.get_chat(CUSTOMER)
    assert [s.method for s in tg.sent] == ["copyMessage", "forwardMessage", "editMessageText"]
    assert tg.sent[0].text == "foto rusak" and edited.text == "ok"
    assert (admin.status, stranger.status) == ("administrator", "left")
    assert chat.id == CUSTOMER and tg.answered_callbacks[0]["text"] == "claimed"


async def test_stop_releases_a_parked_long_poll() -> None:
    server = TelegramStandIn()
    server.start()
    try:
        async with make_bot(server) as bot:
            poll = asyncio.create_task(bot.get_updates(timeout=30))
            await asyncio.sleep(0.2)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.to_thread(server.stop)
            assert await poll == ()
            assert loop.time() - started < 5
    finally:
        server.stop()
