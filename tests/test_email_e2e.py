"""End to end through real Dovecot and SMTP: acknowledgements, threading, silence to machines."""

from __future__ import annotations

import time
from pathlib import Path

from harness import (
    SUPPORT,
    all_decided,
    all_sent,
    db_rows,
    running,
    wait_connected,
    wait_until,
    write_config,
)
from mailfactory import make_mail

from responder.testing import Dovecot, RecordingSMTPServer

CORPUS = Path(__file__).parent / "corpus"


async def test_customer_mail_is_acknowledged_once_within_a_second(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        raw = make_mail(
            sender="Budi Santoso <budi@example.com>",
            subject="Pesanan #1043 belum sampai",
            body="Halo, pesanan saya belum sampai. Mohon dicek.",
            message_id="<order-1043@example.com>",
        )
        started = time.monotonic()
        uid = await dovecot.append_async(SUPPORT, raw)
        [received] = await smtp_server.wait_for_async(1, timeout=5)
        latency = received.at - started
        await wait_until(lambda: all_sent(config))
    assert latency < 1.0, f"acknowledged after {latency:.2f}s"
    msg = received.message
    assert received.envelope_from == ""  # RFC 3834 section 3.3: null reverse-path
    assert received.rcpt_tos == ("budi@example.com",)
    assert msg["From"] == f"Toko Contoh <{SUPPORT}>"
    assert msg["To"] == "Budi Santoso <budi@example.com>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == "<order-1043@example.com>"
    assert msg["References"] == "<order-1043@example.com>"
    assert msg["Message-ID"].endswith("@toko-contoh.id>")
    [ticket] = await db_rows(config, "tickets")
    assert msg["Subject"] == f"Re: Pesanan #1043 belum sampai [#{ticket['ref']}]"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert ticket["ref"] in text.get_content() and "Halo Budi Santoso" in text.get_content()
    assert ticket["ref"] in html.get_content()
    # BODY.PEEK: the staff still see the customer's mail as unread.
    assert "\\Seen" not in dovecot.fetch_flags(SUPPORT, uid)


async def test_a_burst_of_small_and_big_mails_answers_each_customer_their_own(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    """A burst is recorded in multi-row statements and decided in batches, 40 KB mails among
    2 KB ones (issue 15): each acknowledgement still answers its own customer's mail."""
    config = write(tmp_path, dovecot, smtp_server)
    subjects = {}
    async with running(config) as app:
        await wait_connected(app)
        for n in range(8):
            sender = f"customer{n}@example.com"
            subjects[sender] = f"Pesanan #{1000 + n}"
            # Every other one carries 40 KB of order details: over the inline parse limit.
            details = "Rincian pesanan: kaos hitam ukuran L, 2 buah.\n" * 900 if n % 2 else ""
            body = f"Halo, pesanan #{1000 + n} belum sampai.\n{details}"
            raw = make_mail(sender=sender, subject=subjects[sender], body=body)
            await dovecot.append_async(SUPPORT, raw)
        received = await smtp_server.wait_for_async(8, timeout=10)
        await wait_until(lambda: all_sent(config))
    tickets = {t["customer"]: t["ref"] for t in await db_rows(config, "tickets")}
    assert len(tickets) == 8
    for reply in received:
        [customer] = reply.rcpt_tos
        expected = f"Re: {subjects[customer]} [#{tickets[customer]}]"
        assert reply.message["Subject"] == expected
    assert len(smtp_server.received) == 8


async def test_follow_up_joins_the_ticket_without_a_second_acknowledgement(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender="sarah@example.net",
                subject="Wholesale prices",
                message_id="<first@example.net>",
            ),
        )
        [ack] = await smtp_server.wait_for_async(1, timeout=5)
        ack_id = ack.message["Message-ID"].strip("<>")
        ref = (await db_rows(config, "tickets"))[0]["ref"]
        # A reply to our acknowledgement, a reply to her own first mail, and a new mail that
        # only carries the reference in its subject: all one conversation.
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender="sarah@example.net",
                subject=f"Re: Re: Wholesale prices [#{ref}]",
                in_reply_to=f"<{ack_id}>",
                references=f"<first@example.net> <{ack_id}>",
            ),
        )
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender="sarah@example.net",
                subject="One more thing",
                in_reply_to="<first@example.net>",
            ),
        )
        await dovecot.append_async(
            SUPPORT, make_mail(sender="sarah@example.net", subject=f"Order update [#{ref.lower()}]")
        )
        # And a new conversation from the same customer opens a new ticket.
        await dovecot.append_async(
            SUPPORT, make_mail(sender="sarah@example.net", subject="A different question")
        )
        await smtp_server.wait_for_async(2, timeout=5)
        await wait_until(lambda: all_decided(config, 5))
    outcomes = [r["outcome"] for r in await db_rows(config, "inbound")]
    assert outcomes == ["replied", "follow-up", "follow-up", "follow-up", "replied"]
    assert len(await db_rows(config, "tickets")) == 2
    assert len(smtp_server.received) == 2


async def test_machine_mail_is_never_answered_and_each_suppression_is_recorded(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write(tmp_path, dovecot, smtp_server)
    machine = sorted((CORPUS / "machine").glob("*.eml"))
    human = sorted((CORPUS / "human").glob("*.eml"))
    async with running(config) as app:
        await wait_connected(app)
        for path in [*machine, *human]:
            await dovecot.append_async(SUPPORT, path.read_bytes())
        await wait_until(lambda: all_decided(config, len(machine) + len(human)), timeout=20)
        await wait_until(lambda: all_sent(config))
    suppressions = await db_rows(config, "suppressions")
    by_rule = sorted(row["rule"] for row in suppressions)
    assert by_rule == sorted(p.name.split("--")[0] for p in machine)
    # Every human mail got exactly one acknowledgement, whatever its charset or oddities,
    # except Siti's reply in the thread of her first mail, which joins that ticket.
    [followup] = await db_rows(config, "inbound", outcome="follow-up")
    assert followup["external_id"] == "CAL8sW3p0y+Rn2bCdE3fGhI4jKl@mail.gmail.com"
    replied = await db_rows(config, "inbound", outcome="replied")
    assert len(replied) == len(human) - 1
    assert len(smtp_server.received) == len(human) - 1


async def test_reply_cap_limits_automatic_replies_per_sender(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write(
        tmp_path, dovecot, smtp_server, extra="guards: {reply_cap: {max_replies: 2, window: 1h}}"
    )
    async with running(config) as app:
        await wait_connected(app)
        for n in range(4):
            await dovecot.append_async(
                SUPPORT, make_mail(sender="loop@example.org", subject=f"Question {n}")
            )
        await wait_until(lambda: all_decided(config, 4))
        await wait_until(lambda: all_sent(config))
    assert len(smtp_server.received) == 2
    [first, second] = await db_rows(config, "suppressions")
    assert first["rule"] == second["rule"] == "reply-cap"


def write(tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer, **kw: str) -> Path:
    return write_config(tmp_path, dovecot, smtp, **kw)
