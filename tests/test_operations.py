"""status, export, purge and backup: read-only or careful, and safe beside the daemon."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import testdb
from harness import SUPPORT, running, wait_connected, wait_until
from harness import write_config as write_e2e_config
from mailfactory import make_mail
from sqlalchemy import create_engine, text
from test_report import Rows

from responder.cli import EX_FAILURE, EX_OK, EX_USAGE, main
from responder.config import Config, load_config
from responder.config.calendar import build_calendar
from responder.config.sla import build_policies
from responder.report.figures import Figures, compute
from responder.report.load import read_report_data
from responder.report.period import parse_period
from responder.services.retention import purge_once, run_retention
from responder.storage.retention import MARKER, PurgeCounts
from responder.storage.store import Store
from responder.testing import Dovecot, RecordingSMTPServer
from responder.wire.email.parse import parse_message
from responder.wire.telegram.update import parse_update

MAIL, BOT = "support-mail", "shop-bot"
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=200)
RECENT = NOW - timedelta(hours=2)

CONFIG = """\
timezone: Asia/Jakarta
state_dir: {root}/state
{extra}
sla:
  default: standard
  policies: [{{name: standard, first_response: 2h, resolution: 16h}}]
retention: {{bodies_after: 180d}}
channels:
  - name: support-mail
    type: email
    address: support@toko-contoh.id
    imap: {{host: 127.0.0.1, port: 1143, security: none, username: support@toko-contoh.id,
           password_file: {root}/imap}}
    smtp: {{host: 127.0.0.1, port: 1025, security: none}}
  - name: shop-bot
    type: telegram
    token_file: {root}/bot
"""


def write_config(root: Path, extra: str = "") -> Path:
    (root / "imap").write_text("imap-secret")
    (root / "bot").write_text("123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcd")
    path = root / "config.yaml"
    path.write_text(CONFIG.format(root=root, extra=extra))
    return path


def db_file(config: Path) -> Path:
    return config.parent / "state" / "responder.db"


def url(config: Path) -> str:
    return load_config(config).database_url_resolved


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Old resolved tickets, an old open one still waiting, a recent one, a parked reply."""
    config = write_config(tmp_path)
    rows = Rows()
    t1 = rows.ticket(MAIL, OLD, resolved=OLD + timedelta(hours=5))
    rows.event(t1, "staff_reply", OLD + timedelta(hours=1), "Could you send the order number?")
    rows.event(t1, "sla_breach", OLD + timedelta(hours=3), "first_response breach")
    rows.event(t1, "closed", OLD + timedelta(hours=5))
    rows.reply(t1, "acknowledgement", OLD)
    rows.survey(t1, "answered", OLD + timedelta(hours=6), rating=2, nps=3, comment="Too slow")
    rows.surveys[-1]["answered_at"] = OLD + timedelta(hours=7)
    t2 = rows.ticket(BOT, OLD + timedelta(days=1))  # still open: its message is kept
    rows.reply(t2, "acknowledgement", OLD + timedelta(days=1))
    rows.replies[-1] |= {"state": "parked", "last_error": "550 5.1.1 mailbox unavailable"}
    rows.reply(t2, "notice", OLD + timedelta(days=1))
    rows.replies[-1] |= {"state": "pending", "sent_at": None, "attempts": 2}
    t3 = rows.ticket(MAIL, RECENT)
    rows.event(t3, "note", RECENT, "call back later")
    rows.message(MAIL, OLD)  # never decided: kept, whatever its age
    rows.inbound[-1]["state"] = "new"
    for reply in rows.replies:
        reply.setdefault("attempts", 1)
    rows.write(url(config))
    return config


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def table(config: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the test's database, SQLite or PostgreSQL (tests/testdb.py)."""
    engine = create_engine(testdb.sync_url(db_file(config)))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a SQLite file (a backup's copy)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def figures(config: Path) -> Figures:
    cfg = load_config(config)
    calendar = build_calendar(cfg.business_hours, cfg.timezone)
    period = parse_period(f"{OLD:%Y-%m-%d}", f"{NOW:%Y-%m-%d}", calendar.timezone, NOW)
    data = read_report_data(cfg.database_url_resolved, period)
    return compute(data, period, calendar, build_policies(cfg.sla), NOW)


def test_status_shows_the_oldest_waiting_ticket_and_a_parked_error(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "status", "-c", str(db))
    assert code == EX_OK
    assert "Open tickets:    2" in out
    [oldest] = [line for line in out.splitlines() if line.startswith("Oldest waiting:")]
    assert "TKT-0002 on shop-bot, since" in oldest and "200d" not in oldest
    assert "199d" in oldest  # 200 days less one: the age, two largest units
    # The message recorded 200 days ago and never decided is shown, not hidden.
    [undecided] = [line for line in out.splitlines() if line.startswith("Undecided:")]
    assert "1 message(s)" in undecided and "200d" in undecided
    assert "550 5.1.1 mailbox unavailable" in out
    code, out, _ = cli(capsys, "status", "-c", str(db), "--json")
    status = json.loads(out)
    assert status["replies"] == {"pending": 0, "retrying": 1, "parked": 1}
    assert status["oldest_waiting"]["ref"] == "TKT-0002"
    bot = status["channels"][BOT]
    assert bot["last_parked_error"]["error"] == "550 5.1.1 mailbox unavailable"
    assert status["channels"][MAIL]["open_tickets"] == 1


@pytest.mark.sqlite_only("a missing database file; a missing PostgreSQL one: test_postgres.py")
def test_status_without_a_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    code, out, err = cli(capsys, "status", "-c", str(config))
    assert (code, out) == (EX_FAILURE, "")
    assert "no database at" in err and "has the daemon run" in err
    assert not db_file(config).exists()  # and none was made


@pytest.mark.sqlite_only("SQLite's write lock, and backup copies the SQLite file")
def test_status_and_backup_beside_a_writer_holding_a_transaction(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = sqlite3.connect(db_file(db), timeout=0.1)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE tickets SET status = 'resolved'")
        code, out, _ = cli(capsys, "status", "-c", str(db), "--json")
        assert code == EX_OK and json.loads(out)["open_tickets"] == 2  # the committed state
        copy = tmp_path / "copy.db"
        code, out, err = cli(capsys, "backup", "-c", str(db), str(copy))
        assert code == EX_OK, err
        assert "integrity_check: ok" in out
        writer.commit()
    finally:
        writer.close()
    for name in ("tickets", "inbound", "replies", "ticket_events", "surveys"):
        rows = f"SELECT * FROM {name} ORDER BY id"
        original, copied = table(db, rows), query(copy, rows)
        if name == "tickets":
            assert {r[7] for r in copied} == {"open", "resolved"}  # before the commit
        else:
            assert copied == original
    assert query(copy, "PRAGMA integrity_check") == [("ok",)]
    # It holds customers' mail: its owner's alone.
    assert copy.stat().st_mode & 0o777 == 0o600


@pytest.mark.sqlite_only("backup copies the SQLite file; on PostgreSQL: test_postgres.py")
def test_backup_refuses_to_overwrite_and_needs_sqlite(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "copy.db"
    out.write_text("precious")
    code, _, err = cli(capsys, "backup", "-c", str(db), str(out))
    assert code == EX_FAILURE and "exists; give --force" in err
    assert out.read_text() == "precious"
    code, _, err = cli(capsys, "backup", "-c", str(db), str(out), "--force")
    assert code == EX_OK, err
    assert query(out, "SELECT count(*) FROM tickets") == [(3,)]
    assert sorted(p.name for p in tmp_path.iterdir() if "copy" in p.name) == ["copy.db"]


def test_purge_blanks_old_texts_keeps_what_is_needed_and_every_figure(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = figures(db)
    code, out, _ = cli(capsys, "purge", "-c", str(db), "--dry-run")
    assert code == EX_OK
    assert "would blank" in out and "1 incoming message(s), 2 reply(ies)" in out
    assert "1 staff reply/note text(s), 1 survey comment(s)" in out
    assert table(db, "SELECT count(*) FROM inbound WHERE length(raw) = 0") == [(0,)]
    code, out, _ = cli(capsys, "purge", "-c", str(db))
    assert code == EX_OK and out.startswith("blanked")
    raws = dict(table(db, "SELECT id, length(raw) FROM inbound"))
    # t1's message blanked; t2 (open), t3 (recent) and the undecided message kept.
    assert raws[1] == 0 and all(raws[i] > 0 for i in (2, 3, 4))
    replies = table(db, "SELECT state, length(message) FROM replies ORDER BY id")
    assert replies == [("sent", 0), ("parked", 0), ("pending", 3)]
    events = table(db, "SELECT kind, detail FROM ticket_events ORDER BY id")
    assert events == [
        ("staff_reply", MARKER + " ?"),  # still asks a question, for the SLA clocks
        ("sla_breach", "first_response breach"),
        ("closed", None),
        ("note", "call back later"),
    ]
    assert table(db, "SELECT rating, nps, comment FROM surveys") == [(2, 3, MARKER)]
    assert table(db, "SELECT count(*) FROM meta WHERE key LIKE 'retention.%'") == [(1,)]
    after = figures(db)
    # The same figures; the one text a report quotes, the lowest comments, is the marker.
    assert [c.text for c in after.csat.lowest] == [MARKER]
    same = dataclasses.replace(after.csat, lowest=before.csat.lowest)
    assert dataclasses.replace(after, csat=same, generated_at=before.generated_at) == before
    code, out, _ = cli(capsys, "purge", "-c", str(db))
    assert "0 incoming message(s), 0 reply(ies)" in out  # nothing left to do


def test_purge_needs_a_retention_setting(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db.write_text(db.read_text().replace("retention: {bodies_after: 180d}\n", ""))
    code, _, err = cli(capsys, "purge", "-c", str(db))
    assert code == EX_FAILURE and "no retention section" in err


def a_day(config: Path) -> Config:
    """The config, keeping texts for a day only."""
    config.write_text(config.read_text().replace("180d", "1d"))
    return load_config(config)


async def test_run_retention_purges_through_the_store_in_batches(db: Path) -> None:
    store = Store(url(db))
    await store.open()
    try:
        counts = await purge_once(store, NOW - timedelta(days=180), batch=1)
        assert counts == PurgeCounts(inbound=1, replies=2, events=1, comments=1)
        config = await asyncio.to_thread(a_day, db)
        later = NOW + timedelta(days=2)  # the recent ticket's note is now older than a day
        task = asyncio.create_task(
            run_retention(store, config, lambda: later, first_delay=timedelta(0))
        )

        async def purged() -> bool:
            rows = await store.rows("ticket_events", kind="note")
            return bool(rows[0]["detail"] == MARKER) or task.done()

        try:
            await wait_until(purged)
            assert not task.done()  # sleeps until the next day
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        await store.close()
    # The recent ticket's message: kept while its ticket is open.
    assert dict(table(db, "SELECT id, length(raw) FROM inbound"))[3] > 0


def test_export_jsonl_csv_and_no_bodies(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "export", "-c", str(db))
    assert code == EX_OK
    tickets = [json.loads(line) for line in out.splitlines()]
    assert [t["ref"] for t in tickets] == ["TKT-0001", "TKT-0002", "TKT-0003"]
    first = tickets[0]
    assert first["survey"]["rating"] == 2 and first["survey"]["comment"] == "Too slow"
    assert first["messages"][0]["raw"].endswith("hello\r\n")
    assert [e["kind"] for e in first["events"]] == ["staff_reply", "sla_breach", "closed"]
    assert first["replies"][0]["state"] == "sent" and first["replies"][0]["raw"] == "..."
    assert "owner" not in first["replies"][0] and "owner" not in first["messages"][0]
    path = tmp_path / "out.jsonl"
    code, _, err = cli(capsys, "export", "-c", str(db), "--no-bodies", "--out", str(path))
    assert code == EX_OK and "3 ticket(s) written" in err
    bare = [json.loads(line) for line in path.read_text().splitlines()]
    assert "raw" not in bare[0]["messages"][0] and "comment" not in bare[0]["survey"]
    assert "detail" not in bare[0]["events"][0] and bare[0]["events"][1]["detail"]
    since = f"{RECENT.astimezone(load_config(db).zone):%Y-%m-%d}"
    code, out, _ = cli(capsys, "export", "-c", str(db), "--format", "csv", "--since", since)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["ref"], r["messages"]) for r in rows] == [("TKT-0003", "1")]
    code, _, err = cli(capsys, "export", "-c", str(db), "--since", "yesterday")
    assert code == EX_USAGE and "YYYY-MM-DD" in err


def test_the_raw_readers_cope_with_a_blanked_body() -> None:
    # SLA alert excerpts and survey threading parse the first message again: b"" is a
    # message without headers or text, never an error.
    mail = parse_message(b"")
    assert (mail.message_id, mail.text) == (None, "")
    assert parse_update(b"").text == ""


async def test_status_and_backup_beside_the_running_daemon(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_e2e_config(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))
        await smtp_server.wait_for_async(1, timeout=10)
        code = await asyncio.to_thread(main, ["status", "-c", str(config), "--json"])
        status = json.loads(capsys.readouterr().out)
        assert code == EX_OK and status["open_tickets"] == 1
        assert status["channels"]["support-mail"]["last_inbound"] is not None
        copy = tmp_path / "live.db"
        code = await asyncio.to_thread(main, ["backup", "-c", str(config), str(copy)])
        err = capsys.readouterr().err
        if testdb.ON_POSTGRESQL:  # backup copies SQLite's file; PostgreSQL has pg_dump
            assert code == EX_FAILURE and "pg_dump" in err
        else:
            assert code == EX_OK, err
        await dovecot.append_async(SUPPORT, make_mail(sender="sari@example.com"))
        await smtp_server.wait_for_async(2, timeout=10)  # the daemon carried on meanwhile
    if not testdb.ON_POSTGRESQL:
        assert query(copy, "SELECT count(*) FROM tickets") == [(1,)]
