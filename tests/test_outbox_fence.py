"""The outbox of an instance whose presence may have run out (issue 19): it holds its replies,
sending, dropping and counting none, until the presence is renewed; then it sends only those
the database still says are its own, and forgets those another instance adopted meanwhile,
waiting ones included. Two stores on one database; a monotonic clock moved by hand."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import testdb

from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.config.csat import HttpConfig
from responder.core.leases import fresh, may_have_run_out, presence
from responder.domain.models import Delivered, InboundMessage, OutboundReply
from responder.domain.records import NewReply, Send
from responder.errors import TransientError
from responder.services.outbox import Outbox, RetryPolicy
from responder.services.presence import Presence
from responder.storage import claims, leases, replies, schema
from responder.storage.store import Store, Tx
from responder.testing._net import free_port
from responder.web.health import LoopMonitor
from responder.web.server import HttpServer

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
TTL, BEAT = timedelta(seconds=30), timedelta(seconds=10)


@pytest.mark.parametrize(
    "renewed, now, expected",
    [
        (None, 0.0, False),  # never renewed, or released
        (100.0, 119.9, True),
        (100.0, 120.0, False),  # one beat before the row could run out
        (100.0, 130.0, False),
    ],
)
def test_replies_go_only_until_one_beat_before_the_presence_could_run_out(
    renewed: float | None, now: float, expected: bool
) -> None:
    assert fresh(renewed, now, 30, 10) is expected


@pytest.mark.parametrize(
    "previous, answered, expected",
    [(100.0, 129.9, False), (100.0, 130.0, True), (100.0, 400.0, True)],
)
def test_only_a_renewal_answered_within_the_ttl_proves_nobody_adopted(
    previous: float, answered: float, expected: bool
) -> None:
    assert may_have_run_out(previous, answered, 30) is expected


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recording:
    """A channel that sends at once, or fails each reply as often as the test says."""

    name = "mail"
    lanes = {"customer": 2}  # noqa: RUF012
    state = "connected"

    def __init__(self, failures: dict[int, int]) -> None:
        self.failures = failures
        self.sent: list[int] = []

    def lane(self, reply: OutboundReply) -> str:
        return "customer"

    async def send(self, reply: OutboundReply) -> Delivered | None:
        if self.failures.get(reply.reply_id, 0):
            self.failures[reply.reply_id] -= 1
            raise TransientError("451 greylisted, try again later")
        self.sent.append(reply.reply_id)
        return None

    async def start(self, inbox: object) -> None:
        pass

    async def stop(self) -> None:
        pass


class Wall:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[Store, Store, Wall]]:
    wall = Wall()
    url = testdb.url(tmp_path / "shared.db")
    a, b = Store(url, wall, owner="a"), Store(url, wall, owner="b")
    for store in (a, b):
        await store.open()
        await store.run(leases.claim, [presence(store.owner)], store.owner, "", T0, TTL)
    yield a, b, wall
    for store in (a, b):
        await store.close()


async def pending(store: Store, count: int) -> list[OutboundReply]:
    """`count` acknowledgements recorded as the store's instance's to send."""
    raw, start = b"Subject: hi\r\n\r\nhi", len(await store.rows("replies"))
    (inbound_id,) = await store.record_inbound(
        "mail", [InboundMessage("mail", f"<m{start}@x>", raw, T0)], None
    )
    sends = [
        Send(
            inbound_id,
            "mail",
            None,
            NewReply("ack", f"c{n}@example.com", "desk@example.com", f"<r{n}@x>", b"Thanks"),
        )
        for n in range(start, start + count)
    ]
    queued = await store.run(replies.queue, sends, T0, store.owner)
    return [q.outbound() for q in queued]


async def settled(outbox: Outbox, until: float = 5.0) -> None:
    for _ in range(int(until / 0.02)):
        if outbox.pending == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{outbox.pending} replies still held")


async def test_replies_held_while_cut_off_are_sent_only_if_still_ours(
    stores: tuple[Store, Store, Wall], caplog: pytest.LogCaptureFixture
) -> None:
    a, b, wall = stores
    mono = Monotonic()
    here = Presence(TTL, BEAT, mono)
    here.renewed_by(mono.now)
    greylisted, *queued = await pending(a, 3)
    channel = Recording({greylisted.reply_id: 1})
    tasks = TaskGroup()
    outbox = Outbox(a, {"mail": channel}, tasks, wall, RetryPolicy(), presence=here)
    caplog.set_level(logging.INFO)
    try:
        outbox.start()
        outbox.submit(greylisted)  # refused once: waits a minute to retry
        await asyncio.sleep(0.2)
        assert channel.sent == [] and outbox.pending == 1
        mono.now += 25  # no renewal for 25 s: the database is out of reach
        for reply in queued:
            outbox.submit(reply)
        await asyncio.sleep(0.3)
        assert channel.sent == [] and outbox.pending == 3  # held: not sent, not dropped
        rows = {r["id"]: r for r in await a.rows("replies")}
        assert [rows[r.reply_id]["attempts"] for r in queued] == [0, 0]  # no try counted
        held = [r.getMessage() for r in caplog.records if "replies held" in r.getMessage()]
        assert len(held) == 1 and held[0].startswith("cannot reach the database")
        # Its presence ran out; the other instance adopts its three replies.
        wall.now += TTL
        taken = await b.run(claims.replies, "b", wall.now)
        assert [r.id for r in taken] == [greylisted.reply_id, *(r.reply_id for r in queued)]
        # The database answers again: a message decided just then is this instance's.
        (decided,) = await pending(a, 1)
        outbox.submit(decided)
        mono.now += 10
        here.renewed_by(mono.now - 0.1)
        await settled(outbox)  # the greylisted one too, without waiting out its minute
        assert channel.sent == [decided.reply_id]
    finally:
        await tasks.cancel_all()
    rows = {r["id"]: r for r in await a.rows("replies")}
    owners = [rows[r.reply_id]["owner"] for r in (greylisted, *queued, decided)]
    assert owners == ["b", "b", "b", "a"]
    assert rows[decided.reply_id]["state"] == "sent"
    assert [rows[r.reply_id]["state"] for r in (greylisted, *queued)] == ["pending"] * 3
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "3 of the 4 replies held here were taken over by another instance" in logged


async def test_a_lapse_shorter_than_the_ttl_sends_everything_held(
    stores: tuple[Store, Store, Wall], caplog: pytest.LogCaptureFixture
) -> None:
    a, _, wall = stores
    mono = Monotonic()
    here = Presence(TTL, BEAT, mono)
    here.renewed_by(mono.now)
    mono.now += 21  # not fresh: held, though the row has 9 s left
    channel = Recording({})
    tasks = TaskGroup()
    outbox = Outbox(a, {"mail": channel}, tasks, wall, RetryPolicy(), presence=here)
    caplog.set_level(logging.INFO)
    try:
        outbox.start()
        sent = await pending(a, 2)
        for reply in sent:
            outbox.submit(reply)
        await asyncio.sleep(0.2)
        assert channel.sent == []
        here.renewed_by(mono.now)  # answered within the ttl: nobody can have adopted
        await settled(outbox)
    finally:
        await tasks.cancel_all()
    assert sorted(channel.sent) == [r.reply_id for r in sent]
    assert "still this instance's" not in caplog.text  # no check was needed
    assert "the database answers again" in caplog.text


async def test_healthz_says_when_the_database_is_out_of_reach_long_enough_to_stand_down() -> None:
    mono, tasks = Monotonic(), TaskGroup()
    here = Presence(TTL, BEAT, mono)
    here.renewed_by(mono.now)
    monitor = LoopMonitor(tasks)
    server = HttpServer(
        HttpConfig(host="127.0.0.1", port=free_port()),
        Metrics(),
        dict,
        monitor,
        problems=here.problems,
    )
    monitor.start()
    await server.start()
    url = f"http://127.0.0.1:{server.port}/healthz"
    answers = []
    try:
        async with aiohttp.ClientSession() as session:
            for moved in (19, 3, 0):
                mono.now += moved
                if moved == 0:
                    here.renewed_by(mono.now)
                async with session.get(url) as response:
                    answers.append((response.status, await response.text()))
    finally:
        await server.stop()
        await tasks.cancel_all()
    assert answers[0] == (200, "ok\n")
    assert answers[1] == (
        503,
        "database: this instance's presence not renewed for 22s: intake stopped and replies "
        "held (another instance may take them over)\n",
    )
    assert answers[2] == (200, "ok\n")


async def test_a_gone_instance_s_replies_are_adopted_in_batches_of_the_limit(
    stores: tuple[Store, Store, Wall],
) -> None:
    """Thousands left by a dead instance are taken a batch at a time, each its own short
    transaction; on PostgreSQL the batch once overran its limit (4 of 4 taken with limit 3)
    when one of the rows had been updated since it was written (a retry's mark)."""
    a, b, wall = stores
    held = await pending(a, 4)
    await a.run(_retried, held[0].reply_id)
    wall.now = T0 + TTL + timedelta(seconds=1)  # a's presence ran out
    await b.run(leases.claim, [presence("b")], "b", "", wall.now, TTL)
    first = await b.run(claims.replies, "b", wall.now, (), 3)
    assert [r.id for r in first] == [r.reply_id for r in held[:3]]
    rest = await b.run(claims.replies, "b", wall.now, (), 3)
    assert [r.id for r in rest] == [held[3].reply_id]


def _retried(conn: Tx, reply_id: int) -> None:
    r = schema.replies
    conn.execute(r.update().where(r.c.id == reply_id).values(attempts=1, last_error="451"))
