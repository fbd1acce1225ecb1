"""Inline buttons, in-place edits and callback answers, through the Sender and the stand-in."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from responder.channels.telegram.bot import TelegramChannel
from responder.channels.telegram.botapi import BotApi
from responder.channels.telegram.limits import Limits, SendSchedule
from responder.channels.telegram.send import Sender
from responder.common.tasks import TaskGroup
from responder.config import TelegramChannelConfig, load_config
from responder.domain.models import Cursor, Delivered, InboundMessage, MailMark, OutboundReply
from responder.errors import PermanentError, TransientError
from responder.testing.telegram import QUERY_TOO_OLD, TelegramStandIn
from responder.wire.telegram.post import Post, post_id
from responder.wire.telegram.update import parse_update
from tests.harness import TELEGRAM_TOKEN, wait_until, write_telegram_config

CUSTOMER = 5001
SCORES = (tuple((str(n), f"csat:T1:{n}") for n in range(1, 6)),)
NPS = (
    tuple((str(n), f"nps:T1:{n}") for n in range(6)),
    tuple((str(n), f"nps:T1:{n}") for n in range(6, 11)),
)
FAST = "    limits: {per_chat_interval: 0.01s, global_per_second: 200.0, group_per_minute: 6000}"


@pytest.fixture
def tg() -> Iterator[TelegramStandIn]:
    with TelegramStandIn(token=TELEGRAM_TOKEN) as server:
        yield server


@pytest.fixture
async def sender(tg: TelegramStandIn) -> AsyncIterator[Sender]:
    async with BotApi(tg.token, tg.base_url, timeout=5.0, poll_timeout=0.0) as bot:
        yield Sender("shop-bot", bot, SendSchedule(Limits(0.01, 200.0, 6000)), None)


def outbound(post: Post) -> OutboundReply:
    return OutboundReply(1, "shop-bot", "", (str(post.chat_id),), post.to_bytes(), post_id("x"))


async def survey(sender: Sender) -> int:
    post = Post(CUSTOMER, "Seberapa puas Anda dengan bantuan kami? (tiket #T1)", buttons=SCORES)
    delivered = await sender.send(outbound(post))
    [message_id] = delivered.message_ids
    return int(message_id)


def test_post_round_trip_and_validation() -> None:
    post = Post(CUSTOMER, "Terima kasih!", buttons=NPS, edit=42, callback="77", callback_text="OK")
    assert Post.from_bytes(post.to_bytes()) == post
    assert json.loads(post.to_bytes())["buttons"][1][0] == ["6", "nps:T1:6"]
    # A row written before these fields existed still loads, with none of them.
    old = Post.from_bytes(b'{"chat_id":5,"text":"hi","reply_to":3,"topic":null}')
    assert (old.buttons, old.edit, old.callback, old.callback_text) == (None, None, None, None)
    # Callback data is 1-64 bytes (Bot API): counted in bytes, not characters.
    assert Post(1, "x", buttons=((("ok", "é" * 32),),)).buttons == ((("ok", "é" * 32),),)
    for bad in ("é" * 33, "x" * 65, ""):
        with pytest.raises(ValueError, match="callback_data"):
            Post(1, "x", buttons=((("ok", bad),),))
    with pytest.raises(ValueError, match="label"):
        Post(1, "x", buttons=((("", "data"),),))
    with pytest.raises(ValueError, match="new text"):
        Post(1, "", edit=5)


async def test_buttons_arrive_as_an_inline_keyboard(tg: TelegramStandIn, sender: Sender) -> None:
    message_id = await survey(sender)
    shown = tg.message(CUSTOMER, message_id)
    assert shown.buttons == SCORES and shown.from_bot and shown.edits == 0
    [sent] = tg.sent
    assert sent.reply_markup is not None
    assert sent.reply_markup["inline_keyboard"][0][4] == {"text": "5", "callback_data": "csat:T1:5"}
    # A long text goes out in pieces, and the keyboard only once, on the first.
    long = Post(CUSTOMER, "panjang " * 1000, buttons=NPS)
    first, second = (await sender.send(outbound(long))).message_ids
    assert tg.message(CUSTOMER, int(first)).buttons == NPS
    assert tg.message(CUSTOMER, int(second)).buttons == ()


async def test_an_edit_changes_the_text_in_place_and_removes_the_keyboard(
    tg: TelegramStandIn, sender: Sender
) -> None:
    message_id = await survey(sender)
    edit = Post(CUSTOMER, "Terima kasih, nilai Anda: <b>5</b>", edit=message_id)
    # No new message to map: the edited one keeps its place in the posts table.
    assert await sender.send(outbound(edit)) == Delivered("shop-bot", str(CUSTOMER), ())
    shown = tg.message(CUSTOMER, message_id)
    assert (shown.text, shown.buttons, shown.edits) == (edit.text, (), 1)
    assert [m.message_id for m in tg.messages(CUSTOMER)] == [message_id]
    assert [(s.method, s.parse_mode) for s in tg.sent] == [
        ("sendMessage", "HTML"),
        ("editMessageText", "HTML"),
    ]
    # The second question replaces the keyboard with its own.
    ask = Post(CUSTOMER, "Seberapa besar kemungkinan Anda merekomendasikan kami?", edit=message_id)
    await sender.send(outbound(replace(ask, buttons=NPS)))
    assert tg.message(CUSTOMER, message_id).buttons == NPS
    assert tg.message(CUSTOMER, message_id).edits == 2


async def test_the_press_is_answered_with_a_toast_before_the_edit(
    tg: TelegramStandIn, sender: Sender
) -> None:
    message_id = await survey(sender)
    press = tg.push_callback(CUSTOMER, "csat:T1:4")
    query = press["callback_query"]["id"]
    post = Post(
        CUSTOMER, "Nilai Anda: 4", edit=message_id, callback=query, callback_text="Terima kasih!"
    )
    await sender.send(outbound(post))
    assert tg.answered_callbacks == [{"callback_query_id": query, "text": "Terima kasih!"}]
    methods = [c.method for c in tg.calls]
    assert methods[-2:] == ["answerCallbackQuery", "editMessageText"]
    assert tg.message(CUSTOMER, message_id).text == "Nilai Anda: 4"


async def test_a_too_old_query_does_not_stop_the_edit(
    tg: TelegramStandIn, sender: Sender, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = await survey(sender)
    query = tg.push_callback(CUSTOMER, "csat:T1:2")["callback_query"]["id"]
    post = Post(CUSTOMER, "Nilai Anda: 2", edit=message_id, callback=query, callback_text="Oke")
    tg.fail_next("answerCallbackQuery", 400)  # QUERY_TOO_OLD: the daemon was down a while
    with caplog.at_level(logging.INFO, logger="responder.channels.telegram.send"):
        done = await sender.send(outbound(post))
    assert done.message_ids == ()  # an edit makes no new message
    assert tg.message(CUSTOMER, message_id).edits == 1 and tg.answered_callbacks == []
    [refused] = [c for c in tg.calls if c.method == "answerCallbackQuery"]
    assert refused.status == 400 and "query is too old" in caplog.text.lower()
    assert QUERY_TOO_OLD.startswith("Bad Request: query is too old")


async def test_a_repeated_answer_and_edit_count_as_done(
    tg: TelegramStandIn, sender: Sender, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = await survey(sender)
    query = tg.push_callback(CUSTOMER, "csat:T1:3")["callback_query"]["id"]
    post = Post(CUSTOMER, "Nilai Anda: 3", edit=message_id, callback=query, callback_text="Oke")
    await sender.send(outbound(post))
    # A retry after Telegram did it all but its answer was lost: the query was answered
    # already, and the message already says so ("message is not modified").
    with caplog.at_level(logging.INFO, logger="responder.channels.telegram.send"):
        again = await sender.send(outbound(post))
    assert again.message_ids == ()
    assert tg.message(CUSTOMER, message_id).edits == 1 and len(tg.answered_callbacks) == 1
    statuses = [(c.method, c.status) for c in tg.calls][-2:]
    assert statuses == [("answerCallbackQuery", 400), ("editMessageText", 400)]
    assert "already edited" in caplog.text


async def test_an_edit_telegram_refuses_is_permanent(tg: TelegramStandIn, sender: Sender) -> None:
    with pytest.raises(PermanentError, match=r"(?i)message to edit not found"):
        await sender.send(outbound(Post(CUSTOMER, "Terima kasih", edit=999)))
    customer = tg.push_message(CUSTOMER, "halo")["message"]["message_id"]
    with pytest.raises(PermanentError, match="can't be edited"):
        await sender.send(outbound(Post(CUSTOMER, "Terima kasih", edit=customer)))
    # A network fault answering the query is worth a retry, unlike a stale query.
    message_id = await survey(sender)
    query = tg.push_callback(CUSTOMER, "csat:T1:5")["callback_query"]["id"]
    tg.fail_next("answerCallbackQuery", 502)
    post = Post(CUSTOMER, "Nilai: 5", edit=message_id, callback=query, callback_text="Oke")
    with pytest.raises(TransientError):
        await sender.send(outbound(post))
    assert tg.message(CUSTOMER, message_id).edits == 0
    await sender.send(outbound(post))
    assert tg.answered_callbacks == [{"callback_query_id": query, "text": "Oke"}]


async def test_the_stand_in_presses_only_buttons_the_message_has(
    tg: TelegramStandIn, sender: Sender
) -> None:
    await survey(sender)
    with pytest.raises(ValueError, match="no button"):
        tg.push_callback(CUSTOMER, "csat:T1:9")


class Inbox:
    """Records what the channel hands over (the Inbox protocol)."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []

    async def cursor(self, key: str) -> tuple[Cursor, datetime] | None:
        return None

    async def deliver(
        self,
        channel: str,
        messages: Sequence[InboundMessage],
        cursor: Cursor | None,
        key: str | None = None,
    ) -> None:
        self.messages += messages

    async def mark(
        self, channel: str, marks: Sequence[MailMark], key: str, cursor: Cursor | None
    ) -> None:
        raise AssertionError("a Telegram channel has no marks")


async def test_a_press_read_by_the_channel_and_answered_through_it(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = load_config(
        write_telegram_config(tmp_path, tg.base_url, staff_chat=None, channel_extra=FAST)
    )
    [settings] = config.channels
    assert isinstance(settings, TelegramChannelConfig)
    channel, inbox = TelegramChannel(settings, TaskGroup()), Inbox()
    await channel.start(inbox)
    try:
        survey_post = Post(CUSTOMER, "Seberapa puas Anda?", buttons=SCORES)
        [sent_id] = (await channel.send(outbound(survey_post))).message_ids
        tg.push_callback(
            CUSTOMER, "csat:T1:5", first_name="Budi", username="budi88", language_code="en"
        )

        async def received() -> bool:
            return bool(inbox.messages)

        await wait_until(received, timeout=10)
        [raw] = inbox.messages
        press = parse_update(raw.raw)
        assert press.kind == "callback_query" and press.data == "csat:T1:5"
        assert (press.chat_id, press.chat_type, press.user_id) == (CUSTOMER, "private", CUSTOMER)
        assert press.message_id == int(sent_id) and press.callback_id
        assert (press.first_name, press.username, press.language_code) == ("Budi", "budi88", "en")
        assert press.date is None and press.update_id == int(raw.external_id)

        thanks = Post(
            CUSTOMER,
            "Terima kasih atas nilai 5!",
            edit=press.message_id,
            callback=press.callback_id,
            callback_text="Terima kasih!",
        )
        await channel.send(outbound(thanks))
    finally:
        await channel.stop()
        await channel.stop()
    shown = tg.message(CUSTOMER, int(sent_id))
    assert (shown.text, shown.buttons, shown.edits) == ("Terima kasih atas nilai 5!", (), 1)
    assert tg.answered_callbacks[0]["callback_query_id"] == press.callback_id


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"id": 7, "from": "nobody", "message": [], "data": 5},
        {"id": "", "from": {"id": "12"}, "message": {"chat": "x", "message_id": 1.5}},
        {"id": "q", "from": {"id": True}, "message": {"chat": {"id": None, "type": 3}}},
        {"id": "q", "data": "x" * 65, "message": {"message_id": 9, "date": 0}},
    ],
)
def test_a_malformed_press_parses_without_raising(query: object) -> None:
    press = parse_update(json.dumps({"update_id": 3, "callback_query": query}).encode())
    assert (press.update_id, press.kind, press.data) == (3, "callback_query", "")
    assert (press.chat_id, press.user_id) == (None, None)
    assert press.callback_id in (None, "q")
    assert press.message_id in (None, 9)


def test_a_press_on_a_message_too_old_to_send_along() -> None:
    # Bot API InaccessibleMessage: chat, message_id and date 0, nothing else.
    query = {
        "id": "4382",
        "from": {"id": CUSTOMER, "is_bot": False, "first_name": "Budi"},
        "message": {"chat": {"id": CUSTOMER, "type": "private"}, "message_id": 8, "date": 0},
        "chat_instance": "-1000000005001",
        "data": "csat:T1:3",
    }
    press = parse_update(json.dumps({"update_id": 4, "callback_query": query}).encode())
    assert (press.callback_id, press.data, press.chat_id, press.message_id) == (
        "4382",
        "csat:T1:3",
        CUSTOMER,
        8,
    )
    assert press.customer == str(CUSTOMER) and press.name == "Budi"
    assert parse_update(b'{"update_id": 5, "callback_query": "x"}').kind == "callback_query"
