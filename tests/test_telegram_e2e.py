"""The Telegram channel end to end: the daemon against the Bot API stand-in on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from responder.testing import TelegramStandIn
from tests.harness import (
    STAFF_GROUP,
    TELEGRAM_TOKEN,
    TG_CUSTOMER,
    TG_STAFF,
    db_rows,
    running,
    sent_to,
    shown,
    staff_answer,
    wait_sent,
    wait_until,
    write_telegram_config,
)

CUSTOMER = TG_CUSTOMER
STAFF = TG_STAFF
OUTSIDER = 7999


async def test_a_customer_gets_an_acknowledgement_and_the_staff_group_sees_the_message(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url)
    async with running(config):
        pushed = tg.push_message(
            CUSTOMER, "Halo kak, pesanan saya belum sampai <3", first_name="Budi", username="budi88"
        )
        [ack] = await wait_sent(tg, CUSTOMER, 1)
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
    [ticket] = await db_rows(config, "tickets")
    assert ticket["customer"] == str(CUSTOMER) and ticket["customer_name"] == "Budi"
    assert ticket["language"] == "id" and ticket["status"] == "open"
    assert ack.method == "sendMessage" and ack.parse_mode == "HTML"
    assert f"#{ticket['ref']}" in ack.text and "Halo Budi" in ack.text
    assert ack.reply_to == pushed["message"]["message_id"]
    assert f"#{ticket['ref']}" in relay.text and "Budi (@budi88)" in relay.text
    # Customer text reaches the group as text, never as markup.
    assert "belum sampai <3" in shown(relay) and "&lt;3" in relay.text


SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
HOURS = """\
business_hours:
  weekly:
    mon: ["08:00-17:00"]
"""


async def test_out_of_hours_in_english_when_the_customer_writes_english(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, extra=HOURS)
    async with running(config, clock=lambda: SATURDAY_NIGHT):
        tg.push_message(
            CUSTOMER,
            "Hello, my order has not arrived yet, could you please check it for me?",
            first_name="Sarah",
            language_code="en",
        )
        [reply] = await wait_sent(tg, CUSTOMER, 1)
        tg.push_message(CUSTOMER, "Are you there?", first_name="Sarah", language_code="en")
        relays = await wait_sent(tg, STAFF_GROUP, 2)
    assert "we are closed" in shown(reply) and "Monday" in shown(reply)
    # The follow-up joins the ticket: relayed to staff, not answered a second time.
    assert len(sent_to(tg, CUSTOMER)) == 1
    assert "Are you there?" in shown(relays[1])
    assert len(await db_rows(config, "tickets")) == 1


async def test_a_staff_reply_reaches_the_customer_and_close_resolves_the_ticket(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url)
    async with running(config):
        tg.push_message(CUSTOMER, "Kak, ukuran L masih ada?", first_name="Budi")
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        await staff_answer(tg, relay, "Masih ada kak, silakan order 🙏")
        answer = (await wait_sent(tg, CUSTOMER, 2))[1]
        await staff_answer(tg, relay, "/note pelanggan lama, kasih diskon")
        await staff_answer(tg, relay, "/close")
        notes = await wait_sent(tg, STAFF_GROUP, 3)
        # Resolved: the customer's next message opens a new ticket with a new reference.
        tg.push_message(CUSTOMER, "Kak, saya mau tanya lagi soal ongkir", first_name="Budi")
        await wait_sent(tg, CUSTOMER, 3)
    assert answer.method == "copyMessage" and answer.text == "Masih ada kak, silakan order 🙏"
    first, second = await db_rows(config, "tickets")
    assert first["status"] == "resolved" and first["resolved_at"] is not None
    assert second["status"] == "open" and second["ref"] != first["ref"]
    events = [(e["kind"], e["detail"]) for e in await db_rows(config, "ticket_events")]
    assert events == [
        ("staff_reply", "Masih ada kak, silakan order 🙏"),
        ("note", "pelanggan lama, kasih diskon"),
        ("closed", None),
    ]
    assert "Catatan disimpan" in shown(notes[1]) and f"#{first['ref']} ditutup" in shown(notes[2])
    # The note never reached the customer.
    assert not any("diskon" in (m.text or "") for m in sent_to(tg, CUSTOMER))


async def test_only_staff_group_members_answer_customers(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url)
    async with running(config):
        tg.push_message(CUSTOMER, "Halo, mau tanya stok", first_name="Budi")
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        await staff_answer(tg, relay, "saya bukan staff", from_id=OUTSIDER)
        await staff_answer(tg, relay, "/close", from_id=OUTSIDER)

        async def decided() -> bool:
            rows = await db_rows(config, "inbound")
            return len(rows) == 3 and all(r["state"] == "done" for r in rows)

        await wait_until(decided)
    assert len(sent_to(tg, CUSTOMER)) == 1  # the acknowledgement only
    [ticket] = await db_rows(config, "tickets")
    assert ticket["status"] == "open"
    rules = [s["rule"] for s in await db_rows(config, "suppressions")]
    assert rules == ["not-staff", "not-staff"]


async def test_start_gets_a_welcome_and_opens_no_ticket(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url)
    async with running(config):
        tg.push_message(CUSTOMER, "/start", first_name="Budi")
        [welcome] = await wait_sent(tg, CUSTOMER, 1)
    assert "selamat datang di Toko Contoh" in shown(welcome)
    assert await db_rows(config, "tickets") == []
    assert sent_to(tg, STAFF_GROUP) == []


async def test_bots_edits_channel_posts_and_other_groups_are_not_answered(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url)
    async with running(config):
        tg.push_message(CUSTOMER + 1, "I am a bot", is_bot=True)
        tg.push_edited(CUSTOMER + 2, "edited text")
        tg.push_channel_post(-100777, "channel news")
        tg.push_message(-100888, "hello group", chat_type="group", from_id=CUSTOMER + 3)
        tg.push_message(CUSTOMER + 4, "Halo, ini pesan sungguhan", first_name="Rina")
        await wait_sent(tg, CUSTOMER + 4, 1)

        async def decided() -> bool:
            return len(await db_rows(config, "suppressions")) == 4

        await wait_until(decided)
    rules = sorted(s["rule"] for s in await db_rows(config, "suppressions"))
    assert rules == ["bot", "channel-post", "edited", "not-private"]
    assert {m.chat_id for m in tg.sent} == {CUSTOMER + 4, STAFF_GROUP}


async def test_a_photo_is_recorded_acknowledged_and_copied_to_staff(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url)
    async with running(config):
        tg.push_message(CUSTOMER, "bukti transfer", photo=True, first_name="Budi")
        [ack] = await wait_sent(tg, CUSTOMER, 1)
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
    [ticket] = await db_rows(config, "tickets")
    assert ticket["subject"] == "bukti transfer"
    assert relay.method == "copyMessage"
    assert f"#{ticket['ref']}" in shown(relay) and "bukti transfer" in shown(relay)
    assert f"#{ticket['ref']}" in shown(ack)


async def test_topics_one_per_ticket_in_a_forum_staff_group(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    tg.add_group(STAFF_GROUP, "Toko Contoh staff", forum=True)
    config = write_telegram_config(tmp_path, tg.base_url)
    async with running(config):
        tg.push_message(CUSTOMER, "Halo, pesanan A", first_name="Budi")
        first = (await wait_sent(tg, STAFF_GROUP, 1))[0]
        tg.push_message(CUSTOMER + 1, "Halo, pesanan B", first_name="Rina")
        await wait_sent(tg, STAFF_GROUP, 2)
        tg.push_message(CUSTOMER, "Tambahan untuk pesanan A", first_name="Budi")
        posts = await wait_sent(tg, STAFF_GROUP, 3)
        # A staff member writes in Budi's topic without quoting a post.
        tg.push_message(
            STAFF_GROUP,
            "Sudah kami cek kak",
            from_id=STAFF,
            chat_type="supergroup",
            message_thread_id=first.thread_id,
        )
        await wait_sent(tg, CUSTOMER, 2)
    topics = tg.topics[STAFF_GROUP]
    assert len(topics) == 2 and topics[0]["name"].startswith("#")
    assert posts[0].thread_id == posts[2].thread_id == topics[0]["message_thread_id"]
    assert posts[1].thread_id == topics[1]["message_thread_id"]
    assert sent_to(tg, CUSTOMER)[1].text == "Sudah kami cek kak"


async def test_429_waits_what_telegram_says_and_sends_once(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, staff_chat=None)
    async with running(config):
        tg.fail_next("sendMessage", 429, retry_after=2)
        started = time.monotonic()
        tg.push_message(CUSTOMER, "Halo, mau tanya", first_name="Budi")
        [ack] = await wait_sent(tg, CUSTOMER, 1)
        await asyncio.sleep(0.5)
    assert ack.at - started >= 2.0
    [reply] = await db_rows(config, "replies")
    assert reply["state"] == "sent" and reply["attempts"] == 2
    assert len(sent_to(tg, CUSTOMER)) == 1


async def test_a_customer_who_blocked_the_bot_is_marked_and_not_retried(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, staff_chat=None)
    async with running(config):
        tg.fail_next("sendMessage", 403)
        tg.push_message(CUSTOMER, "Halo", first_name="Budi")

        async def parked() -> bool:
            return [r["state"] for r in await db_rows(config, "replies")] == ["parked"]

        await wait_until(parked)
        await asyncio.sleep(0.5)  # a retry would come within retry_base (0.2s)
        sends = [c for c in tg.calls if c.method == "sendMessage"]
        [blocked] = await db_rows(config, "blocked")
    assert len(sends) == 1
    assert blocked["recipient"] == str(CUSTOMER)


async def test_an_invalid_token_fails_the_channel_with_the_remedy_and_is_never_logged(
    tmp_path: Path, tg: TelegramStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    tg.invalid_token = True
    config = write_telegram_config(tmp_path, tg.base_url)
    caplog.set_level(logging.DEBUG)
    async with running(config) as app:

        async def said() -> bool:
            return app.health() == {"shop-bot": "failed"} and "token was refused" in caplog.text

        await wait_until(said)
    assert (
        "channel shop-bot: the token was refused by 127.0.0.1 (channels[0].token_file): "
        "check token_file: copy the token BotFather gave" in caplog.text
    )
    assert TELEGRAM_TOKEN.split(":")[1] not in caplog.text
