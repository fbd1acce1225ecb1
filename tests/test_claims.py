"""Who sends what among instances on one database (issue 19): a pending reply or an undecided
message is its owner's while that instance is present, anybody's once it is gone, and taken by
exactly one instance however many race for it; a due timer fired by two instances alerts once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, select

from responder.common.tasks import TaskGroup
from responder.core.leases import presence
from responder.domain.models import InboundMessage
from responder.domain.records import NewReply, Send
from responder.domain.timers import Firing
from responder.services.leases import Instance, LeaseKeeper
from responder.storage import alerts, claims, leases, replies, schema
from responder.storage.store import Store

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)
S = timedelta(seconds=1)
ROUNDS = 20


class Clock:
    """One clock for both instances: they agree on time (the README asks for NTP)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def pair(tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[Store, Store]]:
    """Two instances, a and b, on one database file, each with its own connection and
    database thread, both present."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    stores = [Store(url, clock, owner=who) for who in "ab"]
    for store in stores:
        await store.open()
        await present(store, store.owner, clock.now)
    yield stores[0], stores[1]
    for store in stores:
        await store.close()


async def present(store: Store, who: str, at: datetime) -> None:
    await store.run(leases.claim, [presence(who)], who, f"{who} info", at, TTL)


async def messages(store: Store, owner: str | None, count: int = 1) -> list[int]:
    """`count` new messages recorded, then made `owner`'s (None: from before owners)."""
    start = len(await store.rows("inbound"))
    batch = [
        InboundMessage("mail", f"<m{start + n}@example.com>", b"Subject: hi\r\n\r\nhi", T0)
        for n in range(count)
    ]
    ids = await store.record_inbound("mail", batch, None)
    await store.run(_own, "inbound", ids, owner)
    return ids


def _own(conn: Connection, table: str, ids: list[int], owner: str | None) -> None:
    t = schema.metadata.tables[table]
    conn.execute(t.update().where(t.c.id.in_(ids)).values(owner=owner))


async def pending_replies(store: Store, owner: str | None, count: int = 1) -> list[int]:
    """`count` acknowledgements waiting to be sent, `owner`'s."""
    (inbound_id,) = await messages(store, owner)
    start = len(await store.rows("replies"))
    sends = [
        Send(inbound_id, "mail", None, _ack(f"c{start + n}@example.com", f"<r{start + n}@x>"))
        for n in range(count)
    ]
    queued = await store.run(replies.queue, sends, T0, owner)
    return [q.reply_id for q in queued]


def _ack(recipient: str, message_id: str) -> NewReply:
    return NewReply("ack", recipient, "support@example.com", message_id, b"Thanks")


async def owners(store: Store, table: str) -> dict[int, str | None]:
    return {row["id"]: row["owner"] for row in await store.rows(table)}


async def test_a_reply_of_an_instance_present_is_left_to_it(
    pair: tuple[Store, Store], clock: Clock
) -> None:
    a, b = pair
    (reply,) = await pending_replies(a, "a")
    clock.now = T0 + 29 * S  # a renewed at T0: present until T0 + 30s
    assert await b.claim_replies() == []
    assert await b.claim_inbound() == []
    assert (await owners(b, "replies"))[reply] == "a"


async def test_a_reply_of_an_instance_gone_is_taken_and_then_is_the_taker_s(
    pair: tuple[Store, Store], clock: Clock
) -> None:
    a, b = pair
    (reply,) = await pending_replies(a, "a")
    clock.now = T0 + 30 * S  # a's presence ran out: killed, hung or cut off
    await present(b, "b", clock.now)
    assert [r.id for r in await b.claim_replies()] == [reply]
    assert (await owners(b, "replies"))[reply] == "b"
    assert await b.claim_replies() == []  # b's own now: not taken (queued) a second time
    assert await a.claim_replies() == []  # a, back, finds it b's: it does not send it too


async def test_an_instance_that_stopped_cleanly_leaves_its_rows_at_once(
    pair: tuple[Store, Store], clock: Clock
) -> None:
    a, b = pair
    (reply,) = await pending_replies(a, "a")
    (message,) = await messages(a, "a")
    await a.run(leases.release, [presence("a")], "a", clock.now)  # its stop's last step
    assert [r.id for r in await b.claim_replies()] == [reply]
    assert message in await b.claim_inbound()


async def test_a_dead_process_of_this_machine_is_taken_over_before_its_ttl(
    pair: tuple[Store, Store],
) -> None:
    a, b = pair
    (reply,) = await pending_replies(a, "a")
    assert await b.claim_replies() == []
    assert [r.id for r in await b.claim_replies(dead={"a"})] == [reply]


async def test_rows_from_before_owners_are_taken_by_the_first_instance(
    pair: tuple[Store, Store],
) -> None:
    a, b = pair
    (reply,) = await pending_replies(a, None)
    assert [r.id for r in await a.claim_replies()] == [reply]
    assert await b.claim_replies() == []


async def test_only_what_waits_is_taken(pair: tuple[Store, Store], clock: Clock) -> None:
    """A sent reply and a decided message stay as they are, whoever owned them."""
    a, b = pair
    sent, waiting = await pending_replies(a, "a", 2)
    await a.run(_sent, sent)
    clock.now = T0 + 31 * S
    await present(b, "b", clock.now)
    assert [r.id for r in await b.claim_replies()] == [waiting]
    assert (await owners(b, "replies"))[sent] == "a"


def _sent(conn: Connection, reply_id: int) -> None:
    r = schema.replies
    conn.execute(r.update().where(r.c.id == reply_id).values(state="sent", sent_at=T0))


async def _race(
    pair: tuple[Store, Store],
    clock: Clock,
    make: Callable[[Store, str], Awaitable[list[int]]],
    table: str,
) -> None:
    """ROUNDS times: rows of an instance that just went, claimed by a and b at once, each
    in its own database thread. Every row is taken, by one of them."""
    a, b = pair
    for n in range(ROUNDS):
        clock.now = T0 + n * 2 * TTL
        gone = f"gone{n}"
        await present(a, gone, clock.now - 2 * TTL)  # ran out a ttl ago
        await present(a, "a", clock.now)
        await present(b, "b", clock.now)
        made = await make(a, gone)
        got_a, got_b = await asyncio.gather(*(_claim(s, table) for s in (a, b)))
        assert not set(got_a) & set(got_b), (n, got_a, got_b)
        assert sorted(got_a + got_b) == sorted(made), n
        rows = await owners(a, table)
        assert {rows[i] for i in got_a} <= {"a"} and {rows[i] for i in got_b} <= {"b"}


async def _claim(store: Store, table: str) -> list[int]:
    if table == "replies":
        return [r.id for r in await store.claim_replies()]
    return await store.claim_inbound()


async def test_two_instances_racing_for_a_gone_instance_s_replies_each_send_their_own(
    pair: tuple[Store, Store], clock: Clock
) -> None:
    await _race(pair, clock, lambda s, gone: pending_replies(s, gone, 5), "replies")


async def test_two_instances_racing_for_undecided_messages_each_decide_their_own(
    pair: tuple[Store, Store], clock: Clock
) -> None:
    await _race(pair, clock, lambda s, gone: messages(s, gone, 5), "inbound")


async def test_a_backlog_is_taken_in_bounded_batches(pair: tuple[Store, Store]) -> None:
    a, _ = pair
    await pending_replies(a, None, 7)
    first = await a.run(_claim_replies_limited, 3)
    second = await a.run(_claim_replies_limited, 3)
    third = await a.run(_claim_replies_limited, 3)
    assert [len(first), len(second), len(third)] == [3, 3, 1]
    assert len({*first, *second, *third}) == 7


def _claim_replies_limited(conn: Connection, limit: int) -> list[int]:
    return [r.id for r in claims.replies(conn, "a", T0, (), limit)]


async def test_a_due_timer_fired_by_two_instances_at_once_alerts_once(
    pair: tuple[Store, Store],
) -> None:
    """The old timers' holder fires a timer just as it loses the lease, and the new holder,
    re-arming from the rows, fires it too: one alert is queued, by whichever marked the timer
    done, in the transaction that did."""
    a, b = pair
    (inbound_id,) = await messages(a, "a")
    ticket = await a.run(_ticket)
    for n in range(ROUNDS):
        timer = await a.run(_timer, ticket, n)
        firing = Firing(timer, inbound_id, [("mail", ticket, _ack("lead@x", f"<alert{n}@x>"))])
        got = await asyncio.gather(
            *(s.run(alerts.record_fired, [firing], [], T0, s.owner) for s in (a, b))
        )
        assert sorted(len(q) for q in got) == [0, 1], (n, got)
    alerts_queued = [r for r in await a.rows("replies") if r["sla_timer_id"] is not None]
    assert len(alerts_queued) == ROUNDS
    # And later, the same firing again (a wake-up armed before it was done): nothing.
    again = await b.run(alerts.record_fired, [firing], [], T0 + S, "b")
    assert again == []


async def test_a_timer_re_planned_after_it_was_read_as_due_neither_fires_nor_is_skipped(
    pair: tuple[Store, Store],
) -> None:
    """The timers' holder reads a close timer as due; meanwhile staff ask the customer a
    question through the other instance, and the timer moves to Monday. The customer must not
    get "closing, we have not heard from you" seconds after the question."""
    a, b = pair
    (inbound_id,) = await messages(a, "a")
    ticket = await a.run(_ticket)
    fired, superseded = await a.run(_timer, ticket, 0), await a.run(_timer, ticket, 1)
    monday = T0 + timedelta(days=3)
    await b.run(_replan, [fired, superseded], monday)
    firing = Firing(fired, inbound_id, [("mail", ticket, _ack("c@example.com", "<close@x>"))])
    assert await a.run(alerts.record_fired, [firing], [superseded], T0, "a") == []
    rows = {r["id"]: r for r in await a.rows("timers")}
    assert [(rows[t]["state"], rows[t]["due_at"]) for t in (fired, superseded)] == [
        ("pending", monday),
        ("pending", monday),
    ]
    assert await a.rows("replies") == []


def _replan(conn: Connection, timer_ids: list[int], due: datetime) -> None:
    tm = schema.timers
    conn.execute(tm.update().where(tm.c.id.in_(timer_ids)).values(due_at=due, updated_at=due))


def _ticket(conn: Connection) -> int:
    t = schema.tickets
    row = conn.execute(
        insert(t)
        .values(
            ref="T-1",
            channel="mail",
            customer="c@example.com",
            language="en",
            created_at=T0,
            updated_at=T0,
        )
        .returning(t.c.id)
    )
    return int(row.scalar_one())


def _timer(conn: Connection, ticket: int, n: int) -> int:
    tm = schema.timers
    values = {"ticket_id": ticket, "clock": "first_reply", "stage": f"breach{n}"}
    conn.execute(insert(tm).values(**values, state="pending", due_at=T0, updated_at=T0))
    return int(conn.execute(select(tm.c.id).where(tm.c.stage == f"breach{n}")).scalar_one())


async def test_a_stopping_instance_keeps_its_replies_until_it_has_sent_them(
    tmp_path: Path,
) -> None:
    """At a clean stop intake is handed over at once, but the instance stays present while
    it sends what it holds: another takes its replies only once it has left."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    a, b = Store(url, owner="a"), Store(url, owner="b")
    tasks = TaskGroup()
    ttl, beat = timedelta(seconds=1), timedelta(seconds=0.2)
    keeper = LeaseKeeper(a, Instance("a", "a on m", "m"), ttl, beat, _utcnow, tasks)

    async def guards(name: str, held: bool) -> None:
        pass

    keeper.want("imap:support", guards)
    for store in (a, b):
        await store.open()
    try:
        await keeper.announce()
        await keeper.heartbeat()
        (reply,) = await pending_replies(a, "a")
        await keeper.stopping()
        await keeper.hand_over()
        await asyncio.sleep(2 * ttl.total_seconds())
        assert await b.claim_replies() == []  # a still sends it
        assert {r.name: r.holder for r in await b.run(leases.leases)}["imap:support"] is None
        await keeper.release()
        assert [r.id for r in await b.claim_replies()] == [reply]
    finally:
        await tasks.cancel_all()
        for store in (a, b):
            await store.close()


def _utcnow() -> datetime:
    return datetime.now(UTC)
