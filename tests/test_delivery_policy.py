"""The retry and expiry decisions as pure functions, and a channel's recovery releasing the
replies that wait for it."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from responder.common.tasks import TaskGroup
from responder.services.delivery_policy import (
    Expire,
    Park,
    ReplyFacts,
    Retry,
    RetryPolicy,
    after_failure,
    expires,
    span,
    stale,
)
from responder.services.recovery import ChannelRecovery

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    base=timedelta(seconds=10),
    cap=timedelta(minutes=30),
    lifetime=timedelta(days=2),
    ack_max_age=timedelta(hours=6),
)
H, M, S = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)


@pytest.mark.parametrize(
    ("kind", "drops"),
    [
        ("acknowledgement", True),
        ("out_of_hours", True),
        ("welcome", True),
        ("staff_reply", False),
        ("staff_relay", False),
        ("staff_notice", False),
        ("staff_notification", False),
        ("sla_17", False),
        ("csat_survey", False),
        ("csat_thanks", False),
        ("csat_low_3", False),
        ("payment", False),  # a rule's own answer carries what the customer asked for
        (None, False),  # not known yet: never dropped
    ],
)
def test_only_acknowledgements_expire(kind: str | None, drops: bool) -> None:
    assert expires(kind) is drops
    facts = ReplyFacts(kind, T0)
    assert (stale(POLICY, facts, T0 + 7 * H) is not None) is drops
    assert stale(POLICY, facts, T0 + 6 * H) is None  # exactly the age: still goes


def test_an_expired_acknowledgement_says_why() -> None:
    found = stale(POLICY, ReplyFacts("acknowledgement", T0), T0 + 7 * H + 5 * M)
    assert found == Expire(
        "not sent: this acknowledgement reply could not go out within delivery.ack_max_age "
        "(6h), so it would come too late"
    )
    assert stale(RetryPolicy(ack_max_age=None), ReplyFacts("welcome", T0), T0 + 9 * H) is None


# (kind, age at the failure, attempts, retry_after, expected decision or delay bounds)
CASES: list[tuple[str, timedelta, int, float | None, object]] = [
    # Backoff with jitter: base * 2^(n-1), between half and all of it.
    ("staff_reply", S, 1, None, (5.0, 10.0)),
    ("staff_reply", 5 * M, 4, None, (40.0, 80.0)),
    ("staff_reply", 3 * H, 30, None, (900.0, 1800.0)),  # capped at 30 min
    # The server's own wish is honoured.
    ("staff_reply", S, 1, 42.0, (42.0, 42.0)),
    # The last pause ends with the lifetime: one last try then.
    ("staff_reply", 2 * 24 * H - 60 * S, 40, None, (30.0, 60.0)),
    # Past the lifetime: parked, however few the tries.
    ("staff_reply", 2 * 24 * H, 3, None, Park),
    ("sla_4", 3 * 24 * H, 90, None, Park),
    # An acknowledgement waits no later than its age limit, then goes stale.
    ("acknowledgement", 6 * H - 20 * S, 30, None, (0.0, 20.0)),
    ("acknowledgement", 6 * H - 20 * S, 30, 600.0, (20.0, 20.0)),
    ("acknowledgement", 6 * H + S, 2, None, Expire),
    ("out_of_hours", 2 * 24 * H + S, 99, None, Expire),  # stale before given up on
    ("acknowledgement", M, 1, None, (5.0, 10.0)),
]


@pytest.mark.parametrize(("kind", "age", "attempts", "retry_after", "expected"), CASES)
def test_after_failure(
    kind: str, age: timedelta, attempts: int, retry_after: float | None, expected: object
) -> None:
    facts = ReplyFacts(kind, T0)
    decision = after_failure(
        POLICY, facts, T0 + age, attempts, "SMTP 451 later", retry_after, random.Random(attempts)
    )
    if isinstance(expected, tuple):
        low, high = expected
        assert isinstance(decision, Retry)
        assert low - 1e-6 <= decision.delay <= high + 1e-6
    else:
        assert isinstance(decision, expected)  # type: ignore[arg-type]


def test_giving_up_names_the_lifetime_and_the_last_error() -> None:
    decision = after_failure(POLICY, ReplyFacts("staff_reply", T0), T0 + 50 * H, 61, "421 busy")
    assert decision == Park(
        "gave up after 2d 2h of temporary failures (61 attempts; delivery.lifetime is 2d): 421 busy"
    )


def test_max_attempts_is_an_optional_cap() -> None:
    capped = RetryPolicy(max_attempts=5)
    facts = ReplyFacts("staff_reply", T0)
    assert isinstance(after_failure(capped, facts, T0 + M, 4, "451"), Retry)
    assert after_failure(capped, facts, T0 + M, 5, "451") == Park("gave up after 5 attempts: 451")
    assert isinstance(after_failure(POLICY, facts, T0 + M, 500, "451"), Retry)


@pytest.mark.parametrize(
    ("delta", "text"),
    [(1.5 * S, "1.5s"), (45 * M + 10 * S, "45m 10s"), (6 * H, "6h"), (50 * H + 5 * M, "2d 2h")],
)
def test_span(delta: timedelta, text: str) -> None:
    assert span(delta) == text


class Server:
    """A probe target that is down until told otherwise; counts the probes."""

    def __init__(self) -> None:
        self.up = False
        self.probes = 0

    async def probe(self) -> None:
        self.probes += 1
        if not self.up:
            raise ConnectionRefusedError("connection refused")


async def test_a_probe_that_succeeds_releases_every_waiting_reply() -> None:
    tasks, server = TaskGroup(), Server()
    recovery = ChannelRecovery("mail", server.probe, tasks, interval=1.0)
    waits = [asyncio.create_task(recovery.wait(600.0)) for _ in range(3)]
    greylisted = asyncio.create_task(asyncio.sleep(600.0))  # own backoff: not a waiter
    recovery.failed("connection refused")
    await asyncio.sleep(1.2)
    assert recovery.down and server.probes >= 1 and not any(w.done() for w in waits)
    server.up = True
    started = asyncio.get_running_loop().time()
    assert await asyncio.wait_for(asyncio.gather(*waits), 3.0) == [True, True, True]
    assert asyncio.get_running_loop().time() - started <= 1.1  # the probe interval
    assert not recovery.down and not greylisted.done()
    greylisted.cancel()
    await tasks.cancel_all()


async def test_a_send_that_goes_through_releases_without_a_probe() -> None:
    tasks = TaskGroup()
    recovery = ChannelRecovery("mail", None, tasks, interval=30.0)
    waiting = asyncio.create_task(recovery.wait(600.0))
    recovery.failed("timeout")
    await asyncio.sleep(0.05)
    recovery.succeeded()
    assert await asyncio.wait_for(waiting, 1.0) is True
    # Its own time still counts when nothing recovers.
    assert await recovery.wait(0.05) is False
    await tasks.cancel_all()


async def test_a_reply_released_once_waits_for_a_real_outage_to_be_released_again() -> None:
    tasks, server = TaskGroup(), Server()
    server.up = True  # the server answers: the reply's failure was its own
    recovery = ChannelRecovery("mail", server.probe, tasks, interval=1.0)
    strict = asyncio.create_task(recovery.wait(600.0, strict=True))
    recovery.failed("connection dropped after DATA")
    await asyncio.sleep(1.2)
    assert server.probes == 1 and not recovery.down
    assert not strict.done()  # no probe failed since it began waiting: not released
    server.up = False
    recovery.failed("connection refused")  # now the server is really out
    await asyncio.sleep(1.2)
    server.up = True
    assert await asyncio.wait_for(strict, 3.0) is True
    await tasks.cancel_all()
