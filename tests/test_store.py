"""The database: migrations, idempotent intake, atomic cursor moves."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import testdb
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from responder.domain.models import Cursor, InboundMessage
from responder.errors import StorageError
from responder.storage import schema
from responder.storage.db_thread import DatabaseThread
from responder.storage.decisions import apply_outcomes
from responder.storage.migrations import MIGRATIONS
from responder.storage.store import Store


def url(tmp_path: Path) -> str:
    return testdb.url(tmp_path / "state" / "responder.db")


def message(external_id: str) -> InboundMessage:
    return InboundMessage("mail", external_id, b"raw", datetime.now(UTC))


async def test_recording_is_idempotent_and_moves_the_cursor_with_the_rows(tmp_path: Path) -> None:
    store = Store(url(tmp_path))
    await store.open()
    try:
        first = await store.record_inbound(
            "mail", [message("a"), message("b"), message("a")], Cursor(7, 2)
        )
        again = await store.record_inbound("mail", [message("b"), message("c")], Cursor(7, 3))
        cursor = await store.cursor("mail")
        assert len(first) == 2 and len(again) == 1
        assert cursor is not None and cursor[0] == Cursor(7, 3)
        assert await store.cursor("other") is None
        assert await store.pending_inbound() == [*first, *again]
    finally:
        await store.close()


async def test_a_burst_recorded_at_once_keeps_each_mail_with_its_own_id(tmp_path: Path) -> None:
    """A batch goes in as one multi-row INSERT; each id must lead back to its own mail, or
    the reply meant for one customer would be decided from another's message."""
    store = Store(url(tmp_path))
    await store.open()
    try:
        burst = [
            InboundMessage("mail", f"<m{n}@example.com>", f"mail {n}".encode(), datetime.now(UTC))
            for n in range(40)
        ]
        ids = await store.record_inbound("mail", burst, Cursor(1, 40))
        rows = {row["id"]: row for row in await store.rows("inbound")}
        assert [rows[i]["external_id"] for i in ids] == [m.external_id for m in burst]
        assert [rows[i]["raw"] for i in ids] == [m.raw for m in burst]
    finally:
        await store.close()


def test_a_send_result_is_recorded_before_the_work_queued_ahead_of_it() -> None:
    """Senders wait for the record of what they sent; it must not wait behind a burst's
    queue of deciding work (issue 15), and shutting down still runs all that was asked."""
    thread = DatabaseThread()
    running, release = threading.Event(), threading.Event()
    order: list[str] = []
    thread.submit(lambda: (running.set(), release.wait(5)))
    assert running.wait(5)
    queued = [
        thread.submit(order.append, "apply batch 1"),
        thread.submit(order.append, "apply batch 2"),
        thread.submit_urgent(lambda: order.append("mark sent")),
    ]
    release.set()
    for future in queued:
        future.result(5)
    last = thread.submit(order.append, "close")
    thread.shutdown(wait=True)
    assert last.done()
    assert order == ["mark sent", "apply batch 1", "apply batch 2", "close"]
    with pytest.raises(RuntimeError):
        thread.submit(order.append, "after shutdown")


async def test_state_survives_a_reopen_and_migrations_run_once(tmp_path: Path) -> None:
    store = Store(url(tmp_path))
    await store.open()
    await store.record_inbound("mail", [message("a")], Cursor(1, 10))
    await store.close()
    store = Store(url(tmp_path))
    await store.open()
    try:
        cursor = await store.cursor("mail")
        assert cursor is not None and cursor[0] == Cursor(1, 10)
        versions = [r["version"] for r in await store.rows("schema_version")]
        assert versions == [number for number, _, _ in MIGRATIONS]
    finally:
        await store.close()


async def test_a_database_from_a_newer_responder_is_refused(tmp_path: Path) -> None:
    store = Store(url(tmp_path))
    await store.open()
    await store.close()
    engine = create_engine(testdb.sync_url(tmp_path / "state" / "responder.db"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version VALUES (99, '2030-01-01 00:00:00')"))
    engine.dispose()
    with pytest.raises(StorageError, match="newer than this responder"):
        await Store(url(tmp_path)).open()


@pytest.mark.sqlite_only("SQLite's journal mode")
async def test_wal_mode_is_on(tmp_path: Path) -> None:
    store = Store(url(tmp_path))
    await store.open()
    await store.close()
    engine = create_engine(f"sqlite:///{tmp_path}/state/responder.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


TICKETS_V1 = (
    "CREATE TABLE tickets (id INTEGER PRIMARY KEY, ref VARCHAR(16), channel VARCHAR(64), "
    "customer VARCHAR(320))"
)


@pytest.mark.sqlite_only("a hand-made SQLite schema (PRAGMA table_info); on PostgreSQL: v7 corpus")
async def test_a_version_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    engine = create_engine(f"sqlite:///{tmp_path}/state/responder.db")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                "applied_at DATETIME NOT NULL)"
            )
        )
        conn.execute(text("INSERT INTO schema_version VALUES (1, '2026-11-01 00:00:00')"))
        conn.execute(text(TICKETS_V1))
        conn.execute(
            text(
                "CREATE TABLE replies (id INTEGER PRIMARY KEY, kind VARCHAR(32), ticket_id INTEGER)"
            )
        )
        conn.execute(text("INSERT INTO tickets (ref) VALUES ('ABC234')"))
    engine.dispose()
    store = Store(url(tmp_path))
    await store.open()
    await store.close()
    engine = create_engine(f"sqlite:///{tmp_path}/state/responder.db")
    with engine.connect() as conn:
        ticket = conn.execute(text("SELECT ref, priority, tags, utc_offset FROM tickets")).one()
        versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
        reply_columns = {row[1] for row in conn.execute(text("PRAGMA table_info(replies)"))}
    engine.dispose()
    assert tuple(ticket) == ("ABC234", None, None, None)
    assert versions == [number for number, _, _ in MIGRATIONS]
    assert {"period", "external_id", "thread"} <= reply_columns


@pytest.mark.sqlite_only(
    "version 3 rebuilds SQLite's replies table; PostgreSQL drops NOT NULL in place"
)
async def test_version_2_replies_keep_their_rows_and_may_lack_a_ticket(tmp_path: Path) -> None:
    """Version 3 rebuilds SQLite's replies table so a Telegram welcome needs no ticket."""
    (tmp_path / "state").mkdir()
    engine = create_engine(f"sqlite:///{tmp_path}/state/responder.db")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                "applied_at DATETIME NOT NULL)"
            )
        )
        conn.execute(text("INSERT INTO schema_version VALUES (1, '2026-11-01 00:00:00')"))
        conn.execute(text("INSERT INTO schema_version VALUES (2, '2026-11-02 00:00:00')"))
        conn.execute(text(TICKETS_V1))
        conn.execute(text("CREATE TABLE inbound (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO inbound (id) VALUES (1)"))
        conn.execute(text("INSERT INTO tickets (id, ref) VALUES (1, 'ABC234')"))
        conn.execute(
            text(
                "CREATE TABLE replies (id INTEGER PRIMARY KEY, inbound_id INTEGER NOT NULL, "
                "ticket_id INTEGER NOT NULL, channel VARCHAR(64) NOT NULL, "
                "kind VARCHAR(32) NOT NULL, "
                "period VARCHAR(64), recipient VARCHAR(320) NOT NULL, "
                "envelope_from VARCHAR(320) NOT NULL, message_id VARCHAR(400) NOT NULL UNIQUE, "
                "message BLOB NOT NULL, state VARCHAR(16) NOT NULL, attempts INTEGER NOT NULL, "
                "next_attempt_at DATETIME, last_error TEXT, created_at DATETIME NOT NULL, "
                "sent_at DATETIME)"
            )
        )
        conn.execute(text("CREATE INDEX ix_replies_state ON replies (state)"))
        conn.execute(
            text(
                "INSERT INTO replies VALUES (7, 1, 1, 'cs', 'acknowledgement', NULL, "
                "'budi@example.com', '', '<a@x>', x'00', 'sent', 1, NULL, NULL, "
                "'2026-11-02 00:00:00', '2026-11-02 00:00:01')"
            )
        )
    engine.dispose()
    store = Store(url(tmp_path))
    await store.open()
    await store.close()
    engine = create_engine(f"sqlite:///{tmp_path}/state/responder.db")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, recipient, state FROM replies")).one()
        info = {r[1]: r[3] for r in conn.execute(text("PRAGMA table_info(replies)"))}
        indexes = {r[1] for r in conn.execute(text("PRAGMA index_list(replies)"))}
    engine.dispose()
    assert tuple(row) == (7, "budi@example.com", "sent")
    assert info["ticket_id"] == 0  # notnull flag off
    assert "ix_replies_state" in indexes


async def test_an_empty_batch_of_decisions_is_a_no_op(tmp_path: Path) -> None:
    """A batch whose every message failed to be decided records nothing, and does not fail."""
    store = Store(url(tmp_path))
    await store.open()
    try:
        [inbound_id] = await store.record_inbound("mail", [message("a")], Cursor(1, 1))
        assert await store.apply([]) == ([], set())
        now = datetime.now(UTC)
        assert await store.run(apply_outcomes, [], now, None) == ([], set(), set())
        [row] = await store.rows("inbound")
        assert row["id"] == inbound_id and row["state"] == "new"
    finally:
        await store.close()


CORPUS = Path(__file__).parent / "corpus" / "databases"


async def test_a_version_7_database_keeps_its_notices_with_their_ids_in_columns(
    tmp_path: Path,
) -> None:
    """Version 8 moves the ids that reply kinds carried (sla_<timer>, csat_low_<survey>[_n])
    into columns; every row, every Telegram post and the survey's link to its message stay,
    and the upgraded database takes new alerts as before."""
    testdb.load_corpus(tmp_path / "state" / "responder.db", CORPUS / "v7.sql")
    store = Store(url(tmp_path))
    await store.open()
    try:
        replies = await store.rows("replies")
        about = [(r["id"], r["kind"], r["sla_timer_id"], r["survey_id"]) for r in replies]
        assert about == [
            (1, "acknowledgement", None, None),
            (2, "sla_alert", 1, None),
            (3, "sla_alert", 1, None),
            (4, "sla_alert", 2, None),
            (5, "sla_alert", 2, None),
            (6, "csat_survey", None, 1),
            (7, "csat_low", None, 1),
            (8, "csat_low", None, 1),
            (9, "csat_low", None, 1),
            (10, "csat_low", None, 1),
        ]
        assert [r["state"] for r in replies] == ["sent"] * 10
        assert [(p["message_id"], p["reply_id"]) for p in await store.rows("posts")] == [
            ("103", 3),
            ("105", 5),
            ("108", 8),
            ("110", 10),
        ]
        [survey] = await store.rows("surveys")
        assert survey["reply_id"] == 6
        versions = [r["version"] for r in await store.rows("schema_version")]
        assert versions == [number for number, _, _ in MIGRATIONS]
        # A new alert for another stage of the same ticket, to the same staff, is recorded:
        # what tells alerts apart is now the timer's id, not the kind.
        await store.run(_insert_timer_and_alert, 3)
        with pytest.raises(IntegrityError):  # but one timer alerts each recipient once
            await store.run(_insert_timer_and_alert, 3, new_timer=False)
    finally:
        await store.close()
    engine = create_engine(testdb.sync_url(tmp_path / "state" / "responder.db"))
    try:
        with engine.connect() as conn:
            found = inspect(conn)
            tables = found.get_table_names()
            posts_refer_to = {k["referred_table"] for k in found.get_foreign_keys("posts")}
            unique = {u["name"] for u in found.get_unique_constraints("replies")}
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    finally:
        engine.dispose()
    assert posts_refer_to == {"replies"}
    assert "replies_before_v8" not in tables
    assert "uq_replies_inbound_kind_recipient" not in unique


def _insert_timer_and_alert(conn: Connection, timer_id: int, *, new_timer: bool = True) -> None:
    now = datetime(2026, 11, 6, tzinfo=UTC)
    if new_timer:
        conn.execute(
            schema.timers.insert().values(
                id=timer_id,
                ticket_id=1,
                clock="resolution",
                stage="breach",
                state="done",
                updated_at=now,
            )
        )
    conn.execute(
        schema.replies.insert().values(
            inbound_id=1,
            ticket_id=1,
            channel="support-mail",
            kind="sla_alert",
            recipient="cs@toko-contoh.id",
            envelope_from="",
            message_id=f"<sla{timer_id}-{new_timer}@toko-contoh.id>",
            message=b"alert mail",
            state="pending",
            attempts=0,
            created_at=now,
            sla_timer_id=timer_id,
        )
    )
