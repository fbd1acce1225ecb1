"""A website chat whose staff desk is a mailbox (issue 17): each visitor message is mailed to
its staff addresses as a notice, and a staff member's reply to that mail, from their own mail
client, appears live in the visitor's panel; an echo of the notice is nobody's question."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from mailfactory import make_mail

from responder.testing import Dovecot, RecordingSMTPServer, free_port
from responder.testing.smtp import Received
from responder.testing.webchat import Visitor
from tests.harness import (
    SUPPORT,
    SUPPORT_PASSWORD,
    chat_url,
    db_rows,
    running,
    wait_connected,
    wait_until,
    write_webchat_config,
)

STAFF = "ani@toko-contoh.id"
# A first-response target no test reaches: the staff answer must stop its clock.
SLA = """\
sla:
  default: chat
  policies:
    - {name: chat, time: calendar, first_response: 1h}
"""


def with_desk_mailbox(
    tmp_path: Path, port: int, dovecot: Dovecot, smtp: RecordingSMTPServer, sla: str = SLA
) -> Path:
    """The web chat `web`, whose staff desk is the mailbox `support-mail` (staff: Ani)."""
    desk = "    staff_desk: support-mail"
    config = write_webchat_config(tmp_path, port, extra=sla, channel_extra=desk)
    password = tmp_path / "imap-password"
    password.write_text(SUPPORT_PASSWORD + "\n")
    with config.open("a") as out:
        out.write(
            f"""\
  - name: support-mail
    type: email
    address: {SUPPORT}
    display_name: Toko Contoh
    language: id
    staff: [{STAFF}]
    imap: {{host: 127.0.0.1, port: {dovecot.port}, security: none, username: {SUPPORT},
           password_file: {password}, folder: INBOX, timeout: 5s}}
    smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none, timeout: 5s}}
"""
        )
    return config


ANSWER = "Bisa kak, sebelum jam 3\n\n> Halo, bisa kirim hari ini?\n"  # above the quote


@asynccontextmanager
async def chatting(
    tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer, sla: str = SLA
) -> AsyncIterator[tuple[Path, Visitor]]:
    """The daemon with the desk mailbox, running and connected, and a visitor in session."""
    port = free_port()
    config = with_desk_mailbox(tmp_path, port, dovecot, smtp, sla)
    async with running(config) as app, Visitor(chat_url(port)) as visitor:
        await wait_connected(app)
        await visitor.session()
        yield config, visitor


async def staff_answers(dovecot: Dovecot, notice: Received, body: str, **kw: str) -> None:
    """A staff member replies to the notice from their mail client."""
    answer = make_mail(
        sender=kw.pop("sender", STAFF),
        to=SUPPORT,
        subject=f"Re: {notice.message['Subject']}",
        body=body,
        in_reply_to=notice.message["Message-ID"],
        **kw,
    )
    await dovecot.append_async(SUPPORT, answer)


def text_of(mail: Received, subtype: str) -> str:
    body = mail.message.get_body(preferencelist=(subtype,))
    assert body is not None
    content: str = body.get_content()
    return content


async def decided(config: Path, n: int) -> bool:
    rows = await db_rows(config, "inbound")
    return len(rows) >= n and all(r["state"] == "done" for r in rows)


async def test_staff_are_mailed_the_visitor_and_their_reply_appears_live(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    async with (
        chatting(tmp_path, dovecot, smtp_server) as (config, visitor),
        visitor.stream() as stream,
    ):
        await visitor.send("Kak, ukuran L masih ada? <b>")
        [notice] = await smtp_server.wait_for_async(1, timeout=10)
        await stream.wait(2)  # the message, the acknowledgement
        # Ani answers from her mail client, on top of the quoted notice.
        await staff_answers(
            dovecot,
            notice,
            "Masih ada kak, silakan order <i>\n-- \nAni, Toko Contoh\n\n"
            f"On Thu, 3 Dec 2026 at 10:00, Toko Contoh <{SUPPORT}> wrote:\n"
            "> Kak, ukuran L masih ada? <b>\n",
            sender=f"Ani <{STAFF}>",
            references=notice.message["Message-ID"],
        )
        *_, reply = await stream.wait(3)
        # The notice comes back to the shop's inbox (a Bcc, a Sent folder).
        await dovecot.append_async(SUPPORT, notice.data)
        await wait_until(lambda: decided(config, 3))
        await asyncio.sleep(0.3)
    [ticket] = await db_rows(config, "tickets")
    ref = ticket["ref"]
    # Staff get the ticket and the visitor's words as text, from the shop's own address.
    assert notice.rcpt_tos == (STAFF,)
    assert notice.message["Subject"] == f"[#{ref}] Chat situs web: Kak, ukuran L masih ada? <b>"
    assert SUPPORT in notice.message["From"]
    assert notice.message["Auto-Submitted"] == "auto-generated"
    assert "Kak, ukuran L masih ada? <b>" in text_of(notice, "plain")
    assert "masih ada? &lt;b&gt;" in text_of(notice, "html")
    # The visitor sees Ani's words only: not the quote, not her signature.
    assert reply["from"] == "staff" and reply["kind"] == "staff_reply"
    assert reply["text"] == "Masih ada kak, silakan order <i>"
    assert len(stream.events) == 3
    # Nobody else was written to: Ani's mail and the echo are answered by no one.
    assert len(smtp_server.received) == 1
    outcomes = [r["outcome"] for r in await db_rows(config, "inbound")]
    assert outcomes == ["replied", "staff-reply", "suppressed"]
    # The first response is in: the ticket's SLA clock stops as for any staff answer.
    assert [e["kind"] for e in await db_rows(config, "ticket_events")] == ["staff_reply"]
    timers = await db_rows(config, "timers")
    assert timers and {t["state"] for t in timers} == {"stopped"}


async def test_a_staff_reply_by_mail_reaches_a_polling_visitor(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    async with chatting(tmp_path, dovecot, smtp_server) as (_, visitor):
        sent = await visitor.send("Halo, bisa kirim hari ini?")
        [notice] = await smtp_server.wait_for_async(1, timeout=10)
        first = await visitor.poll(after=sent.body["id"])
        waiting = asyncio.create_task(visitor.poll(after=first.body["events"][-1]["id"]))
        await staff_answers(
            dovecot, notice, "Bisa kak, sebelum jam 3\n\n> Halo, bisa kirim hari ini?\n"
        )
        answered = await asyncio.wait_for(waiting, 10)
    assert [e["text"] for e in answered.body["events"]] == ["Bisa kak, sebelum jam 3"]


QUICK = """\
sla:
  default: chat
  policies:
    - {name: chat, time: calendar, first_response: 2s, remind: ["50%"]}
"""


async def test_sla_alerts_on_a_visitors_ticket_reach_the_desk_mailboxs_staff(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    async with chatting(tmp_path, dovecot, smtp_server, sla=QUICK) as (config, visitor):
        await visitor.send("Halo, pesanan saya belum dikirim")
        notice, reminder, breach = await smtp_server.wait_for_async(3, timeout=10)
    ref = (await db_rows(config, "tickets"))[0]["ref"]
    assert {m.rcpt_tos for m in (notice, reminder, breach)} == {(STAFF,)}
    assert reminder.message["Subject"].startswith(f"[#{ref}] Pengingat: respons pertama")
    assert breach.message["Subject"].startswith(f"[#{ref}] SLA terlewati")
    assert SUPPORT in reminder.message["From"]


async def test_a_visitor_who_left_an_email_gets_the_staff_mail_answer_there_too(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    async with chatting(tmp_path, dovecot, smtp_server) as (config, visitor):
        await visitor.send("Halo, bisa kirim hari ini?")
        [notice] = await smtp_server.wait_for_async(1, timeout=10)
        assert (await visitor.leave_email("sari@example.com")).status == 202
        [_, told] = await smtp_server.wait_for_async(2, timeout=10)
        await staff_answers(
            dovecot, notice, "Bisa kak, sebelum jam 3\n\n> Halo, bisa kirim hari ini?\n"
        )
        *_, mailed = await smtp_server.wait_for_async(3, timeout=10)
    ref = (await db_rows(config, "tickets"))[0]["ref"]
    # Staff are told of the address by mail too; the answer goes to it, named by the ticket.
    assert told.rcpt_tos == (STAFF,) and "sari@example.com" in text_of(told, "plain")
    assert mailed.rcpt_tos == ("sari@example.com",)
    assert mailed.message["Subject"] == f"Balasan chat Toko Contoh [#{ref}]"
    assert "Bisa kak, sebelum jam 3" in text_of(mailed, "plain")
    assert "> Halo" not in text_of(mailed, "plain")
