"""The web chat's offline form (issue 17): a visitor leaves an email address, staff see it in
the group, and their answers then reach the visitor by email on the same ticket, through real
Dovecot, the SMTP sink and the Bot API stand-in."""

from __future__ import annotations

from pathlib import Path

from harness import (
    STAFF_GROUP,
    SUPPORT,
    add_staff_bot,
    chat_url,
    db_rows,
    running,
    shown,
    staff_answer,
    wait_connected,
    wait_sent,
    wait_until,
    write_config,
    write_webchat_config,
)
from mailfactory import make_mail

from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn, free_port
from responder.testing.webchat import Visitor

VISITOR_EMAIL = "sari@example.com"


def write(
    tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer, tg: TelegramStandIn, port: int
) -> Path:
    """The mailbox, the web chat on the HTTP endpoint, and the one staff group."""
    http = f"http: {{host: 127.0.0.1, port: {port}, public_url: https://bantuan.toko-contoh.id}}"
    config = write_config(tmp_path, dovecot, smtp, extra=http)
    chat = write_webchat_config(tmp_path / "chat", port).read_text().split("channels:\n", 1)[1]
    with config.open("a") as out:
        out.write(chat)
    return add_staff_bot(config, tmp_path, tg)


async def test_a_visitor_who_leaves_an_email_gets_staff_answers_there_on_the_same_ticket(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    port = free_port()
    (tmp_path / "chat").mkdir()
    config = write(tmp_path, dovecot, smtp_server, tg, port)
    async with running(config) as app, Visitor(chat_url(port)) as visitor:
        await wait_connected(app)
        session = await visitor.session()
        async with visitor.stream() as stream:
            await visitor.send("Kak, sepatu ukuran 40 ready?\nWarna hitam")
            await wait_sent(tg, STAFF_GROUP, 1)
            await stream.wait(2)  # the message, the acknowledgement
            assert (await visitor.leave_email("bukan alamat")).status == 400
            assert (await visitor.leave_email(f"{VISITOR_EMAIL}\r\nBcc: x@evil.test")).status == 400
            assert (await visitor.leave_email(VISITOR_EMAIL)).status == 202
            [_, left] = await wait_sent(tg, STAFF_GROUP, 2)
            await staff_answer(tg, left, "Ready kak, warna hitam masih ada 🙏")
            [mail] = await smtp_server.wait_for_async(1, timeout=10)
            *_, answer = await stream.wait(4)
    [ticket] = await db_rows(config, "tickets")
    ref = ticket["ref"]
    assert session.body["ask_email_after"] == 300
    # Staff see the address on the ticket, and that their answers go there too.
    assert f"#{ref}" in shown(left) and VISITOR_EMAIL in shown(left)
    assert "Meninggalkan alamat email" in shown(left)
    # The panel shows the address it was given, and the answer too.
    kinds = [e["kind"] for e in stream.events]
    assert kinds == ["message", "acknowledgement", "email", "staff_reply"]
    assert stream.events[2]["email"] == VISITOR_EMAIL
    assert answer["text"] == "Ready kak, warna hitam masih ada 🙏"
    # The answer by email: from the shop, to the address alone, named by the ticket.
    assert mail.rcpt_tos == (VISITOR_EMAIL,)
    msg = mail.message
    assert msg["To"] == VISITOR_EMAIL and msg["From"] == f"Toko Contoh <{SUPPORT}>"
    # Our words only: what a visitor typed never reaches a subject line.
    assert msg["Subject"] == f"Balasan chat Toko Contoh [#{ref}]"
    assert msg["Auto-Submitted"] is None  # a person wrote it (RFC 3834 section 5)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Ready kak, warna hitam masih ada 🙏" in text

    # The visitor answers the mail: it follows up the same ticket, staff see it in the group,
    # and their next answer goes by email again (and to the panel).
    await dovecot.append_async(
        SUPPORT,
        make_mail(
            sender=f"Sari <{VISITOR_EMAIL}>",
            subject=f"Re: {msg['Subject']}",
            body="Oke kak, saya pesan 1 ya.",
            message_id="<sari-1@example.com>",
            in_reply_to=msg["Message-ID"],
        ),
    )
    async with running(config) as app:
        await wait_connected(app)
        [*_, follow] = await wait_sent(tg, STAFF_GROUP, 3)
        await staff_answer(tg, follow, "Siap kak, kami proses.")
        [_, second] = await smtp_server.wait_for_async(2, timeout=10)
        await wait_until(lambda: _answered(config, 2))
    assert len(await db_rows(config, "tickets")) == 1
    assert f"#{ref}" in shown(follow) and "saya pesan 1" in shown(follow)
    assert second.rcpt_tos == (VISITOR_EMAIL,) and f"[#{ref}]" in second.message["Subject"]
    # Threaded under the visitor's mail, which they answered from.
    assert second.message["In-Reply-To"] == "<sari-1@example.com>"


async def _answered(config: Path, n: int) -> bool:
    events = await db_rows(config, "ticket_events", kind="staff_reply")
    return len(events) >= n


async def test_a_chat_with_no_email_channel_offers_no_form(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    port = free_port()
    config = add_staff_bot(write_webchat_config(tmp_path, port), tmp_path, tg)
    async with running(config), Visitor(chat_url(port)) as visitor:
        session = await visitor.session()
        await visitor.send("Halo")
        await wait_sent(tg, STAFF_GROUP, 1)
        status = (await visitor.leave_email(VISITOR_EMAIL)).status
    assert session.body["ask_email_after"] is None
    assert status == 404
