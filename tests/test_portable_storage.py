"""Values SQLite takes and PostgreSQL refuses (issue 19): NUL in outside text, provider ids
longer than their columns, and a value the database refuses all the same."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from harness import SUPPORT, all_sent, db_rows, running, wait_connected, wait_until, write_config
from sqlalchemy import Connection, select
from testdb import database_url

from responder.domain.models import Cursor, InboundMessage
from responder.errors import StorageRefused
from responder.storage import schema
from responder.storage.store import Store
from responder.testing import Dovecot, RecordingSMTPServer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# A mail whose subject and body decode to NUL characters: quoted-printable and an encoded
# word carry them through IMAP, which refuses a raw NUL byte.
NUL_MAIL = (
    b"From: Budi <budi@example.com>\r\n"
    b"To: support@toko-contoh.id\r\n"
    b"Subject: =?utf-8?q?Pesanan=00_belum_sampai?=\r\n"
    b"Message-ID: <nul-1@example.com>\r\n"
    b"Date: Mon, 2 Mar 2026 09:00:00 +0700\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Halo=00, pesanan saya belum sampai.\r\n"
)


async def test_a_mail_with_nul_in_its_subject_and_body_is_still_acknowledged(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        await dovecot.append_async(SUPPORT, NUL_MAIL)
        [ack] = await smtp_server.wait_for_async(1, timeout=10)
        await wait_until(lambda: all_sent(config))
    [ticket] = await db_rows(config, "tickets")
    assert ack.rcpt_tos == ("budi@example.com",)
    assert ticket["ref"] in str(ack.message["Subject"])
    assert "\x00" not in ticket["subject"] and "belum sampai" in ticket["subject"]


async def test_nul_in_outside_text_is_taken_out_where_it_is_stored(tmp_path: Path) -> None:
    """Whatever channel it came by: a chat name, a subject, a staff note, a provider id."""
    store = Store(database_url(tmp_path))
    await store.open()
    try:
        msg = InboundMessage("web", "v1/\x00c1", b"{}", NOW)
        [inbound_id] = await store.record_inbound("web", [msg], None)

        def write(conn: Connection) -> None:
            t = schema.tickets
            conn.execute(
                t.insert().values(
                    ref="ABC234",
                    channel="web",
                    customer="web:v1",
                    customer_name="Bu\x00di",
                    subject="Halo\x00 kak",
                    language="id",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            ticket = conn.execute(select(t.c.id)).scalar_one()
            conn.execute(
                schema.ticket_events.insert().values(
                    ticket_id=ticket,
                    kind="note",
                    actor="Sari\x00",
                    detail="cek\x00 ya",
                    created_at=NOW,
                )
            )

        await store.run(write)
        [ticket] = await store.rows("tickets")
        [event] = await store.rows("ticket_events")
        [row] = await store.rows("inbound")
        assert (ticket["customer_name"], ticket["subject"]) == ("Budi", "Halo kak")
        assert (event["actor"], event["detail"]) == ("Sari", "cek ya")
        assert row["id"] == inbound_id and row["external_id"] == "v1/c1"
        # Recorded again (the id as sent, NUL and all): still the one row.
        assert await store.record_inbound("web", [msg], None) == []
        assert await store.pending_inbound() == [inbound_id]
    finally:
        await store.close()


async def test_an_over_long_provider_id_is_kept_and_recorded_once(tmp_path: Path) -> None:
    store = Store(database_url(tmp_path))
    await store.open()
    try:
        wamid = "wamid." + "HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjA" * 20  # 706 characters
        first = await store.record_inbound(
            "shop-wa", [InboundMessage("shop-wa", wamid, b"{}", NOW)], None
        )
        again = await store.record_inbound(
            "shop-wa", [InboundMessage("shop-wa", wamid, b"{}", NOW)], None
        )
        [row] = await store.rows("inbound")
        assert len(first) == 1 and again == []
        assert row["external_id"].startswith("sha256:") and len(row["external_id"]) <= 400
        # What a channel calls our sent message (a wamid past 64 characters) fits since
        # schema version 15.
        assert schema.replies.c.external_id.type.length == 400  # type: ignore[attr-defined]
        assert schema.posts.c.message_id.type.length == 400  # type: ignore[attr-defined]
        versions = [r["version"] for r in await store.rows("schema_version")]
        assert 15 in versions
    finally:
        await store.close()


@pytest.mark.sqlite_only(
    "SQLite's length limit makes it refuse a value; what PostgreSQL would refuse (NUL, ids "
    "past their column) the tests above keep from it"
)
async def test_a_value_the_database_refuses_is_storage_refused_and_the_store_goes_on(
    tmp_path: Path,
) -> None:
    """SQLite refuses a value past its length limit as PostgreSQL refuses NUL in text (a
    DataError both): one line naming the database, and the next unit of work is recorded."""
    store = Store(database_url(tmp_path))
    await store.open()
    try:

        def small_limit(conn: Connection) -> None:
            driver = conn.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            driver.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 4096)

        await store.run(small_limit)
        big = InboundMessage("mail", "<big@example.com>", b"x" * 10_000, NOW)
        with pytest.raises(StorageRefused, match="refused a value") as refused:
            await store.record_inbound("mail", [big], Cursor(1, 1))
        assert "responder.db" in str(refused.value)
        ok = InboundMessage("mail", "<ok@example.com>", b"hello", NOW)
        assert len(await store.record_inbound("mail", [ok], Cursor(1, 2))) == 1
    finally:
        await store.close()
