"""Meta's pacing errors: a customer Meta says we wrote to too often (131056) waits, the
others do not; the whole number slows down on 130429; one customer's replies keep order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from responder.channels.whatsapp.channel import WhatsAppChannel
from responder.channels.whatsapp.pace import EVERYONE, Pace
from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.config import load_config
from responder.domain.models import OutboundReply
from responder.errors import TransientError
from responder.testing import GraphStandIn
from responder.wire.whatsapp.outbound import build
from tests.harness import write_whatsapp_config

BUDI, SARI = "6281234567890", "6289876543210"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_held_customer_waits_out_the_hold_and_others_go_on() -> None:
    clock = Clock()
    pace = Pace(clock)
    pace.hold(BUDI, 60.0)
    with pytest.raises(TransientError) as held:
        async with pace.turn(BUDI):
            pass
    assert held.value.retry_after == pytest.approx(60.0)
    async with pace.turn(SARI):
        pass  # another customer is not held
    clock.now += 61
    async with pace.turn(BUDI):
        pass


async def test_a_hold_on_the_whole_number_holds_every_customer() -> None:
    clock = Clock()
    pace = Pace(clock)
    pace.hold(EVERYONE, 5.0)
    for who in (BUDI, SARI):
        with pytest.raises(TransientError):
            async with pace.turn(who):
                pass
    clock.now += 5.1
    async with pace.turn(SARI):
        pass


async def test_replies_to_one_customer_go_one_at_a_time_in_the_order_they_came() -> None:
    pace, order, gate = Pace(), [], asyncio.Event()

    async def send(n: int) -> None:
        async with pace.turn(BUDI):
            order.append(f"start {n}")
            if n == 0:
                await gate.wait()
            order.append(f"end {n}")

    tasks = [asyncio.create_task(send(n)) for n in range(3)]
    await asyncio.sleep(0.01)
    assert order == ["start 0"]  # the others wait for the first, which Meta still holds
    gate.set()
    await asyncio.gather(*tasks)
    assert order == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]


@pytest.fixture
async def channel(tmp_path: Path, graph: GraphStandIn) -> AsyncIterator[WhatsAppChannel]:
    config = load_config(write_whatsapp_config(tmp_path, graph.base_url, 8080))
    wa = WhatsAppChannel(config.channels[0], TaskGroup(), Metrics())
    yield wa
    await wa.stop()


def reply(n: int, to: str) -> OutboundReply:
    out = build(to, f"Balasan {n}")
    return OutboundReply(n, "shop-wa", "", (to,), out.to_bytes(), f"<{n}@shop-wa>")


async def test_after_131056_the_customer_is_not_written_to_again_until_the_pause_ends(
    channel: WhatsAppChannel, graph: GraphStandIn
) -> None:
    graph.fail_next(131056)
    with pytest.raises(TransientError) as first:
        await channel.send(reply(1, BUDI))
    assert first.value.retry_after == 60.0
    calls = len(graph.calls)
    # A second reply to the same customer is not even tried: Meta would refuse it too.
    with pytest.raises(TransientError):
        await channel.send(reply(2, BUDI))
    assert len(graph.calls) == calls and not graph.sent_to(BUDI)
    await channel.send(reply(3, SARI))
    assert [s.payload["text"]["body"] for s in graph.sent_to(SARI)] == ["Balasan 3"]


async def test_after_130429_the_whole_number_waits_a_moment(
    channel: WhatsAppChannel, graph: GraphStandIn
) -> None:
    graph.fail_next(130429)
    with pytest.raises(TransientError):
        await channel.send(reply(1, BUDI))
    with pytest.raises(TransientError) as held:
        await channel.send(reply(2, SARI))
    assert 0 < (held.value.retry_after or 0) <= 5.0
    assert not graph.sent
