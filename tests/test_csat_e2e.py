"""Satisfaction surveys by email, through real Dovecot and SMTP with an injected clock: sent
once at a decent hour after resolution, answered by a reply in the customer's words, a low
rating told to staff, once per customer in the window, and cancelled by a reopen."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from harness import (
    SUPPORT,
    Clock,
    db_rows,
    local,
    running,
    wait_connected,
    wait_until,
    write_config,
)
from mailfactory import make_mail

from responder.app.daemon import App
from responder.testing import Dovecot, RecordingSMTPServer

STAFF = "ani@toko-contoh.id"
CUSTOMER = "budi@example.com"
CSAT = """\
csat:
  after_resolved: 1h
  send_between: "09:00-20:00"
  once_per: 30d
  low: 2
"""


def setup(tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer, extra: str = CSAT) -> Path:
    return write_config(
        tmp_path,
        dovecot,
        smtp,
        extra=extra,
        channel_extra=f"    staff: [{STAFF}]",
        imap_extra=", done_keyword: $Done",
    )


async def answered_ticket(
    app: App, dovecot: Dovecot, config: Path, clock: Clock | None, message_id: str
) -> int:
    """A customer writes, Ani answers (Cc to us); returns the customer message's UID. Without
    a clock, the messages are dated now."""
    await wait_connected(app)
    when = clock.now if clock is not None else None
    uid = await dovecot.append_async(SUPPORT, make_mail(message_id=f"<{message_id}>"), when=when)
    await dovecot.append_async(
        SUPPORT,
        make_mail(
            sender=STAFF,
            to=CUSTOMER,
            subject="Re: Pesanan saya",
            body="Sudah kami kirim hari ini.",
            in_reply_to=f"<{message_id}>",
            headers={"Cc": SUPPORT},
        ),
        when=when,
    )

    async def replied() -> bool:
        events = await db_rows(config, "ticket_events")
        return any(e["kind"] == "staff_reply" for e in events)

    await wait_until(replied)
    return uid


async def resolve(dovecot: Dovecot, config: Path, uid: int) -> None:
    """Ani marks the customer's message done in her mail client."""
    await asyncio.to_thread(dovecot.set_flags, SUPPORT, uid, "$Done")

    async def resolved() -> bool:
        return any(t["status"] == "resolved" for t in await db_rows(config, "tickets"))

    await wait_until(resolved)


async def survey_rows(config: Path) -> list[dict[str, object]]:
    return await db_rows(config, "surveys")


async def test_a_resolved_ticket_gets_one_survey_in_the_morning_and_a_reply_rates_it(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(local(2030, 1, 7, 15, 0))
    async with running(config, clock=clock) as app:
        uid = await answered_ticket(app, dovecot, config, clock, "order@example.com")
        # Resolved at 19:30; an hour later is 20:30, past the evening: it waits for 09:00.
        clock.now = local(2030, 1, 7, 19, 30)
        await resolve(dovecot, config, uid)
        [survey] = await survey_rows(config)
        assert survey["state"] == "planned"
        assert survey["due_at"] == local(2030, 1, 8, 9, 0)
        assert app.surveys is not None
        clock.now = local(2030, 1, 8, 8, 59)
        await app.surveys.run_due()
        clock.now = local(2030, 1, 8, 9, 0)
        await app.surveys.run_due()
        await app.surveys.run_due()  # nothing is sent twice
        await smtp_server.wait_for_async(2, timeout=5)
        await asyncio.sleep(0.3)
        to_customer = [r for r in smtp_server.received if r.rcpt_tos == (CUSTOMER,)]
        assert len(to_customer) == 2  # the acknowledgement, then the survey
        sent = to_customer[1].message
        assert sent["In-Reply-To"] == "<order@example.com>"
        assert sent["Auto-Submitted"] == "auto-generated"
        assert "Pesanan saya" in sent["Subject"] and "[#" in sent["Subject"]
        text = sent.get_body(("plain",)).get_content()
        assert "1 (buruk) sampai 5 (sangat baik)" in text
        # Budi answers in his own words, quoting the survey.
        clock.now = local(2030, 1, 8, 10, 15)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                subject=f"Re: {sent['Subject']}",
                body="4, terima kasih\n\nPada 8 Jan 2030, Toko Contoh menulis:\n> Bagaimana?\n",
                in_reply_to=sent["Message-ID"],
            ),
            when=clock.now,
        )

        async def rated() -> bool:
            return (await survey_rows(config))[0]["rating"] is not None

        await wait_until(rated)
        await asyncio.sleep(0.3)
    [survey] = await survey_rows(config)
    assert (survey["state"], survey["rating"], survey["comment"]) == ("answered", 4, "terima kasih")
    assert survey["answered_via"] == "email" and survey["notified_at"] is None
    # Not a new ticket, not acknowledged, and the ticket stays resolved.
    assert [t["status"] for t in await db_rows(config, "tickets")] == ["resolved"]
    assert len([r for r in smtp_server.received if r.rcpt_tos == (CUSTOMER,)]) == 2
    last = (await db_rows(config, "inbound"))[-1]
    assert last["outcome"] == "survey-answer"


async def test_a_low_rating_tells_staff_with_the_comment_and_a_non_answer_is_a_follow_up(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        survey_mail = await surveyed(app, dovecot, smtp_server, config, clock, "slow@example.com")
        # A question about the order is not a rating: it follows the ticket up as usual.
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                subject="Re: survey",
                body="2 barang belum sampai, kapan dikirim?",
                in_reply_to=survey_mail["Message-ID"],
            ),
            when=clock.now,
        )

        async def followed() -> bool:
            return (await db_rows(config, "inbound"))[-1]["outcome"] == "follow-up"

        await wait_until(followed)
        assert (await survey_rows(config))[0]["rating"] is None
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                subject="Re: survey",
                body="nilai 2, lama sekali sampainya",
                in_reply_to=survey_mail["Message-ID"],
            ),
            when=clock.now,
        )
        notices = await asyncio.to_thread(
            lambda: [
                r
                for r in smtp_server.wait_for(len(smtp_server.received) + 1, timeout=5)
                if r.rcpt_tos == (STAFF,) and "2/5" in r.message["Subject"]
            ]
        )
    [notice] = notices
    body = notice.message.get_body(("plain",)).get_content()
    assert "lama sekali sampainya" in body and "budi@example.com" in body
    [survey] = await survey_rows(config)
    assert survey["rating"] == 2 and survey["notified_at"] is not None


async def test_a_terse_low_rating_with_a_comment_is_stored_and_told_to_staff(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    """Issue 13: "1 lambat sekali" was read as a follow-up, so staff never heard of it."""
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        survey_mail = await surveyed(app, dovecot, smtp_server, config, clock, "terse@example.com")
        seen = len(await db_rows(config, "inbound"))
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                subject=f"Re: {survey_mail['Subject']}",
                body="1 lambat sekali\n\nPada 7 Jan 2030, Toko Contoh menulis:\n> Bagaimana?\n",
                in_reply_to=survey_mail["Message-ID"],
            ),
            when=clock.now,
        )

        async def read() -> bool:
            rows = await db_rows(config, "inbound")
            return len(rows) > seen and rows[-1]["outcome"] is not None

        await wait_until(read)
        assert (await db_rows(config, "inbound"))[-1]["outcome"] == "survey-answer"

        async def told() -> bool:
            return any(
                r.rcpt_tos == (STAFF,) and "1/5" in r.message["Subject"]
                for r in smtp_server.received
            )

        await wait_until(told)
        await asyncio.sleep(0.3)  # time enough for a wrong acknowledgement to arrive
    [survey] = await survey_rows(config)
    assert (survey["state"], survey["rating"], survey["comment"]) == (
        "answered",
        1,
        "lambat sekali",
    )
    assert survey["notified_at"] is not None
    [notice] = [r for r in smtp_server.received if r.rcpt_tos == (STAFF,)]
    body = notice.message.get_body(("plain",)).get_content()
    assert "lambat sekali" in body and CUSTOMER in body
    # The notice and the survey message name the survey in a column (issue 15).
    rows = await db_rows(config, "replies")
    assert [r["survey_id"] for r in rows if r["kind"] == "csat_low"] == [survey["id"]]
    assert [r["survey_id"] for r in rows if r["id"] == survey["reply_id"]] == [survey["id"]]
    # Still the acknowledgement and the survey only: the rating is not answered.
    assert len([r for r in smtp_server.received if r.rcpt_tos == (CUSTOMER,)]) == 2
    assert [t["status"] for t in await db_rows(config, "tickets")] == ["resolved"]


async def test_one_survey_per_customer_in_the_window_and_a_reopen_cancels(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        first = await answered_ticket(app, dovecot, config, clock, "one@example.com")
        await resolve(dovecot, config, first)
        clock.now += timedelta(hours=1)
        assert app.surveys is not None
        await app.surveys.run_due()
        # A second ticket from Budi a week later, resolved too: no second survey in 30 days.
        clock.now = local(2030, 1, 14, 10, 0)
        second = await answered_ticket(app, dovecot, config, clock, "two@example.com")
        await asyncio.to_thread(dovecot.set_flags, SUPPORT, second, "$Done")

        async def both_resolved() -> bool:
            tickets = await db_rows(config, "tickets")
            return [t["status"] for t in tickets] == ["resolved", "resolved"]

        await wait_until(both_resolved)
        clock.now += timedelta(hours=1)
        await app.surveys.run_due()
    surveys = await survey_rows(config)
    assert [s["state"] for s in surveys] == ["sent", "skipped"]
    assert "within once_per" in str(surveys[1]["reason"])
    surveys_sent = [
        r for r in smtp_server.received if r.message["Auto-Submitted"] == "auto-generated"
    ]
    assert len([r for r in surveys_sent if r.rcpt_tos == (CUSTOMER,)]) == 1


async def test_a_survey_due_while_the_daemon_was_down_waits_for_the_morning(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(local(2030, 1, 7, 16, 0))
    async with running(config, clock=clock) as app:
        uid = await answered_ticket(app, dovecot, config, clock, "down@example.com")
        clock.now = local(2030, 1, 7, 17, 0)
        await resolve(dovecot, config, uid)  # due at 18:00
    # The shop's PC was off from 17:05; it starts again at 23:30.
    clock.now = local(2030, 1, 7, 23, 30)
    async with running(config, clock=clock) as app:
        assert app.surveys is not None
        await app.surveys.run_due()
        [survey] = await survey_rows(config)
        assert (survey["state"], survey["due_at"]) == ("planned", local(2030, 1, 8, 9, 0))
        clock.now = local(2030, 1, 8, 9, 0)
        await app.surveys.run_due()
        await smtp_server.wait_for_async(2, timeout=5)
    assert [s["state"] for s in await survey_rows(config)] == ["sent"]


async def test_no_survey_when_the_customer_writes_again_after_resolution(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        uid = await answered_ticket(app, dovecot, config, clock, "again@example.com")
        await resolve(dovecot, config, uid)
        clock.now = local(2030, 1, 7, 10, 30)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                subject="Re: Pesanan saya",
                body="Barangnya masih belum sampai, kak.",
                in_reply_to="<again@example.com>",
            ),
            when=clock.now,
        )

        async def cancelled() -> bool:
            return (await survey_rows(config))[0]["state"] == "cancelled"

        await wait_until(cancelled)
        clock.now = local(2030, 1, 7, 12, 0)
        assert app.surveys is not None
        await app.surveys.run_due()
    assert not [r for r in smtp_server.received if r.message["Auto-Submitted"] == "auto-generated"]


async def surveyed(
    app: App,
    dovecot: Dovecot,
    smtp: RecordingSMTPServer,
    config: Path,
    clock: Clock,
    who: str,
) -> EmailMessage:
    """A ticket answered by `who` and resolved at 10:00; its survey, sent at 11:00."""
    uid = await answered_ticket(app, dovecot, config, clock, who)
    await resolve(dovecot, config, uid)
    clock.now = local(2030, 1, 7, 11, 0)
    assert app.surveys is not None
    await app.surveys.run_due()
    await smtp.wait_for_async(2, timeout=5)  # the acknowledgement and the survey
    return [r for r in smtp.received if r.rcpt_tos == (CUSTOMER,)][-1].message
