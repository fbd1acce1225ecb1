"""WhatsApp's status callbacks for what we sent: each reply's delivery state moves only
forward, a failure is named in `responder status` and /metrics, and a version 8 database
takes them after its upgrade."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import testdb
from sqlalchemy import create_engine, inspect

from responder.cli import EX_OK, main
from responder.domain.models import DeliveryReport, delivery_advances
from responder.storage.migrations import LATEST, MIGRATIONS
from responder.storage.store import Store
from responder.testing import GraphStandIn, free_port
from responder.testing import whatsapp_messages as m
from responder.testing.whatsapp_webhooks import Webhooks
from tests.harness import (
    WA_NUMBER_ID,
    db_rows,
    post_signed,
    running,
    wait_until,
    write_whatsapp_config,
)

BUDI, SARI = "6281234567890", "6289876543210"
hooks = Webhooks(phone_number_id=WA_NUMBER_ID)
REENGAGE = (131047, "Re-engagement message", "Message failed to send because more than 24 hours")
CORPUS = Path(__file__).parent / "corpus" / "databases"


post = post_signed


async def acknowledged(config: Path, port: int, customer: str, name: str) -> dict[str, object]:
    """The customer writes; their acknowledgement is sent and its wamid recorded."""
    body = hooks.text(customer, "Halo kak, pesanan saya belum sampai", name=name)
    assert await post(port, body) == (200, "ok\n")
    found: list[dict[str, object]] = []

    async def recorded() -> bool:
        found[:] = [r for r in await db_rows(config, "replies") if r["recipient"] == customer]
        return bool(found) and found[0]["external_id"] is not None

    await wait_until(recorded)
    return found[0]


async def replies_by_recipient(config: Path) -> dict[str, dict[str, object]]:
    return {str(r["recipient"]): r for r in await db_rows(config, "replies")}


def at(seconds_ago: int) -> float:
    return float(int(time.time()) - seconds_ago)


async def test_reports_move_each_reply_forward_and_a_failure_is_named_in_status(
    tmp_path: Path, graph: GraphStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    async with running(config):
        budi = await acknowledged(config, port, BUDI, "Budi")
        sari = await acknowledged(config, port, SARI, "Sari")
        assert budi["delivery"] is None  # nothing reported yet
        # Meta's reports arrive out of order: Budi's read before his delivered and sent.
        read_at, delivered_at = at(60), at(90)
        read = hooks.status(str(budi["external_id"]), "read", BUDI, at=read_at)
        assert await post(port, read) == (200, "ok\n")
        wamid = str(budi["external_id"])
        late = hooks.statuses(
            m.status(wamid, "delivered", BUDI, at=delivered_at), m.status(wamid, "sent", BUDI)
        )
        assert await post(port, late) == (200, "ok\n")
        # Sari's 24-hour window had closed: WhatsApp refused to deliver, then said it again.
        failed = hooks.failed(str(sari["external_id"]), SARI, *REENGAGE, at=at(30))
        assert await post(port, failed) == (200, "ok\n")
        assert await post(port, failed) == (200, "ok\n")
        rows = await replies_by_recipient(config)
        metrics = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
    assert rows[BUDI]["delivery"] == "read"
    assert rows[BUDI]["delivery_at"] == datetime.fromtimestamp(read_at, UTC)
    assert rows[BUDI]["delivery_error"] is None
    assert rows[SARI]["delivery"] == "failed"
    assert rows[SARI]["delivery_error"] == "131047 Re-engagement message"
    # Sending itself went well: the reply stays sent, the report is beside it.
    assert rows[SARI]["state"] == "sent"
    assert 'code="131047"' in _metric(metrics, "failed")
    assert _metric(metrics, "failed").endswith(" 2")  # /metrics counts each report Meta sent

    # The admin's command, as from a shell (off this test's event loop: it runs its own).
    assert await asyncio.to_thread(main, ["status", "-c", str(config)]) == EX_OK
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.strip().startswith(f"reply {rows[SARI]['id']} ")]
    assert f"to {SARI}" in line and "error 131047 Re-engagement message" in line
    assert "not delivered: 1 reply\n" in out
    assert "why: the customer's 24-hour window had closed" in out
    assert "approved templates" in out
    assert f"reply {rows[BUDI]['id']} " not in out
    assert await asyncio.to_thread(main, ["status", "-c", str(config), "--json"]) == EX_OK
    failures = json.loads(capsys.readouterr().out)["channels"]["shop-wa"]["failed_deliveries"]
    assert failures["count"] == 1
    [latest] = failures["latest"]
    assert (latest["reply"], latest["recipient"]) == (rows[SARI]["id"], SARI)
    assert latest["code"] == 131047


async def test_a_report_on_a_message_we_did_not_send_changes_nothing(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    async with running(config):
        await acknowledged(config, port, BUDI, "Budi")
        before = await db_rows(config, "replies")
        # Another app on the same number, or a reply sent before this database.
        stranger = hooks.failed("wamid.HBgNNjI4MTExMTExMTExMRUCABEYEjQ", BUDI, *REENGAGE)
        assert await post(port, stranger) == (200, "ok\n")
        assert await post(port, hooks.status("wamid.nobody", "read", BUDI)) == (200, "ok\n")
        after = await db_rows(config, "replies")
    assert after == before
    assert after[0]["delivery"] is None


@pytest.mark.sqlite_only("SQLite's one write lock, held by another program past busy_timeout")
async def test_a_report_the_database_cannot_take_is_refused_so_meta_sends_it_again(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    async with running(config):
        budi = await acknowledged(config, port, BUDI, "Budi")
        report = hooks.status(str(budi["external_id"]), "delivered", BUDI)
        # Another program holds the database's write lock (a backup, an admin's sqlite3)
        # past the daemon's busy timeout: the report is not recorded, so not acknowledged.
        writer = sqlite3.connect(tmp_path / "state" / "responder.db", timeout=0.1)
        try:
            writer.execute("BEGIN IMMEDIATE")
            assert (await post(port, report))[0] == 503
        finally:
            writer.rollback()
            writer.close()
        assert (await db_rows(config, "replies"))[0]["delivery"] is None
        assert await post(port, report) == (200, "ok\n")  # Meta's retry
        [row] = await db_rows(config, "replies")
    assert row["delivery"] == "delivered"


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def _metric(text: str, status: str) -> str:
    [line] = [
        x
        for x in text.splitlines()
        if x.startswith("responder_delivery_status_total{") and f'status="{status}"' in x
    ]
    return line


# -- the order of states, and the reports on a database made before them -------------------


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        (None, "sent", True),
        (None, "failed", True),
        ("sent", "delivered", True),
        ("sent", "read", True),
        ("delivered", "read", True),
        ("delivered", "failed", True),
        ("sent", "sent", False),  # a repeat
        ("delivered", "sent", False),  # late
        ("read", "delivered", False),  # out of order
        ("read", "failed", False),  # read is final
        ("failed", "read", False),  # and so is the first failure
        ("failed", "failed", False),
        ("sent", "deleted", False),  # a state we do not know of
        (None, "", False),
    ],
)
def test_a_delivery_state_only_moves_forward(current: str | None, new: str, moves: bool) -> None:
    assert delivery_advances(current, new) is moves


def report(wamid: str, state: str, code: int | None = None, title: str = "") -> DeliveryReport:
    return DeliveryReport(wamid, state, datetime(2026, 12, 2, 8, 0, tzinfo=UTC), code, title)


async def test_a_version_8_database_takes_reports_after_its_upgrade(tmp_path: Path) -> None:
    """Version 9 adds the delivery state to replies sent before it; a split reply's later
    part, whose wamid is only in posts, leads back to its reply; the first failure stays."""
    testdb.load_corpus(tmp_path / "state" / "responder.db", CORPUS / "v8.sql")
    store = Store(testdb.url(tmp_path / "state" / "responder.db"))
    await store.open()
    try:
        versions = [r["version"] for r in await store.rows("schema_version")]
        assert versions == [number for number, _, _ in MIGRATIONS] and LATEST >= 9
        assert [r["delivery"] for r in await store.rows("replies")] == [None, None]
        recorded = await store.record_delivery(
            "shop-wa",
            [
                report("wamid.V8ONE", "delivered"),
                report("wamid.V8TWO-B", "failed", 131026, "Message undeliverable"),
                report("wamid.V8TWO-A", "failed", 131047, "Re-engagement message"),
                report("wamid.V8ONE", "sent"),
                report("wamid.ELSEWHERE", "read"),
            ],
        )
        assert (recorded.changed, recorded.unknown) == (2, ("wamid.ELSEWHERE",))
        # The same wamid on another channel is not this channel's reply.
        elsewhere = await store.record_delivery("other-wa", [report("wamid.V8ONE", "read")])
        assert elsewhere.changed == 0
        one, two = await store.rows("replies")
    finally:
        await store.close()
    assert (one["delivery"], one["delivery_error"]) == ("delivered", None)
    assert (two["delivery"], two["delivery_error"]) == ("failed", "131026 Message undeliverable")
    assert two["delivery_at"] == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    engine = create_engine(testdb.sync_url(tmp_path / "state" / "responder.db"))
    try:
        with engine.connect() as conn:
            indexes = {index["name"] for index in inspect(conn).get_indexes("posts")}
    finally:
        engine.dispose()
    assert "ix_posts_message" in indexes
