"""Leases (issue 19): two instances on one database file never both hold one; a holder that
stops renewing loses it after the ttl; the keeper stops intake the moment a lease is lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from responder.common.tasks import TaskGroup
from responder.config import load_config_text
from responder.core.leases import Lease, orphaned, still_ours, takeable
from responder.errors import ConfigError
from responder.services.leases import Instance, LeaseKeeper, _machine
from responder.storage import leases
from responder.storage.store import Store
from responder.testing import TelegramStandIn

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)
S = timedelta(seconds=1)


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}")
    await store.open()
    yield store  # type: ignore[misc]
    await store.close()


async def claim(store: Store, who: str, at: datetime, *names: str) -> set[str]:
    return await store.run(leases.claim, names or ("imap:support",), who, f"{who} info", at, TTL)


@pytest.mark.parametrize(
    "first, second, at, second_gets",
    [
        ("a", "b", T0 + 29 * S, False),  # held and not run out: b waits
        ("a", "b", T0 + 30 * S, True),  # run out at expires_at: b takes it
        ("a", "a", T0 + 29 * S, True),  # renewed by its holder
    ],
)
async def test_two_holders_never_both_hold_a_lease(
    store: Store, first: str, second: str, at: datetime, second_gets: bool
) -> None:
    assert await claim(store, first, T0) == {"imap:support"}
    assert (await claim(store, second, at) == {"imap:support"}) is second_gets
    (row,) = await store.run(leases.leases)
    assert row.holder == (second if second_gets else first)


async def test_a_renewal_keeps_when_it_was_acquired_and_moves_the_expiry(store: Store) -> None:
    await claim(store, "a", T0)
    await claim(store, "a", T0 + 10 * S)
    (row,) = await store.run(leases.leases)
    assert (row.acquired_at, row.expires_at) == (T0, T0 + 10 * S + TTL)


async def test_a_released_lease_is_taken_at_once_by_the_next_claim(store: Store) -> None:
    await claim(store, "a", T0, "imap:support", "scheduler")
    assert await store.run(leases.release, ["imap:support"], "b", T0) == set()  # not b's
    assert await store.run(leases.release, ["imap:support"], "a", T0 + S) == {"imap:support"}
    assert await claim(store, "b", T0 + 2 * S, "imap:support", "scheduler") == {"imap:support"}


async def test_two_stores_on_one_file_racing_for_a_new_lease_get_it_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    stores = [Store(url), Store(url)]
    for s in stores:
        await s.open()
    try:
        for round_ in range(20):
            name = f"telegram:bot{round_}"
            got = await asyncio.gather(
                *(claim(s, who, T0, name) for s, who in zip(stores, "ab", strict=True))
            )
            assert sorted(len(g) for g in got) == [0, 1]
    finally:
        for s in stores:
            await s.close()


LEASE = Lease("imap:support", "host:4242:abc", "host pid 4242 v0.1.0 on boot/7", T0, T0, T0 + TTL)


@pytest.mark.parametrize(
    "lease, me, at, expected",
    [
        (None, "me", T0, True),
        (LEASE, "me", T0 + 29 * S, False),
        (LEASE, "me", T0 + 30 * S, True),
        (LEASE, "host:4242:abc", T0 + 29 * S, True),
        (Lease("x", None, "", T0, T0, T0 + TTL), "me", T0, True),
    ],
)
def test_takeable(lease: Lease | None, me: str, at: datetime, expected: bool) -> None:
    assert takeable(lease, me, at) is expected


@pytest.mark.parametrize(
    "renewed, at, expected",
    [(None, T0, False), (T0, T0 + 19 * S, True), (T0, T0 + 20 * S, False)],
)
def test_a_holder_stops_one_heartbeat_before_its_hold_runs_out(
    renewed: datetime | None, at: datetime, expected: bool
) -> None:
    assert still_ours(renewed, at, TTL, 10 * S) is expected


@pytest.mark.parametrize(
    "machine, alive, expected",
    [("boot/7", False, True), ("boot/7", True, False), ("boot/8", False, False)],
)
def test_only_a_dead_process_of_this_machine_loses_its_leases_early(
    machine: str, alive: bool, expected: bool
) -> None:
    assert orphaned(LEASE, machine, lambda pid: alive) is expected


def test_vpses_cloned_from_one_image_are_never_taken_for_one_machine() -> None:
    """Same /etc/machine-id, same first pid namespace, booted together: another host all the
    same, whose live instance must not lose its leases because its pid is not running here."""
    here, clone = _machine("vps1"), _machine("vps2")
    assert here != clone and here == _machine("vps1")
    info = f"vps2 pid 4242 v1 on {clone}"
    lease = Lease("imap:support-mail", "vps2:4242:ab12cd", info, T0, T0, T0 + TTL)
    assert orphaned(lease, here, lambda pid: False) is False


BASE = (
    "state_dir: s\nchannels:\n"
    "  - {name: web, type: webchat, allowed_origins: ['https://a.id'], title: T}\n"
)


def test_the_cluster_section_is_optional_and_checked_at_its_line() -> None:
    http = "http: {host: 127.0.0.1, port: 8080, public_url: https://b.id}\n"
    config = load_config_text(http + BASE, "c.yaml", Path("/x"))
    assert (config.cluster.lease_ttl, config.cluster.heartbeat) == (TTL, 10 * S)
    text = http + BASE + "cluster:\n  lease_ttl: 2s\n  heartbeat: 1s\n"
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "c.yaml", Path("/x"))
    assert [str(p) for p in info.value.problems] == [
        "c.yaml:7:14: cluster.heartbeat: must be shorter than half of lease_ttl "
        "(a second renewal must fit)"
    ]


async def test_a_keeper_takes_over_after_the_ttl_and_the_loser_stops_at_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    ttl, beat = timedelta(seconds=2), timedelta(seconds=0.5)
    tasks = TaskGroup()
    events: list[tuple[str, bool]] = []
    stores, keepers = [], []
    for who in "ab":
        store = Store(url)
        await store.open()
        keeper = LeaseKeeper(store, Instance(who, who, who), ttl, beat, _now, tasks)

        async def told(name: str, held: bool, who: str = who) -> None:
            events.append((who, held))

        keeper.want("telegram:shop-bot", told)
        stores.append(store)
        keepers.append(keeper)
    a, b = keepers
    try:
        await a.heartbeat()
        await b.heartbeat()
        a.start()
        b.start()
        await asyncio.sleep(1.5)
        assert (a.held, b.held, events) == (("telegram:shop-bot",), (), [("a", True)])
        await a.halt()  # a hangs: it renews no more
        loop = asyncio.get_running_loop()
        stopped = loop.time()
        while b.held == ():  # noqa: ASYNC110 (the keeper's own beat is what is measured)
            await asyncio.sleep(0.05)
        took = loop.time() - stopped
        assert 0.5 <= took <= 2.0 + 0.5 + 0.5, took  # within ttl + a beat
        await a.heartbeat()  # a comes back: the renewal says it lost the lease
        assert events == [("a", True), ("b", True), ("a", False)]
        assert a.held == ()
    finally:
        for keeper in keepers:
            await keeper.release()
        await tasks.cancel_all()
        for store in stores:
            await store.close()


def _now() -> datetime:
    return datetime.now(UTC)


async def test_the_bot_api_stand_in_ends_the_older_of_two_pollers_with_409() -> None:
    bot = TelegramStandIn()
    bot.start()
    try:
        await _two_pollers(bot)
        await _a_killed_poller_then_a_new_one(bot)
    finally:
        bot.stop()


async def _two_pollers(bot: TelegramStandIn) -> None:
    # As on Telegram: the newer getUpdates wins, the one it terminated is told 409.
    async with aiohttp.ClientSession() as session:
        url = f"{bot.base_url}{bot.token}/getUpdates"
        first = asyncio.create_task(session.post(url, json={"timeout": 1}))
        await asyncio.sleep(0.2)
        async with session.post(url, json={"timeout": 1}) as second:
            assert second.status == 200
        async with await first as answer:
            body = await answer.json()
        assert (answer.status, body["error_code"]) == (409, 409)
        assert body["description"].startswith("Conflict: terminated by other getUpdates")
        assert bot.conflicts == 1


async def _a_killed_poller_then_a_new_one(bot: TelegramStandIn) -> None:
    # A poller whose process died mid-poll (its socket closed) is no second instance.
    host, port = bot.base_url.split("//")[1].split("/")[0].split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    body = b'{"timeout": 5}'
    writer.write(
        f"POST /bot{bot.token}/getUpdates HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.transport.abort()
    await asyncio.sleep(0.2)
    async with aiohttp.ClientSession() as session:
        url = f"{bot.base_url}{bot.token}/getUpdates"
        async with session.post(url, json={"timeout": 0}) as answer:
            assert answer.status == 200
    assert bot.conflicts == 1  # still only the live one above
