"""Several daemons on one database (issue 19): what each records at the same moment as another
ends as one row, one ticket and one reply, and neither daemon sees an error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite
from testdb import database_url, shared_config_lines

from responder.core.contacts import SEEN, Identity
from responder.core.decisions import FollowUp
from responder.core.outcome import Outcome
from responder.domain.models import FileData, InboundMessage
from responder.domain.records import HealthRow, NewReply
from responder.storage import chat_files, contacts, inbound, meta, replies, schema
from responder.storage.channel_health import save_health
from responder.storage.decisions import apply_outcomes
from responder.storage.engine import open_engine
from responder.storage.migrations import LATEST, MIGRATIONS
from responder.testing import GraphStandIn, free_port
from responder.testing.whatsapp_webhooks import Webhooks
from tests.harness import WA_NUMBER_ID, db_rows, post_signed, running, write_whatsapp_config

T = TypeVar("T")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROUNDS = 25


@contextmanager
def two_daemons(tmp_path: Path) -> Iterator[tuple[Connection, Connection]]:
    """Two connections to one database through two engines, as two daemons have them
    (opened one after the other: the first migrates)."""
    url = database_url(tmp_path)
    first, a, _ = open_engine(url)
    second, b, _ = open_engine(url)
    try:
        yield a, b
    finally:
        for conn, engine in ((a, first), (b, second)):
            conn.close()
            engine.dispose()


def race(a: Connection, b: Connection, work: Callable[[Connection, int], T]) -> tuple[T, T]:
    """`work` run by both daemons at the same moment, each in a unit of work of its own (one
    transaction, as Store.run has it); what each returned. An exception in either fails."""
    start = threading.Barrier(2)
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def daemon(n: int, conn: Connection) -> None:
        start.wait()
        try:
            with conn.begin():
                results[n] = work(conn, n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=daemon, args=(n, c)) for n, c in enumerate((a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results[0], results[1]


def count(conn: Connection, table: str) -> int:
    return int(
        conn.execute(select(func.count()).select_from(schema.metadata.tables[table])).scalar_one()
    )


def test_a_webhook_delivered_to_both_daemons_is_recorded_once_and_decided_by_one(
    tmp_path: Path,
) -> None:
    """Meta retries a webhook, and the load balancer hands the retry to the other daemon:
    one row per wamid, and exactly one of the two queues it for deciding."""
    with two_daemons(tmp_path) as (a, b):
        for n in range(ROUNDS):
            batch = [InboundMessage("shop-wa", f"wamid.{n}.{m}", b"{}", NOW) for m in range(10)]
            first, second = race(
                a,
                b,
                lambda conn, _, got=batch: inbound.record(
                    conn, "shop-wa", got, None, "shop-wa", NOW, None
                ),
            )
            assert sorted(first + second) == sorted(set(first + second))
            assert len(first + second) == 10
        assert count(a, "inbound") == 10 * ROUNDS


def test_both_daemons_meeting_a_new_person_make_one_contact(tmp_path: Path) -> None:
    with two_daemons(tmp_path) as (a, b):
        for n in range(ROUNDS):
            who = Identity("whatsapp", f"+62812000{n:04d}")
            first, second = race(
                a, b, lambda conn, _, who=who: contacts.ensure(conn, who, SEEN, "Budi", NOW)
            )
            assert first == second
        assert count(a, "contacts") == ROUNDS and count(a, "contact_identities") == ROUNDS


def test_shared_facts_are_kept_once_and_both_daemons_agree_on_them(tmp_path: Path) -> None:
    """The web chat's signing secret: a visitor token one daemon issued must be valid at the
    other, so both end with the secret kept first."""
    with two_daemons(tmp_path) as (a, b):
        for n in range(ROUNDS):
            secrets = race(
                a, b, lambda conn, i, n=n: meta.kept_secret(conn, f"secret.{n}", f"s{i}")
            )
            assert secrets[0] == secrets[1]
            starts = race(a, b, lambda conn, _, n=n: meta.first_start(conn, f"web/{n}", NOW))
            assert starts[0][0] == starts[1][0] == NOW and {starts[0][1], starts[1][1]} == {
                True,
                False,
            }


def test_a_retried_upload_health_and_blocking_reaching_both_daemons_leave_one_row(
    tmp_path: Path,
) -> None:
    file = FileData(b"%PDF-1.4 invoice", "invoice.pdf", "application/pdf")
    with two_daemons(tmp_path) as (a, b):
        for n in range(ROUNDS):
            kept = race(
                a, b, lambda conn, _, n=n: chat_files.keep(conn, "web", "v1", f"vc{n}", file, NOW)
            )
            assert sorted(kept) == [False, True]
            health = [HealthRow("shop-wa", "ok", NOW), HealthRow(f"mail-{n}", "failed", NOW)]
            # Each instance its own view (issue 19), the one before replaced.
            race(a, b, lambda conn, i, rows=health: save_health(conn, rows, NOW, f"vm:1:{i}"))
            race(a, b, lambda conn, _, n=n: replies.mark_blocked(conn, "tg", [f"{n}"], NOW))
        assert count(a, "chat_files") == ROUNDS
        assert count(a, "channel_health") == 4
        assert count(a, "blocked") == ROUNDS


def test_two_daemons_deciding_the_same_message_record_one_decision(tmp_path: Path) -> None:
    """Both read the message as new (a restart of each decides what is pending) and decide
    it: the first to record it wins, the other's decision is dropped, not an error."""
    with two_daemons(tmp_path) as (a, b):
        with a.begin():
            a.execute(
                schema.tickets.insert().values(
                    ref="ABC234",
                    channel="shop-wa",
                    customer="6281234567890",
                    language="id",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        for n in range(ROUNDS):
            with a.begin():
                msg = InboundMessage("shop-wa", f"wamid.follow.{n}", b"{}", NOW)
                [inbound_id] = inbound.record(a, "shop-wa", [msg], None, "shop-wa", NOW, "a")

            def decide(conn: Connection, i: int, inbound_id: int = inbound_id, n: int = n) -> int:
                notice = NewReply("notice", "staff@toko-contoh.id", "", f"<n{n}.{i}@x>", b"")
                outcome = Outcome(
                    inbound_id, "shop-wa", "6281234567890", "", (), FollowUp("ABC234"),
                    notices=(notice,),
                )  # fmt: skip
                return len(apply_outcomes(conn, [outcome], NOW, None)[0])

            assert sorted(race(a, b, decide)) == [0, 1]
        assert count(a, "replies") == ROUNDS and count(a, "tickets") == 1
        assert count(a, "ticket_events") == 0


def test_a_ticket_is_locked_for_update_on_postgresql_and_sqlite_needs_no_lock() -> None:
    """SQLite's compiler drops FOR UPDATE (its write lock serialises writers already), so
    ticket_locks skips the statement there; PostgreSQL gets it."""
    t = schema.tickets
    query = select(t.c.id).where(t.c.id == 1).with_for_update()
    assert "FOR UPDATE" not in str(query.compile(dialect=sqlite.dialect()))
    assert "FOR UPDATE" in str(query.compile(dialect=postgresql.dialect()))


hooks = Webhooks(phone_number_id=WA_NUMBER_ID)


async def test_the_same_wamid_posted_to_two_daemons_gets_one_ticket_and_one_reply(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    ports = free_port(), free_port()
    configs = []
    for name, port in zip(("one", "two"), ports, strict=True):
        (tmp_path / name).mkdir()
        extra = shared_config_lines(tmp_path)
        configs.append(write_whatsapp_config(tmp_path / name, graph.base_url, port, extra=extra))
    async with running(configs[0]), running(configs[1]):
        body = hooks.text("6281234567890", "Halo kak, pesanan saya belum sampai", name="Budi")
        answers = await asyncio.gather(*(post_signed(port, body) for port in ports))
        assert answers == [(200, "ok\n"), (200, "ok\n")]
        await graph.wait_for_sent_async(1, 10.0)
        await asyncio.sleep(1.0)
    assert len(graph.sent) == 1
    assert len(await db_rows(configs[0], "tickets")) == 1
    assert len(await db_rows(configs[1], "inbound")) == 1
    assert len(await db_rows(configs[0], "replies")) == 1


@pytest.mark.sqlite_only("a new SQLite file; PostgreSQL's migration lock: test_postgres.py")
def test_instances_starting_together_on_a_new_file_all_open_it(tmp_path: Path) -> None:
    """Three instances started at once on a database file nobody made yet: each opens it at
    the latest schema version, and it was migrated once."""
    for round_ in range(5):
        url = f"sqlite+aiosqlite:///{tmp_path / f'new{round_}.db'}"
        start = threading.Barrier(3)

        def open_it(url: str = url, start: threading.Barrier = start) -> int:
            start.wait()
            engine, conn, version = open_engine(url)
            conn.close()
            engine.dispose()
            return version

        with ThreadPoolExecutor(3) as pool:
            versions = list(pool.map(lambda _: open_it(), range(3)))
        assert versions == [LATEST] * 3
        engine, conn, _ = open_engine(url)
        try:
            applied = conn.execute(select(schema.schema_version.c.version)).scalars().all()
        finally:
            conn.close()
            engine.dispose()
        assert sorted(applied) == [n for n, _, _ in MIGRATIONS]
