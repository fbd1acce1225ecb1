"""Several daemons on one database (issue 19): a chat customer's two messages decided at the
same moment by two daemons make one ticket and one acknowledgement, and the message whose
view was overtaken is decided again and joins that ticket."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, select
from testdb import shared_config_lines

from responder.config.rules import Action
from responder.core.decisions import Acknowledge, FollowUp
from responder.core.outcome import Outcome
from responder.domain.models import InboundMessage
from responder.domain.records import NewEvent, NewReply, NewTicket
from responder.storage import inbound, schema
from responder.storage.chat_view import ChatKeys, load_chat_view
from responder.storage.decisions import Applied, apply_outcomes
from responder.testing import GraphStandIn, free_port
from responder.testing.whatsapp_webhooks import Webhooks
from tests.harness import (
    WA_NUMBER_ID,
    all_decided,
    all_sent,
    db_rows,
    post_signed,
    running,
    wait_until,
    write_whatsapp_config,
)
from tests.test_shared_database import ROUNDS, race, two_daemons

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANNEL = "shop-wa"


def first_message(inbound_id: int, customer: str, ref: str) -> Outcome:
    """What either daemon decides for a customer it finds with no ticket: open one, and
    acknowledge it."""
    ack = NewReply("acknowledgement", customer, "", f"<ack.{ref}@x>", b"{}")
    return Outcome(
        inbound_id, CHANNEL, customer, "", (f"wamid.{inbound_id}",),
        Acknowledge(customer, ref, "acknowledgement", "default", Action()),
        ticket=NewTicket(ref, CHANNEL, customer, "Budi", "", "id"),
        reply=ack, starts=customer,
    )  # fmt: skip


def record(conn: Connection, customer: str, n: int, owner: str) -> int:
    msg = InboundMessage(CHANNEL, f"wamid.{customer}.{n}", b"{}", NOW)
    with conn.begin():
        [inbound_id] = inbound.record(conn, CHANNEL, [msg], None, CHANNEL, NOW, owner)
    return inbound_id


def test_two_daemons_opening_a_ticket_for_one_customer_make_one_and_requeue_the_other(
    tmp_path: Path,
) -> None:
    with two_daemons(tmp_path) as (a, b):
        for n in range(ROUNDS):
            customer = f"62812{n:07d}"
            ids = [record(a, customer, 1, "a"), record(b, customer, 2, "b")]

            def decide(
                conn: Connection, i: int, ids: list[int] = ids, customer: str = customer, n: int = n
            ) -> Applied:
                outcome = first_message(ids[i], customer, f"R{n:03d}{'AB'[i]}")
                return apply_outcomes(conn, [outcome], NOW, "ab"[i])

            results = race(a, b, decide)
            t, r, i = schema.tickets, schema.replies, schema.inbound
            with a.begin():
                tickets = a.execute(select(t.c.id, t.c.ref).where(t.c.customer == customer))
                [(ticket_id, ref)] = tickets.all()
                acks = a.execute(select(r.c.id).where(r.c.recipient == customer)).all()
                states = dict(a.execute(select(i.c.id, i.c.state).where(i.c.id.in_(ids))).all())
            assert len(acks) == 1
            # The daemon that recorded second put its message back; nothing of it is kept.
            [late] = [id_ for result in results for id_ in result.again]
            assert sorted(len(result.queued) for result in results) == [0, 1]
            assert states[late] == "new" and sorted(states.values()) == ["done", "new"]
            with a.begin():
                owner = a.execute(select(i.c.owner).where(i.c.id == late)).scalar_one()
                keys = ChatKeys(CHANNEL, None, frozenset({customer}), frozenset(), frozenset(),
                                frozenset())  # fmt: skip
                view = load_chat_view(a, keys, NOW, [])
            assert owner == "ab"[ids.index(late)]
            # Decided again, the fresh view has the ticket: the message joins it, no reply.
            assert view.open_by_customer == {customer: ref}
            follow = Outcome(late, CHANNEL, customer, "", (), FollowUp(ref))
            with a.begin():
                again = apply_outcomes(a, [follow], NOW, "a")
            assert again == ([], {ticket_id}, set())
            with a.begin():
                row = a.execute(select(i.c.state, i.c.ticket_id).where(i.c.id == late)).one()
            assert tuple(row) == ("done", ticket_id)


def test_a_later_message_of_the_batch_on_the_overtaken_ticket_is_requeued_with_it(
    tmp_path: Path,
) -> None:
    """One daemon decided the customer's first two messages in one batch (the second joins
    the ticket the first opens), while the other opened a ticket for them: both go back."""
    with two_daemons(tmp_path) as (a, b):
        customer = "6281200000001"
        first = [record(a, customer, n, "a") for n in (1, 2)]
        opened = first_message(record(b, customer, 3, "b"), customer, "THEIRS")
        with b.begin():
            assert not apply_outcomes(b, [opened], NOW, "b").again
        ours = [
            first_message(first[0], customer, "OURS"),
            Outcome(first[1], CHANNEL, customer, "", (), FollowUp("OURS")),
        ]
        with a.begin():
            applied = apply_outcomes(a, ours, NOW, "a")
        assert applied == ([], set(), set(first))
        t = schema.tickets
        with a.begin():
            refs = a.execute(select(t.c.ref).where(t.c.customer == customer)).scalars().all()
        assert refs == ["THEIRS"]


def test_two_daemons_reopening_a_customers_ticket_at_once_reopen_it_once(tmp_path: Path) -> None:
    """The customer writes twice soon after their ticket was resolved: it is reopened once
    (one "reopened" in its history), and the other message joins it."""
    t, e = schema.tickets, schema.ticket_events
    with two_daemons(tmp_path) as (a, b):
        customer = "6281200000002"
        opened = first_message(record(a, customer, 1, "a"), customer, "RESOLV")
        with a.begin():
            [ticket_id] = apply_outcomes(a, [opened], NOW, "a").touched
            a.execute(t.update().values(status="resolved", resolved_at=NOW))
        ids = [record(a, customer, 2, "a"), record(b, customer, 3, "b")]

        def reopen(conn: Connection, i: int) -> Applied:
            events = (NewEvent("customer_reply", customer), NewEvent("reopened", customer))
            outcome = Outcome(
                ids[i], CHANNEL, customer, "", (), FollowUp("RESOLV", reopen=True),
                events=events, status="open", starts=customer,
            )  # fmt: skip
            return apply_outcomes(conn, [outcome], NOW, "ab"[i])

        results = race(a, b, reopen)
        assert sorted(len(result.again) for result in results) == [0, 1]
        with a.begin():
            kinds = a.execute(select(e.c.kind).where(e.c.ticket_id == ticket_id)).scalars()
            assert sorted(kinds) == ["customer_reply", "reopened"]
            assert a.execute(select(t.c.status)).scalar_one() == "open"


hooks = Webhooks(phone_number_id=WA_NUMBER_ID)
CUSTOMERS = 12


async def test_each_customer_writing_to_both_daemons_at_once_gets_one_ticket_and_one_reply(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    """The load balancer gives each customer's "Hi" to one daemon and "order 123 missing",
    sent half a second later, to the other, and both arrive at the same moment."""
    ports = free_port(), free_port()
    configs = []
    for name, port in zip(("one", "two"), ports, strict=True):
        (tmp_path / name).mkdir()
        extra = shared_config_lines(tmp_path)
        configs.append(write_whatsapp_config(tmp_path / name, graph.base_url, port, extra=extra))
    customers = [f"62813{n:07d}" for n in range(CUSTOMERS)]
    async with running(configs[0]), running(configs[1]):
        posts = [
            post_signed(port, hooks.text(customer, text, name="Budi"))
            for customer in customers
            for port, text in zip(ports, ("Hi", "order 123 missing"), strict=True)
        ]
        assert await asyncio.gather(*posts) == [(200, "ok\n")] * 2 * CUSTOMERS
        # Every message decided while both run: the one put back waits for no restart.
        await wait_until(lambda: all_decided(configs[0], 2 * CUSTOMERS), 20.0)
        await wait_until(lambda: all_sent(configs[0]), 20.0)
        messages = await db_rows(configs[0], "inbound")
    tickets = await db_rows(configs[0], "tickets")
    assert sorted(t["customer"] for t in tickets) == customers
    assert sorted(s.to for s in graph.sent) == customers
    # Of each customer's two messages, the one decided second joined the ticket.
    assert len(messages) == 2 * CUSTOMERS
    assert (
        sorted(m["outcome"] for m in messages)
        == ["follow-up"] * CUSTOMERS + ["replied"] * CUSTOMERS
    )
