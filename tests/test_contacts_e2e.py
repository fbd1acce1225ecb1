"""One customer across channels (issue 18), end to end through real Dovecot, SMTP, the Bot
API stand-in and the web chat: staff link last month's mail and a Telegram chat once, and
every later ticket's post in the staff group shows the customer's history; a visitor who
leaves their address in the web chat, or a Telegram customer who shares their own number, is
linked by themselves; `responder contact` shows them whole."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from harness import (
    STAFF_GROUP,
    SUPPORT,
    TG_CUSTOMER,
    Clock,
    add_staff_bot,
    chat_url,
    db_rows,
    local,
    running,
    shown,
    staff_answer,
    wait_connected,
    wait_sent,
    write_config,
    write_webchat_config,
)
from mailfactory import make_mail

from responder.cli import main
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn, free_port
from responder.testing.webchat import Visitor

CUSTOMER = "budi@example.com"


async def mail_from(dovecot: Dovecot, sender: str, subject: str, message_id: str) -> None:
    await dovecot.append_async(
        SUPPORT,
        make_mail(sender=sender, subject=subject, body="Mohon dicek, kak.", message_id=message_id),
    )


async def contact(config: Path, capsys: pytest.CaptureFixture[str], *words: str) -> str:
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["contact", "-c", str(config), *words]) == 0
    return capsys.readouterr().out


async def test_staff_link_a_mail_and_a_telegram_chat_and_the_next_ticket_shows_the_history(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    add_staff_bot(
        config, tmp_path, tg, "    limits: {group_per_minute: 1000, per_chat_interval: 50ms}\n"
    )
    # Budi wrote by email last month (late in the evening: the shop's day, not UTC's).
    clock = Clock(local(2030, 1, 7, 22, 30))
    async with running(config, clock=clock) as app:
        await wait_connected(app)
        await mail_from(
            dovecot, f"Budi Santoso <{CUSTOMER}>", "Pesanan #1043 belum sampai", "<o-1@example.com>"
        )
        [by_mail] = await wait_sent(tg, STAFF_GROUP, 1)
    clock.now = local(2030, 2, 10, 9, 0)
    async with running(config, clock=clock) as app:
        await wait_connected(app)
        tg.push_message(TG_CUSTOMER, "Kak, paket saya belum sampai juga", first_name="Budi")
        [_, by_chat] = await wait_sent(tg, STAFF_GROUP, 2)
        # Nothing says the chat is Budi yet: a name alone links nobody.
        assert "🗂" not in shown(by_mail) and "🗂" not in shown(by_chat)
        [mail_ref, chat_ref] = [t["ref"] for t in await db_rows(config, "tickets")]
        await staff_answer(tg, by_chat, f"/link {mail_ref}")
        [*_, linked] = await wait_sent(tg, STAFF_GROUP, 3)
        await staff_answer(tg, by_chat, "/close")
        await wait_sent(tg, STAFF_GROUP, 4)
        tg.push_message(TG_CUSTOMER, "Kak, mau tanya ongkir ke Bandung", first_name="Budi")
        [*_, post] = await wait_sent(tg, STAFF_GROUP, 5)
        await staff_answer(tg, post, "/history")
        [*_, history] = await wait_sent(tg, STAFF_GROUP, 6)
    tickets = await db_rows(config, "tickets")
    new_ref = tickets[-1]["ref"]
    assert len({t["contact_id"] for t in tickets}) == 1
    said = shown(linked)
    assert f"#{chat_ref}" in said and f"#{mail_ref}" in said
    assert CUSTOMER in said and f"tg:{TG_CUSTOMER}" in said
    # The new ticket's post: two earlier conversations, the last one closed on Telegram,
    # and the mail still open.
    head = shown(post)
    assert f"#{new_ref}" in head and "2 percakapan sebelumnya" in head
    assert "Kak, paket saya belum sampai juga" in head and "selesai" in head
    assert f"juga terbuka: #{mail_ref} (lewat email)" in head
    listed = shown(history)
    assert f"#{mail_ref} · 2030-01-07 · lewat email" in listed, listed
    assert all(f"#{ref}" in listed for ref in (mail_ref, chat_ref, new_ref)), listed
    assert "Pesanan #1043 belum sampai" in listed and "3 percakapan" in listed

    out = await contact(config, capsys, f"tg:{TG_CUSTOMER}")
    assert CUSTOMER in out and f"tg:{TG_CUSTOMER}" in out and "Tickets: 3" in out
    assert "support-mail" in out and "shop-bot" in out and "Pesanan #1043" in out
    found = json.loads(await contact(config, capsys, "--json", mail_ref))
    assert {i["value"] for i in found["identities"]} == {CUSTOMER, f"tg:{TG_CUSTOMER}"}
    assert [t["ref"] for t in found["tickets"]] == [mail_ref, chat_ref, new_ref]
    assert [t["status"] for t in found["tickets"]] == ["open", "resolved", "open"]
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["export", "-c", str(config), "--no-bodies"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["contact"]["identities"] for r in rows] == [[CUSTOMER, f"tg:{TG_CUSTOMER}"]] * 3


async def test_a_visitor_who_leaves_an_address_is_linked_to_its_mail_by_itself(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    (tmp_path / "chat").mkdir()
    http = f"http: {{host: 127.0.0.1, port: {port}, public_url: https://bantuan.toko-contoh.id}}"
    config = write_config(tmp_path, dovecot, smtp_server, extra=http)
    chat = write_webchat_config(tmp_path / "chat", port).read_text().split("channels:\n", 1)[1]
    with config.open("a") as out:
        out.write(chat)
    add_staff_bot(config, tmp_path, tg)
    async with running(config) as app, Visitor(chat_url(port)) as visitor:
        await wait_connected(app)
        await mail_from(dovecot, "Sari <SARI@example.com>", "Retur sepatu", "<r-1@example.com>")
        await wait_sent(tg, STAFF_GROUP, 1)
        await visitor.session()
        async with visitor.stream() as stream:
            await visitor.send("Kak, retur saya sudah diterima?")
            [_, posted] = await wait_sent(tg, STAFF_GROUP, 2)
            await stream.wait(2)
            assert (await visitor.leave_email("sari@example.com")).status == 202
            await wait_sent(tg, STAFF_GROUP, 3)
    # A visitor alone is nobody we know; the address they left is Sari, who wrote by email.
    assert "🗂" not in shown(posted)
    out = await contact(config, capsys, "sari@example.com")
    assert "Tickets: 2" in out and "Retur sepatu" in out and "retur saya" in out
    found = json.loads(await contact(config, capsys, "--json", "sari@example.com"))
    kinds = {(i["kind"], i["how"]) for i in found["identities"]}
    assert kinds == {("email", "seen"), ("web", "seen")}
    identities = await db_rows(config, "contact_identities")
    assert len({i["contact_id"] for i in identities}) == 1


async def test_a_staff_notice_by_email_carries_the_customers_history(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    rules = """\
vip: [budi@example.com]
rules:
  - name: complaint
    when: {text_contains: ["rusak"]}
    then: {priority: urgent, notify_staff: true}
  - name: default
"""
    staff = "    staff: [owner@toko-contoh.id]"
    config = write_config(tmp_path, dovecot, smtp_server, extra=rules, channel_extra=staff)
    async with running(config) as app:
        await wait_connected(app)
        await mail_from(dovecot, f"Budi <{CUSTOMER}>", "Tanya ukuran sepatu", "<q-1@example.com>")
        await smtp_server.wait_for_async(1, timeout=5)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender=f"Budi <{CUSTOMER}>",
                subject="Barang rusak",
                body="Barang yang saya terima rusak.",
                message_id="<q-2@example.com>",
            ),
        )
        await smtp_server.wait_for_async(3, timeout=5)
    [first, _] = await db_rows(config, "tickets")
    [notice] = [r.message for r in smtp_server.received if r.rcpt_tos == ("owner@toko-contoh.id",)]
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert f'1 percakapan sebelumnya; terakhir {first["ref"]} "Tanya ukuran sepatu"' in text
    assert "masih terbuka; juga terbuka" in text and "Pelanggan VIP" in text


async def test_a_telegram_customer_who_shares_their_own_number_is_that_whatsapp_number(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    add_staff_bot(config, tmp_path, tg)
    async with running(config) as app:
        await wait_connected(app)
        tg.push_message(TG_CUSTOMER, "Kak, stok ukuran 42 ada?", first_name="Budi")
        await wait_sent(tg, STAFF_GROUP, 1)
        # A friend's card forwarded: its user is somebody else, so it links nobody.
        tg.push_message(TG_CUSTOMER, "", first_name="Budi", contact=("+62 811 0000 222", 7007))
        await wait_sent(tg, STAFF_GROUP, 2)
        tg.push_message(TG_CUSTOMER, "", first_name="Budi", contact=("6281234567890", TG_CUSTOMER))
        await wait_sent(tg, STAFF_GROUP, 3)
    found = json.loads(await contact(config, capsys, "--json", "+6281234567890"))
    kinds = {(i["kind"], i["value"], i["how"]) for i in found["identities"]}
    assert kinds == {
        ("telegram", f"tg:{TG_CUSTOMER}", "seen"),
        ("whatsapp", "+6281234567890", "auto"),
    }
    assert [t["subject"] for t in found["tickets"]] == ["Kak, stok ukuran 42 ada?"]
    values = {i["value"] for i in await db_rows(config, "contact_identities")}
    assert not any("0000222" in v for v in values)
