"""The Telegram staff desk serves the mailbox too, end to end through real Dovecot, SMTP and
the Bot API stand-in: a mail is posted in the staff group, answered there by email."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from harness import (
    STAFF_GROUP,
    SUPPORT,
    TG_STAFF,
    Clock,
    add_staff_bot,
    db_rows,
    local,
    running,
    shown,
    staff_answer,
    wait_connected,
    wait_sent,
    wait_until,
    write_config,
)
from mailfactory import make_mail
from test_report import cell

from responder.cli import main
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn

CUSTOMER = "budi@example.com"


def write(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp: RecordingSMTPServer,
    tg: TelegramStandIn,
    extra: str = "",
    channel_extra: str = "",
) -> Path:
    """The mailbox, and a bot whose staff group is the one desk (no staff_desk key)."""
    config = write_config(tmp_path, dovecot, smtp, extra=extra, channel_extra=channel_extra)
    limits = "    limits: {group_per_minute: 1000, per_chat_interval: 50ms}\n"
    return add_staff_bot(config, tmp_path, tg, limits)


async def customer_mail(dovecot: Dovecot, body: str, **kw: str) -> None:
    await dovecot.append_async(
        SUPPORT,
        make_mail(
            sender=f"Budi Santoso <{CUSTOMER}>",
            subject=kw.get("subject", "Pesanan #1043 belum sampai"),
            body=body,
            message_id=kw.get("message_id", "<order-1043@example.com>"),
        ),
    )


async def test_a_mail_is_posted_in_the_staff_group_with_its_reference_and_first_lines(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    config = write(tmp_path, dovecot, smtp_server, tg)
    async with running(config) as app:
        await wait_connected(app)
        await customer_mail(dovecot, "Halo <b>kak</b>, pesanan saya belum sampai.\nMohon dicek.")
        [post] = await wait_sent(tg, STAFF_GROUP, 1)
        [ack] = await smtp_server.wait_for_async(1, timeout=5)
    [ticket] = await db_rows(config, "tickets")
    assert ticket["channel"] == "support-mail"
    seen = shown(post)
    assert f"#{ticket['ref']}" in seen and "Budi Santoso" in seen
    assert "Pesanan #1043 belum sampai" in seen and "Mohon dicek." in seen
    # The customer's text reaches the group as text, never as markup.
    assert "&lt;b&gt;kak&lt;/b&gt;" in (post.text or "")
    assert ack.rcpt_tos == (CUSTOMER,)
    [relay] = [r for r in await db_rows(config, "replies") if r["kind"] == "staff_relay"]
    assert relay["channel"] == "shop-bot" and relay["state"] == "sent"


async def test_a_staff_reply_in_the_group_reaches_the_customer_by_email_threaded_once(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    config = write(tmp_path, dovecot, smtp_server, tg)
    async with running(config) as app:
        await wait_connected(app)
        await customer_mail(dovecot, "Halo, pesanan saya belum sampai.")
        [post] = await wait_sent(tg, STAFF_GROUP, 1)
        await smtp_server.wait_for_async(1, timeout=5)
        await staff_answer(tg, post, "Sudah kami cek kak <3\nPaket tiba besok {{ ref }}")
        await smtp_server.wait_for_async(2, timeout=5)
        await wait_until(lambda: _all_sent(config))
    # Once across a restart: nothing is sent again.
    async with running(config) as app:
        await wait_connected(app)
        await wait_until(lambda: _all_sent(config))
    ack, answer = smtp_server.received
    [ticket] = await db_rows(config, "tickets")
    msg = answer.message
    assert answer.rcpt_tos == (CUSTOMER,)
    assert msg["From"] == f"Toko Contoh <{SUPPORT}>"
    assert msg["To"] == f"Budi Santoso <{CUSTOMER}>"
    assert msg["Subject"] == f"Re: Pesanan #1043 belum sampai [#{ticket['ref']}]"
    assert msg["In-Reply-To"] == "<order-1043@example.com>"
    assert msg["References"] == "<order-1043@example.com>"
    # A person wrote it: not marked as an automatic reply (RFC 3834 section 5).
    assert msg["Auto-Submitted"] is None and ack.message["Auto-Submitted"] == "auto-replied"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    # The staff member's words are data: never template source, escaped in HTML.
    assert "Sudah kami cek kak <3" in text and "Paket tiba besok {{ ref }}" in text
    assert "kak &lt;3" in html and "<3" not in html
    events = [(e["kind"], e["detail"]) for e in await db_rows(config, "ticket_events")]
    assert events == [("staff_reply", "Sudah kami cek kak <3\nPaket tiba besok {{ ref }}")]
    [reply] = [r for r in await db_rows(config, "replies") if r["kind"] == "staff_reply"]
    assert reply["channel"] == "support-mail" and reply["state"] == "sent"
    # The customer's answer to it follows up the same ticket.
    await customer_mail(
        dovecot,
        "Terima kasih!",
        subject=f"Re: {msg['Subject']}",
        message_id="<thanks@example.com>",
    )
    async with running(config) as app:
        await wait_connected(app)
        await wait_until(lambda: _decided(config, 3))
        await wait_sent(tg, STAFF_GROUP, 2)
    assert len(await db_rows(config, "tickets")) == 1
    assert len(smtp_server.received) == 2


async def test_an_answer_from_the_desk_is_the_mail_tickets_first_response_in_the_report(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write(tmp_path, dovecot, smtp_server, tg)
    async with running(config) as app:
        await wait_connected(app)
        await customer_mail(dovecot, "Halo, pesanan saya belum sampai.")
        [post] = await wait_sent(tg, STAFF_GROUP, 1)
        await staff_answer(tg, post, "Sudah kami cek, paket tiba besok.")
        await smtp_server.wait_for_async(2, timeout=5)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["report", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert cell(out, "Tickets opened") == "1"
    assert cell(out, "No response yet") == "0"
    # Measured from the customer's mail to the answer in the group: seconds, not "-".
    assert cell(out, "First response, median") not in ("-", "")


async def test_a_photo_answered_to_a_mail_customer_is_not_lost_silently(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    config = write(tmp_path, dovecot, smtp_server, tg)
    async with running(config) as app:
        await wait_connected(app)
        await customer_mail(dovecot, "Halo, paket saya rusak.")
        [post] = await wait_sent(tg, STAFF_GROUP, 1)
        await smtp_server.wait_for_async(1, timeout=5)  # the acknowledgement
        await staff_answer(tg, post, "", photo=True)
        warning = (await wait_sent(tg, STAFF_GROUP, 2))[-1]
        await staff_answer(tg, post, "Ini foto paket penggantinya, kak", photo=True)
        partial = (await wait_sent(tg, STAFF_GROUP, 3))[-1]
        await smtp_server.wait_for_async(2, timeout=5)
        await asyncio.sleep(0.3)  # room for a mail that must not come
    [ticket] = await db_rows(config, "tickets")
    ref = ticket["ref"]
    # Staff hear, under their own message, that a photo cannot be mailed.
    assert warning.text is not None and warning.text.startswith(f"⚠️ Tidak terkirim: #{ref}")
    assert partial.text is not None and "teks Anda terkirim, lampirannya tidak" in partial.text
    # The customer got the caption by email, once; the bare photo sent nothing.
    assert len(smtp_server.received) == 2
    text = smtp_server.received[1].message.get_body(preferencelist=("plain",)).get_content()
    assert "Ini foto paket penggantinya, kak" in text
    # Only the answer that reached the customer counts as a staff reply.
    events = [(e["kind"], e["detail"]) for e in await db_rows(config, "ticket_events")]
    assert events == [("staff_reply", "Ini foto paket penggantinya, kak")]


async def _all_sent(config: Path) -> bool:
    return all(r["state"] == "sent" for r in await db_rows(config, "replies"))


async def _decided(config: Path, n: int) -> bool:
    rows = await db_rows(config, "inbound")
    return len(rows) >= n and all(r["state"] == "done" for r in rows)


CSAT = """\
csat:
  after_resolved: 1h
  send_between: "09:00-20:00"
  once_per: 30d
  low: 2
"""


async def test_close_in_the_group_resolves_the_mail_ticket_and_its_survey_follows_by_email(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    config = write(tmp_path, dovecot, smtp_server, tg, extra=CSAT)
    clock = Clock(local(2030, 1, 7, 15, 0))
    async with running(config, clock=clock) as app:
        await wait_connected(app)
        await customer_mail(dovecot, "Halo, pesanan saya belum sampai.")
        [post] = await wait_sent(tg, STAFF_GROUP, 1)
        await staff_answer(tg, post, "Sudah kami kirim hari ini kak.")
        await staff_answer(tg, post, "/note pelanggan lama")
        await staff_answer(tg, post, "/close")
        _, noted, closed = await wait_sent(tg, STAFF_GROUP, 3)
        [ticket] = await db_rows(config, "tickets")
        assert ticket["status"] == "resolved" and ticket["resolved_at"] is not None
        assert "Catatan disimpan" in shown(noted)
        assert f"#{ticket['ref']} ditutup" in shown(closed)
        await staff_answer(tg, post, "/reopen")
        await wait_sent(tg, STAFF_GROUP, 4)
        await staff_answer(tg, post, "/close")
        await wait_sent(tg, STAFF_GROUP, 5)
        # As for any resolved ticket: the survey, an hour later, by email on its thread.
        [survey] = await db_rows(config, "surveys")
        assert survey["state"] == "planned" and survey["due_at"] == local(2030, 1, 7, 16, 0)
        clock.now = local(2030, 1, 7, 16, 10)
        assert app.surveys is not None
        await app.surveys.run_due()
        await smtp_server.wait_for_async(3, timeout=5)
    _, answer, sent = smtp_server.received
    assert sent.rcpt_tos == (CUSTOMER,) and answer.rcpt_tos == (CUSTOMER,)
    assert sent.message["In-Reply-To"] == "<order-1043@example.com>"
    assert "1 (buruk) sampai 5 (sangat baik)" in sent.message.get_body(("plain",)).get_content()
    events = [e["kind"] for e in await db_rows(config, "ticket_events")]
    assert events == ["staff_reply", "note", "closed", "reopened", "closed"]
    # The note never reached the customer.
    assert all("pelanggan lama" not in r.data.decode() for r in smtp_server.received)


SLA = """\
sla:
  default: quick
  policies:
    - name: quick
      time: calendar
      first_response: 4s
      remind: ["25%"]
"""


async def test_an_sla_reminder_in_the_group_answered_there_reaches_the_customer(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    config = write(tmp_path, dovecot, smtp_server, tg, extra=SLA)
    async with running(config) as app:
        await wait_connected(app)
        await customer_mail(dovecot, "Paket saya belum sampai?")
        _, reminder = await wait_sent(tg, STAFF_GROUP, 2, timeout=6)
        assert "Pengingat" in shown(reminder) and "Paket saya belum sampai?" in shown(reminder)
        await staff_answer(tg, reminder, "Maaf kak, paket dikirim hari ini.")
        _, answer = await smtp_server.wait_for_async(2, timeout=5)
        await wait_until(lambda: _all_sent(config))
        await asyncio.sleep(3)  # past the 4 s target: a clock still running would breach
    [ticket] = await db_rows(config, "tickets")
    assert answer.rcpt_tos == (CUSTOMER,)
    assert answer.message["In-Reply-To"] == "<order-1043@example.com>"
    assert f"[#{ticket['ref']}]" in answer.message["Subject"]
    text = answer.message.get_body(preferencelist=("plain",)).get_content()
    assert "Maaf kak, paket dikirim hari ini." in text
    # The answer stopped the clock: no breach notice followed, and it counts as the first
    # response.
    posts = await wait_sent(tg, STAFF_GROUP, 2)
    assert len(posts) == 2, [shown(p)[:40] for p in posts]
    events = [e["kind"] for e in await db_rows(config, "ticket_events")]
    assert events == ["sla_reminder", "staff_reply"]


async def test_a_mail_ticket_keeps_one_topic_in_a_forum_staff_group(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    """In a forum group each ticket is a topic: the customer's follow-up mail is posted in
    the topic its first mail opened, and an answer written in the topic (quoting nothing)
    reaches the customer by email."""
    tg.add_group(STAFF_GROUP, "Toko Contoh staff", forum=True)
    config = write(tmp_path, dovecot, smtp_server, tg)
    async with running(config) as app:
        await wait_connected(app)
        await customer_mail(dovecot, "Halo kak, pesanan saya belum sampai.")
        [first] = await wait_sent(tg, STAFF_GROUP, 1)
        [ack] = await smtp_server.wait_for_async(1, timeout=5)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender=f"Budi Santoso <{CUSTOMER}>",
                subject=f"Re: {ack.message['Subject']}",
                body="Tambahan: nomor resi JNE 1234.",
                in_reply_to=ack.message["Message-ID"],
            ),
        )
        posts = await wait_sent(tg, STAFF_GROUP, 2)
        tg.push_message(
            STAFF_GROUP,
            "Sudah kami cek kak, paket dikirim besok.",
            from_id=TG_STAFF,
            chat_type="supergroup",
            message_thread_id=first.thread_id,
        )
        answer = await smtp_server.wait_for_async(2, timeout=5)
    topics = tg.topics[STAFF_GROUP]
    assert len(topics) == 1
    assert first.thread_id == posts[1].thread_id == topics[0]["message_thread_id"]
    assert "nomor resi JNE 1234" in shown(posts[1])
    mail = answer[1].message
    assert answer[1].rcpt_tos == (CUSTOMER,)
    assert "paket dikirim besok" in mail.get_body(preferencelist=("plain",)).get_content()
