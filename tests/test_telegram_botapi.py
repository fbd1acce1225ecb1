"""The Bot API client against the stand-in over HTTP: each error Telegram reports arrives as its
class, with what the bot needs from it (a wait, a new chat id), never with the token."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Iterator

import pytest

from responder.channels.diagnose import Endpoint, diagnose
from responder.channels.telegram.botapi import BotApi
from responder.channels.telegram.errors import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
    from_answer,
)
from responder.testing import TelegramStandIn, free_port

TOKEN = "424242:AAE-secret_token-value-never-shown"
SECRET = TOKEN.split(":", 1)[1]
CUSTOMER = 5001
STAFF_GROUP = -1001234
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def tg() -> Iterator[TelegramStandIn]:
    with TelegramStandIn(token=TOKEN) as server:
        yield server


@pytest.fixture
async def bot(tg: TelegramStandIn) -> AsyncIterator[BotApi]:
    async with BotApi(TOKEN, tg.base_url, timeout=5.0, poll_timeout=0.0) as client:
        yield client


def shows_no_token(exc: BaseException) -> bool:
    """Neither the exception nor anything chained to it (its traceback as logged) holds it."""
    text = "".join(traceback.format_exception(exc))
    seen, current = [], exc.__cause__ or exc.__context__
    while current is not None and current not in seen:
        seen.append(current)
        text += f"{current} {current!r}"
        current = current.__cause__ or current.__context__
    return SECRET not in f"{exc} {exc!r} {getattr(exc, 'message', '')} {text}"


@pytest.mark.parametrize(
    ("code", "extra", "kind", "text"),
    [
        (400, {}, BadRequest, "Chat not found"),
        (403, {}, Forbidden, "Forbidden: bot was blocked by the user"),
        (404, {}, InvalidToken, "Not Found"),
        (409, {"description": "Conflict: terminated by other getUpdates request"}, Conflict, ""),
        (502, {}, NetworkError, "Bad Gateway"),
        (503, {}, NetworkError, "Service Unavailable (503)"),
        (429, {"retry_after": 3}, RetryAfter, "Retry in 3 seconds"),
        (400, {"migrate_to_chat_id": -1009999}, ChatMigrated, "New chat id: -1009999"),
    ],
)
async def test_each_error_arrives_as_its_class(
    tg: TelegramStandIn,
    bot: BotApi,
    code: int,
    extra: dict[str, object],
    kind: type[TelegramError],
    text: str,
) -> None:
    tg.fail_next("sendMessage", code, **extra)  # type: ignore[arg-type]
    with pytest.raises(TelegramError) as caught:
        await bot.send_message(CUSTOMER, "Halo")
    assert type(caught.value) is kind and text in caught.value.message
    assert shows_no_token(caught.value)
    if isinstance(caught.value, RetryAfter):
        assert caught.value.retry_after == 3.0
    if isinstance(caught.value, ChatMigrated):
        assert caught.value.new_chat_id == -1009999
    # Only that call failed: the next one goes through.
    assert (await bot.send_message(CUSTOMER, "Halo lagi"))["text"] == "Halo lagi"
    assert [s.text for s in tg.sent] == ["Halo lagi"]


async def test_a_refused_token_is_invalid_token_and_never_named(tg: TelegramStandIn) -> None:
    async with BotApi(TOKEN, tg.base_url, timeout=5.0, poll_timeout=0.0) as bot:
        tg.invalid_token = True
        with pytest.raises(InvalidToken) as caught:
            await bot.initialize()
        assert bot.me is None and shows_no_token(caught.value)
        tg.invalid_token = False
        await bot.initialize()
        await bot.initialize()  # getMe once: the name is kept
    assert (bot.username, bot.id) == ("responder_test_bot", 424242)
    assert [c.method for c in tg.calls].count("getMe") == 2


async def test_nothing_listening_is_a_network_error_the_admin_can_read() -> None:
    port = free_port()
    async with BotApi(TOKEN, f"http://127.0.0.1:{port}/bot", 5.0, 0.0) as bot:
        with pytest.raises(NetworkError) as caught:
            await bot.get_me()
    assert not isinstance(caught.value, TimedOut) and shows_no_token(caught.value)
    # The socket's own error stays underneath, for the health report's words.
    said = diagnose(caught.value, Endpoint("shop-bot", "telegram", "127.0.0.1", port))
    assert said.problem == f"nothing answers on 127.0.0.1:{port} (connection refused)"


async def test_an_unusable_address_never_shows_the_token_in_its_text() -> None:
    # aiohttp puts the whole URL, /bot<token>/getMe, in this error's text.
    async with BotApi(TOKEN, "http://127.0.0.1:99999/bot", 5.0, 0.0) as bot:
        with pytest.raises(NetworkError) as caught:
            await bot.get_me()
    assert "/bot[token]/getMe" in caught.value.message and shows_no_token(caught.value)


async def test_no_answer_in_time_is_timed_out(tg: TelegramStandIn, bot: BotApi) -> None:
    # The stand-in holds a long poll for 2 s; the request waits 0.3 s.
    with pytest.raises(TimedOut) as caught:
        await bot.call("getUpdates", {"timeout": 2}, timeout=0.3)
    assert shows_no_token(caught.value)
    said = diagnose(caught.value, Endpoint("shop-bot", "telegram", "127.0.0.1", tg.port))
    assert said.problem == f"127.0.0.1:{tg.port} did not answer in time"


async def test_a_long_poll_waits_past_the_request_timeout(tg: TelegramStandIn) -> None:
    # getUpdates' own timeout is added to the HTTP one, so a quiet poll is not an error.
    async with BotApi(TOKEN, tg.base_url, timeout=0.3, poll_timeout=1.0) as bot:
        assert await bot.get_updates(None, ["message"]) == []
    [poll] = [c for c in tg.calls if c.method == "getUpdates"]
    assert poll.params["timeout"] == 1 and poll.params["allowed_updates"] == ["message"]


@pytest.mark.parametrize(
    ("status", "doc", "kind", "text"),
    [
        (502, None, NetworkError, "Bad Gateway"),  # a proxy's HTML page, not JSON
        (504, None, NetworkError, "Unknown HTTPError (504)"),
        (200, {"ok": False}, TelegramError, "Invalid server response"),
        (413, None, BadRequest, "Unknown HTTPError"),  # a file over the upload limit
        (418, {"ok": False, "description": "I'm a teapot"}, TelegramError, "I'm a teapot (418)"),
    ],
)
def test_answers_without_telegram_error_json(
    status: int, doc: object, kind: type[TelegramError], text: str
) -> None:
    error = from_answer(status, doc)
    assert type(error) is kind and error.message == text


async def test_a_document_goes_as_a_file_with_caption_thread_and_reply(
    tg: TelegramStandIn, bot: BotApi
) -> None:
    tg.add_group(STAFF_GROUP, "Staff", forum=True)
    data = b"%PDF-1.7\n" + bytes(range(256)) * 40
    message = await bot.send_document(
        STAFF_GROUP,
        data,
        "faktur INV-0042 — Budi.pdf",
        caption="<b>Budi</b> (WhatsApp): invoice",
        parse_mode="HTML",
        message_thread_id=77,
        reply_parameters={"message_id": 5, "allow_sending_without_reply": True},
    )
    # The Message fields the Bot API always sends, and the Document as Telegram keeps it.
    assert {"message_id", "date", "chat"} <= message.keys()
    assert message["chat"]["id"] == STAFF_GROUP
    document = message["document"]
    assert (document["file_name"], document["file_size"]) == (
        "faktur INV-0042 — Budi.pdf",
        len(data),
    )
    assert document["file_id"] and document["file_unique_id"]
    [sent] = tg.sent
    assert (sent.method, sent.chat_id, sent.file_name, sent.file_size) == (
        "sendDocument",
        STAFF_GROUP,
        "faktur INV-0042 — Budi.pdf",
        len(data),
    )
    assert (sent.text, sent.parse_mode, sent.thread_id, sent.reply_to) == (
        "<b>Budi</b> (WhatsApp): invoice",
        "HTML",
        77,
        5,
    )
    # A customer's file name cannot add lines to the request's headers.
    odd = await bot.send_document(CUSTOMER, b"x", 'a"\r\nX-Evil: 1.txt')
    assert odd["document"]["file_name"] == 'a"__X-Evil: 1.txt'


async def test_a_photo_goes_as_a_photo_and_other_bytes_are_refused(
    tg: TelegramStandIn, bot: BotApi
) -> None:
    message = await bot.send_photo(CUSTOMER, PNG, "foto.png", caption="foto rusak")
    [size] = message["photo"]
    assert size["file_size"] == len(PNG) and size["width"] > 0 and size["height"] > 0
    assert message["caption"] == "foto rusak"
    with pytest.raises(BadRequest, match="IMAGE_PROCESS_FAILED") as caught:
        await bot.send_photo(CUSTOMER, b"%PDF-1.7", "invoice.pdf")
    assert shows_no_token(caught.value)
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(CUSTOMER, PNG, "foto.png", caption="x" * 1025)
    # Over the Bot API's 10 MB for a photo: no retry can send it.
    with pytest.raises(BadRequest):
        await bot.send_photo(CUSTOMER, PNG + b"\x00" * (10 * 1024 * 1024), "huge.png")
    assert [(s.method, s.file_name, s.text) for s in tg.sent] == [
        ("sendPhoto", "foto.png", "foto rusak")
    ]


async def test_the_proxy_in_the_environment_is_used_unless_no_proxy_says_otherwise(
    tg: TelegramStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stand-in plays the proxy: it answers a request for any host's /bot<token>/getMe.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{tg.port}")
    monkeypatch.delenv("http_proxy", raising=False)
    async with BotApi(TOKEN, "http://api.telegram.invalid/bot", 5.0, 0.0) as bot:
        assert (await bot.get_me())["username"] == "responder_test_bot"
    monkeypatch.setenv("NO_PROXY", "telegram.invalid")
    monkeypatch.delenv("no_proxy", raising=False)
    async with BotApi(TOKEN, "http://api.telegram.invalid/bot", 5.0, 0.0) as bot:
        with pytest.raises(NetworkError, match=r"api\.telegram\.invalid"):
            await bot.get_me()
    assert [c.method for c in tg.calls] == ["getMe"]
