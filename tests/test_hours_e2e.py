"""Out-of-hours replies and reloads, end to end through real Dovecot and SMTP."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import testdb
from harness import (
    SUPPORT,
    DaemonProcess,
    db_rows,
    has_cursor,
    running,
    wait_connected,
    wait_until,
    write_config,
)
from mailfactory import make_mail

from responder.config import load_config
from responder.testing import Dovecot, RecordingSMTPServer

HOURS = """\
business_hours:
  weekly:
    mon: ["08:00-12:00", "13:00-17:00"]
    fri: ["08:00-11:30", "13:30-17:00"]
    sat: ["09:00-14:00"]
  holidays: {country: ID}
"""
SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
CANNED = """\
rules:
  - name: hours-question
    when: {subject_contains: ["jam buka"]}
    then: {template: hours}
  - name: default
"""


async def test_one_out_of_hours_reply_per_sender_per_closed_period(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server, extra=HOURS)
    async with running(config, clock=lambda: SATURDAY_NIGHT) as app:
        await wait_connected(app)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender="Budi <budi@example.com>",
                subject="Pesanan saya",
                body="Halo kak, pesanan saya belum sampai. Mohon dicek ya, terima kasih.",
            ),
        )
        [reply] = await smtp_server.wait_for_async(1, timeout=5)
        # A second message in the same closed period: recorded as a ticket, no second reply.
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender="budi@example.com",
                subject="Satu lagi",
                body="Oh ya, saya juga mau tanya soal ukuran baju. Terima kasih.",
            ),
        )
        await wait_until(lambda: _outcomes(config, 2))
        await asyncio.sleep(0.3)
    assert len(smtp_server.received) == 1
    text = reply.message.get_body(preferencelist=("plain",)).get_content()
    assert "Senin, 30 November pukul 08.00 WIB" in text
    assert reply.message["Auto-Submitted"] == "auto-replied"
    outcomes = [r["outcome"] for r in await db_rows(config, "inbound")]
    assert outcomes == ["replied", "recorded"]
    [sent] = await db_rows(config, "replies")
    assert (sent["kind"], sent["period"]) == ("out_of_hours", "2026-11-30T08:00:00+07:00")
    assert len(await db_rows(config, "tickets")) == 2


async def test_reload_swaps_rules_and_keeps_the_old_ones_when_the_new_are_bad(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        config.write_text(config.read_text().replace("\nchannels:", "\n" + CANNED + "channels:"))
        assert app.reload(load_config(config)) is True
        # A template typo is caught by the same checks as at start; the old settings stay.
        templates = tmp_path / "tpl" / "id"
        templates.mkdir(parents=True)
        (templates / "hours.txt.j2").write_text("{{ nope }}")
        typo = config.read_text() + f"templates_dir: {tmp_path / 'tpl'}\n"
        config.write_text(typo)
        assert app.reload(load_config(config)) is False
        await dovecot.append_async(
            SUPPORT, make_mail(sender="ani@example.com", subject="Jam buka hari Sabtu?")
        )
        [reply] = await smtp_server.wait_for_async(1, timeout=5)
        assert app.health() == {"support-mail": "connected"}
    text = reply.message.get_body(preferencelist=("plain",)).get_content()
    assert "Senin: 00.00-24.00" in text  # no business_hours: always open
    [ticket] = await db_rows(config, "tickets")
    assert ticket["rule"] == "hours-question"


async def test_sighup_reloads_a_running_daemon_without_reconnecting(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.start()
    try:
        await wait_until(lambda: has_cursor(config), timeout=15)
        await asyncio.sleep(0.3)
        config.write_text(config.read_text().replace("\nchannels:", "\n" + CANNED + "channels:"))
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGHUP)
        await wait_until(_logged(tmp_path / "daemon.log", "configuration reloaded"), timeout=10)
        config.write_text("channels: [oops\n")
        daemon.proc.send_signal(signal.SIGHUP)
        await wait_until(_logged(tmp_path / "daemon.log", "reload refused"), timeout=10)
        await dovecot.append_async(
            SUPPORT, make_mail(sender="ani@example.com", subject="Jam buka hari Sabtu?")
        )
        await smtp_server.wait_for_async(1, timeout=10)
    finally:
        assert daemon.terminate() == 0
    log = (tmp_path / "daemon.log").read_text()
    assert log.count("watching INBOX") == 1, "a reload must not reconnect"
    [ticket] = await db_rows_raw(tmp_path)
    assert ticket == "hours-question"


async def db_rows_raw(tmp_path: Path) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(testdb.sync_url(tmp_path / "state" / "responder.db"))
    with engine.connect() as conn:
        rules = [r[0] for r in conn.execute(text("SELECT rule FROM tickets"))]
    engine.dispose()
    return rules


def _logged(path: Path, needle: str):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        text = await asyncio.to_thread(lambda: path.read_text() if path.exists() else "")
        return needle in text

    return check


async def _outcomes(config: Path, n: int) -> bool:
    rows = await db_rows(config, "inbound")
    return len(rows) >= n and all(r["state"] == "done" for r in rows)


async def test_a_rule_can_notify_staff_with_an_auto_generated_notice(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    rules = """\
rules:
  - name: complaint
    when: {text_contains: ["rusak", "broken"]}
    then: {priority: urgent, tags: [complaint], notify_staff: true}
  - name: default
"""
    config = write_config(
        tmp_path,
        dovecot,
        smtp_server,
        extra=rules,
        channel_extra="    staff: [owner@toko-contoh.id, staff@toko-contoh.id]",
    )
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(
            SUPPORT,
            make_mail(
                sender="Budi <budi@example.com>",
                subject="Barang rusak",
                body="Halo, barang yang saya terima rusak. Mohon bantuannya.",
            ),
        )
        await smtp_server.wait_for_async(3, timeout=5)
        await dovecot.append_async(SUPPORT, make_mail(sender="ani@example.com", subject="Tanya"))
        await smtp_server.wait_for_async(4, timeout=5)
        await asyncio.sleep(0.3)
    by_rcpt = {r.rcpt_tos[0]: r.message for r in smtp_server.received}
    assert set(by_rcpt) == {
        "budi@example.com",
        "owner@toko-contoh.id",
        "staff@toko-contoh.id",
        "ani@example.com",
    }
    notice = by_rcpt["owner@toko-contoh.id"]
    [ticket, _] = await db_rows(config, "tickets")
    assert notice["Auto-Submitted"] == "auto-generated"
    assert notice["Subject"].startswith(f"[#{ticket['ref']}] Mendesak: Barang rusak")
    body = notice.get_body(preferencelist=("plain",)).get_content()
    assert "barang yang saya terima rusak" in body and "complaint" in body
    assert by_rcpt["budi@example.com"]["Auto-Submitted"] == "auto-replied"
    assert (ticket["priority"], ticket["tags"], ticket["rule"]) == (
        "urgent",
        "complaint",
        "complaint",
    )
