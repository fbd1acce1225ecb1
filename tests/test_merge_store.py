"""/merge as stored (issue 18 item 4): one transaction, so a crash in the middle leaves both
tickets as they were, and a merge decided twice (the command read again after a restart)
is carried out once; a planned survey and pending timers of the duplicate end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import testdb
from sqlalchemy import Connection, insert, select

from responder.core.decisions import StaffCommand
from responder.core.outcome import Outcome
from responder.domain.records import NewEvent, TicketMerge
from responder.storage import schema
from responder.storage.merging import apply_merges
from responder.storage.store import Store

NOW = datetime(2030, 1, 7, 10, 40, tzinfo=UTC)


def seed(conn: Connection) -> None:
    for ref, minute in (("OLD234", 0), ("DUP567", 30)):
        opened = NOW.replace(minute=minute)
        ticket = conn.execute(
            insert(schema.tickets).values(
                ref=ref,
                channel="mail",
                customer="budi@example.com",
                customer_name="Budi",
                subject=ref,
                language="id",
                status="open",
                created_at=opened,
                updated_at=opened,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(schema.inbound).values(
                channel="mail",
                external_id=ref,
                raw=b"",
                received_at=opened,
                recorded_at=opened,
                state="done",
                outcome="replied",
                ticket_id=ticket,
            )
        )
        conn.execute(insert(schema.thread_ids).values(message_id=f"<{ref}>", ticket_id=ticket))
        conn.execute(
            insert(schema.timers).values(
                ticket_id=ticket,
                clock="first_response",
                stage="breach",
                state="pending",
                due_at=opened,
                updated_at=opened,
            )
        )
        conn.execute(
            insert(schema.surveys).values(
                ticket_id=ticket,
                channel="mail",
                recipient="budi@example.com",
                state="planned",
                due_at=opened,
                created_at=opened,
                updated_at=opened,
            )
        )


MERGE = Outcome(
    1,
    "shop-bot",
    None,
    "",
    (),
    StaffCommand("OLD234", "merge", "DUP567"),
    merge=TicketMerge(
        "DUP567",
        "OLD234",
        False,
        (NewEvent("merged_into", "Sari", "#OLD234"),),
        (NewEvent("merged", "Sari", "#DUP567"),),
    ),
)


def state(conn: Connection) -> dict[str, object]:
    t = schema.tickets
    refs = {r.id: r.ref for r in conn.execute(select(t.c.id, t.c.ref))}

    def owners(table: str) -> list[str]:
        c = schema.metadata.tables[table].c
        return sorted(refs[r.ticket_id] for r in conn.execute(select(c.ticket_id)))

    return {
        "status": sorted((r.ref, r.status) for r in conn.execute(select(t.c.ref, t.c.status))),
        "inbound": owners("inbound"),
        "thread_ids": owners("thread_ids"),
        "timers": sorted(r.state for r in conn.execute(select(schema.timers.c.state))),
        "surveys": sorted(r.state for r in conn.execute(select(schema.surveys.c.state))),
        "events": owners("ticket_events"),
    }


class Crash(Exception):
    pass


async def test_a_merge_is_one_transaction_and_happens_once(tmp_path: Path) -> None:
    store = Store(testdb.url(tmp_path / "responder.db"))
    await store.open()
    try:
        await store.run(seed)
        before = await store.run(state)

        def crashing(conn: Connection) -> None:
            apply_merges(conn, [MERGE], NOW)
            raise Crash  # the process dies before the batch commits

        with pytest.raises(Crash):
            await store.run(crashing)
        assert await store.run(state) == before
        touched = await store.run(apply_merges, [MERGE], NOW)
        assert len(touched) == 2
        after = await store.run(state)
        # Read again after a restart, the same merge finds the duplicate merged already.
        assert await store.run(apply_merges, [MERGE], NOW) == set()
        assert await store.run(state) == after
    finally:
        await store.close()
    assert after == {
        "status": [("DUP567", "merged"), ("OLD234", "open")],
        "inbound": ["OLD234", "OLD234"],
        "thread_ids": ["OLD234", "OLD234"],
        "timers": ["pending", "stopped"],
        "surveys": ["cancelled", "planned"],
        "events": ["DUP567", "OLD234"],
    }
