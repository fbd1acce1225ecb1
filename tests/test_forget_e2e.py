"""`responder forget` (issue 18 item 7), end to end: a person who wrote by email, Telegram
and the web chat, was answered, rated a survey with a comment and sent a file, is forgotten;
every text and blob column of every table is read back and holds nothing of theirs, another
customer's data is whole, and the report's figures are the same as before."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import (
    STAFF_GROUP,
    SUPPORT,
    Clock,
    add_staff_bot,
    chat_url,
    db_rows,
    local,
    running,
    staff_answer,
    wait_connected,
    wait_sent,
    wait_until,
    write_config,
    write_webchat_config,
)
from mailfactory import make_mail
from sqlalchemy import create_engine, inspect, text

from responder.cli import main
from responder.config import load_config
from responder.config.calendar import build_calendar
from responder.config.sla import build_policies
from responder.core.forget import ERASED
from responder.report.figures import compute
from responder.report.html import render_html
from responder.report.load import read_report_data
from responder.report.period import parse_period
from responder.report.terminal import print_report
from responder.storage.engine import sync_url
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn, free_port
from responder.testing.webchat import Visitor
from tests.test_webchat_files import png

BUDI = "budi.santoso@example.com"
BUDI_TG = 734501987
SARI = "sari@example.net"
# What Budi wrote and was sent: none of it may be left anywhere.
BUDI_PHONE = "+6281234567890"
BUDI_WORDS = ("zebrakuning", "flamingokuning", "lumbalumba", "jerapahlambat", "kiwibesok")
CSAT = 'csat: {after_resolved: 1h, send_between: "00:00-23:59", once_per: 30d, low: 2}\n'


async def forget(config: Path, capsys: pytest.CaptureFixture[str], *words: str) -> tuple[int, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["forget", "-c", str(config), *words])
    out = capsys.readouterr()
    return code, out.out + out.err


def report(config: Path, now: datetime) -> tuple[str, str]:
    """The report's terminal text and HTML page, as `responder report` makes them."""
    settings = load_config(config, secrets="skip")
    calendar = build_calendar(settings.business_hours, settings.timezone)
    period = parse_period("2030-01-01", "2030-01-31", calendar.timezone, now)
    data = read_report_data(settings.database_url_resolved, period)
    figures = compute(data, period, calendar, build_policies(settings.sla), now)
    out = io.StringIO()
    print_report(figures, out)
    return out.getvalue(), render_html(figures)


def every_text(config: Path) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text and blob value of every table in the database,
    found by reading the database's own schema (SQLAlchemy's inspector), not a hand list."""
    url = sync_url(load_config(config, secrets="skip").database_url_resolved)
    found = []
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            schema = inspect(db)
            for table in schema.get_table_names():
                for column in schema.get_columns(table):
                    name, kind = column["name"], str(column["type"]).upper()
                    if not any(k in kind for k in ("CHAR", "TEXT", "BLOB", "CLOB", "BYTEA")):
                        continue
                    for (value,) in db.execute(text(f'SELECT "{name}" FROM "{table}"')):
                        if isinstance(value, bytes | memoryview):
                            value = bytes(value).decode("utf-8", "replace")
                        if value:
                            found.append((table, name, str(value)))
    finally:
        engine.dispose()
    return found


async def test_a_forgotten_customer_leaves_no_trace_and_the_report_stays_the_same(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    (tmp_path / "chat").mkdir()
    http = f"http: {{host: 127.0.0.1, port: {port}, public_url: https://bantuan.toko-contoh.id}}"
    config = write_config(tmp_path, dovecot, smtp_server, extra=http + "\n" + CSAT)
    chat = write_webchat_config(tmp_path / "chat", port).read_text().split("channels:\n", 1)[1]
    with config.open("a") as out:
        out.write(chat)
    add_staff_bot(config, tmp_path, tg)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app, Visitor(chat_url(port)) as visitor:
        await wait_connected(app)
        mail = make_mail(
            sender=f"Budi Santoso <{BUDI}>",
            subject="Pesanan zebrakuning belum sampai",
            body="Mohon dicek kak, paket zebrakuning saya.",
            message_id="<budi-1@example.com>",
        )
        await dovecot.append_async(SUPPORT, mail, when=clock.now)
        [mail_post] = await wait_sent(tg, STAFF_GROUP, 1)
        tg.push_message(BUDI_TG, "Kak, flamingokuning belum datang", first_name="Budi")
        [_, chat_post] = await wait_sent(tg, STAFF_GROUP, 2)
        # Budi shares his own number: his WhatsApp identity, erased with the rest.
        tg.push_message(BUDI_TG, "", first_name="Budi", contact=(BUDI_PHONE, BUDI_TG))
        await wait_sent(tg, STAFF_GROUP, 3)
        await staff_answer(tg, chat_post, "Sudah kami cek, kiwibesok sampai ya?")
        await staff_answer(tg, mail_post, "Paket zebrakuning kiwibesok dikirim.")
        await wait_until(lambda: _sent_to_budi(smtp_server))
        [mail_ref, chat_ref] = [t["ref"] for t in await db_rows(config, "tickets")]
        await staff_answer(tg, chat_post, f"/link {mail_ref}")
        await wait_sent(tg, STAFF_GROUP, 4)
        await visitor.session()
        image = png()
        sent = await visitor.upload(
            image, "kaos-lumbalumba.png", "Kaos lumbalumba sobek", "c-file-01"
        )
        assert sent.status == 202, sent.body
        await wait_sent(tg, STAFF_GROUP, 5)
        assert (await visitor.leave_email(BUDI)).status == 202
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender=f"Sari Dewi <{SARI}>", subject="Retur sepatu", body="Sepatu kebesaran."
            ),
            when=clock.now,
        )
        await wait_until(lambda: _count(config, "tickets", 4))
        await staff_answer(tg, mail_post, "/close")
        await wait_until(lambda: _resolved(config, mail_ref))
        clock.now += timedelta(hours=2)
        assert app.surveys is not None
        await app.surveys.run_due()
        survey = await wait_until_survey(config, smtp_server)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender=BUDI,
                subject=f"Re: {survey['Subject']}",
                body="2, jerapahlambat sekali",
                in_reply_to=survey["Message-ID"],
            ),
            when=clock.now,
        )

        async def rated() -> bool:
            return any(s["rating"] for s in await db_rows(config, "surveys"))

        await wait_until(rated)
        await asyncio.sleep(0.5)  # the low-rating notice goes out
    visitor_id = visitor.visitor
    assert visitor_id is not None
    needles = (BUDI, str(BUDI_TG), "Budi", visitor_id, BUDI_PHONE[3:], *BUDI_WORDS)
    before = every_text(config)
    assert all(any(n.lower() in v.lower() for *_, v in before) for n in needles)
    now = datetime.now(UTC)
    figures_before = await asyncio.to_thread(report, config, now)
    assert "jerapahlambat" in figures_before[0]

    code, out = await forget(config, capsys, "--dry-run", f"tg:{BUDI_TG}")
    assert code == 0 and "Nothing erased" in out and BUDI in out, out
    assert every_text(config) == before

    code, out = await forget(config, capsys, "--yes", "--json", f"tg:{BUDI_TG}")
    assert code == 0, out
    done = json.loads(out[: out.rindex("}") + 1])
    erased = done["erased"]
    assert {mail_ref, chat_ref} <= set(done["tickets"])
    assert erased["tickets"] == 3 and erased["identities"] == 4 and erased["files"] == 1
    assert erased["comments"] == 1 and erased["messages"] >= 5 and erased["replies"] >= 4

    after = every_text(config)
    left = [(t, c, v) for t, c, v in after if any(n.lower() in v.lower() for n in needles)]
    assert left == []
    # Sari is whole: her address, her words, her ticket.
    assert any(SARI in v for *_, v in after) and any("Sepatu kebesaran" in v for *_, v in after)
    [sari] = [t for t in await db_rows(config, "tickets") if t["customer"] == SARI]
    assert sari["subject"] == "Retur sepatu" and sari["contact_id"] is not None
    # The same figures; the one comment's words (as long as the marker, so the table keeps
    # its width) are gone from the list of low ratings.
    terminal, html = await asyncio.to_thread(report, config, now)
    assert terminal == figures_before[0].replace("jerapahlambat sekali", ERASED)
    assert html == figures_before[1].replace("jerapahlambat sekali", ERASED)
    # The log: when, who ran it, how much; never whom.
    [logged] = await db_rows(config, "forget_log")
    assert logged["tickets"] == 3 and logged["by_user"] and logged["comments"] == 1
    assert done["forgotten"] == f"forgotten:{logged['id']}"
    # Budi is nobody now: neither his address nor a ticket reference finds him.
    assert (await forget(config, capsys, "--yes", BUDI))[0] == 1
    assert (await forget(config, capsys, "--yes", f"tg:{BUDI_TG}"))[0] == 1


async def wait_until_survey(config: Path, smtp: RecordingSMTPServer) -> Any:
    async def sent() -> bool:
        return any(s["state"] == "sent" for s in await db_rows(config, "surveys"))

    await wait_until(sent)
    await asyncio.sleep(0.3)
    return _to_budi(smtp)[-1].message


def _to_budi(smtp: RecordingSMTPServer) -> list[Any]:
    return [r for r in smtp.received if r.rcpt_tos == (BUDI,)]


async def _sent_to_budi(smtp: RecordingSMTPServer) -> bool:
    return len(_to_budi(smtp)) >= 1


async def _count(config: Path, table: str, n: int) -> bool:
    return len(await db_rows(config, table)) >= n


async def _resolved(config: Path, ref: str) -> bool:
    return any(t["status"] == "resolved" for t in await db_rows(config, "tickets", ref=ref))


class Terminal(io.StringIO):
    """An admin at a terminal, typing `answer`."""

    def isatty(self) -> bool:
        return True


async def test_forget_asks_first_refuses_unknowns_and_a_forgotten_customer_writes_as_new(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(
            SUPPORT, make_mail(sender=BUDI, subject="Pesanan zebrakuning", body="Halo kak.")
        )
        await wait_until(lambda: _sent_to_budi(smtp_server))
        [ticket] = await db_rows(config, "tickets")

        async def health_recorded() -> bool:
            # The daemon's own record of the channel changes by itself: settled first.
            rows = await db_rows(config, "channel_health")
            return bool(rows) and all(r["state"] == "connected" for r in rows)

        await wait_until(health_recorded)
        before = every_text(config)
        # Not at a terminal and no --yes (a script, cron): refused, nothing erased.
        code, out = await forget(config, capsys, BUDI)
        assert code == 2 and "--yes" in out and every_text(config) == before
        monkeypatch.setattr("sys.stdin", Terminal("no\n"))
        code, out = await forget(config, capsys, BUDI)
        assert code == 1 and "not confirmed" in out and BUDI in out
        assert every_text(config) == before
        code, out = await forget(config, capsys, "nobody@example.com")
        assert code == 1 and "nobody known as nobody@example.com" in out
        monkeypatch.setattr("sys.stdin", Terminal("yes\n"))
        code, out = await forget(config, capsys, f"#{ticket['ref']}")
        assert code == 0 and "1 ticket(s) made anonymous" in out, out
        assert not any(BUDI in v for *_, v in every_text(config))
        # Budi writes again, naming the old ticket: a stranger with a new ticket, answered.
        await dovecot.append_async(
            SUPPORT,
            make_mail(sender=BUDI, subject=f"Re: Pesanan [#{ticket['ref']}]", body="Lagi kak."),
        )
        await wait_until(lambda: _count(config, "tickets", 2))
        await smtp_server.wait_for_async(2, timeout=5)
    old, new = await db_rows(config, "tickets")
    assert old["customer"].startswith("forgotten:") and old["contact_id"] is None
    assert new["customer"] == BUDI and new["contact_id"] is not None
    assert len(await db_rows(config, "contact_identities")) == 1
