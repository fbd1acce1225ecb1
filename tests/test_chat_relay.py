"""Live web chat across instances (issue 19, services/chat_relay.py): a quiet stream reads the
database at its keepalives only when another instance may record unheard (SQLite), never when
alone or when NOTIFY tells it (PostgreSQL); a long poll ends at a notice; the listening
connection comes back after the server dropped it, and meanwhile the keepalive reads stand
in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest
import testdb
from aiohttp import web
from harness import chat_url, running, wait_until, write_webchat_config
from test_webchat_streams import two_instances

from responder.channels.base import Site
from responder.channels.webchat.channel import WebChatChannel
from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.config import load_config
from responder.domain.models import ChatEntry
from responder.services.chat_relay import ChatRelay
from responder.services.inbox import StoreInbox
from responder.storage.store import Store, utcnow
from responder.testing import free_port
from responder.testing.postgres import SUPERUSER_PASSWORD, PostgresServer
from responder.testing.webchat import PANEL_ORIGIN, Visitor


class CountingInbox(StoreInbox):
    """The daemon's own inbox, counting the conversation reads the streams make."""

    reads = 0

    async def conversation(
        self,
        channel: str,
        customer: str,
        recipient: str,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[ChatEntry]:
        self.reads += 1
        return await super().conversation(channel, customer, recipient, since, limit)


@asynccontextmanager
async def chat_alone(
    tmp_path: Path, others: bool
) -> AsyncIterator[tuple[CountingInbox, ChatRelay, int]]:
    """The web chat `web` served on its own (keepalive 0.2 s), with this test's database and a
    ChatRelay told whether another instance is present."""
    port = free_port()
    path = write_webchat_config(tmp_path, port, channel_extra="    keepalive: 0.2s")
    config = load_config(path).channels[0]
    tasks = TaskGroup()
    store = Store(testdb.url(tmp_path / "responder.db"), owner="here")
    await store.open()
    relay = ChatRelay(store, lambda: others, "here", tasks)
    site = Site(lambda: PANEL_ORIGIN, utcnow, lambda _language: (True, None))
    channel = WebChatChannel(config, tasks, Metrics(), site, peers=relay)
    inbox = CountingInbox(store, asyncio.Queue())
    relay.start()
    await channel.start(inbox)
    app = web.Application()
    app.add_routes(channel.routes())
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        if store.postgresql:
            await wait_until(holds(lambda: relay.listening))
        yield inbox, relay, port
    finally:
        await channel.close_streams()
        await runner.cleanup()
        await channel.stop()
        await relay.stop()
        await tasks.cancel_all()
        await store.close()


def holds(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """`check` as wait_until's predicate."""

    async def holding() -> bool:
        return check()

    return holding


@pytest.mark.parametrize("others", [False, True], ids=["alone", "others present"])
async def test_a_quiet_stream_reads_the_database_only_when_another_instance_may_go_unheard(
    tmp_path: Path, others: bool
) -> None:
    async with chat_alone(tmp_path, others) as (inbox, relay, port), Visitor(chat_url(port)) as v:
        await v.session()
        async with v.stream() as stream:
            await stream.wait_comment("open")
            opened = inbox.reads  # the stream's replay on opening
            while stream.comments.count("keepalive") < 5:
                await stream.wait_comment("keepalive")
                await asyncio.sleep(0.05)
            at_keepalives = inbox.reads - opened
            # Its own message: shown from the hub; its own notice (PostgreSQL) is not read
            # back.
            sent = await v.send("Halo kak")
            [mine] = await stream.wait(1)
            await asyncio.sleep(0.5)
            after_own = inbox.reads - opened - at_keepalives
            listening = relay.listening
    assert sent.status == 202 and mine["text"] == "Halo kak"
    unheard = others and not testdb.ON_POSTGRESQL  # no NOTIFY on SQLite
    assert listening == testdb.ON_POSTGRESQL
    if unheard:
        assert at_keepalives >= 4
    else:
        assert at_keepalives == 0 and after_own == 0


@pytest.fixture
def postgres_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[PostgresServer, str]]:
    """A database for two daemons on the session's server on the PostgreSQL leg; on the SQLite
    leg, on a server of this test's own: NOTIFY is PostgreSQL's, and CI runs both legs."""
    monkeypatch.setenv(testdb.PASSWORD_ENV, SUPERUSER_PASSWORD)
    with ExitStack() as stack:
        server = testdb.server() if testdb.ON_POSTGRESQL else stack.enter_context(PostgresServer())
        server.sql("CREATE DATABASE relay")
        try:
            yield server, "relay"
        finally:
            server.sql("DROP DATABASE IF EXISTS relay WITH (FORCE)")


async def test_the_listener_comes_back_after_the_server_dropped_it(
    tmp_path: Path,
    postgres_database: tuple[PostgresServer, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Both instances' listening connections are cut and cannot come back for a while: the
    stream reads what the other records at its keepalive; listening again, NOTIFY serves."""
    server, database = postgres_database
    configs, ports = pg_instances(tmp_path, postgres_database, "2s")
    caplog.set_level(logging.INFO, "responder.services.chat_relay")
    async with (
        running(configs[0]) as one,
        running(configs[1]) as two,
        Visitor(chat_url(ports[0])) as here,
        Visitor(chat_url(ports[1])) as there,
    ):
        await here.session()
        await there.session(token=here.token)
        async with here.stream() as stream:
            await stream.wait_comment("open")
            await wait_until(holds(lambda: one.relay.listening and two.relay.listening))
            # New connections refused, the listening ones cut (the daemons' own stay).
            server.sql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            try:
                server.sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND application_name = 'responder-listen'",
                    database,
                )
                await wait_until(holds(lambda: not one.relay.listening), timeout=5)
                await there.send("Halo, ada yang jaga?")
                down = await stream.wait(2, timeout=8)  # at a keepalive (2 s)
                await asyncio.sleep(2)  # a few failed tries to listen again
                listening_while_down = one.relay.listening
            finally:
                server.sql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
            await wait_until(holds(lambda: one.relay.listening and two.relay.listening), 20)
            assert not one.relay.unheard()  # no keepalive reads from here on
            await there.send("Masih ada?")
            up = await stream.wait(3, timeout=5)  # no second acknowledgement
    assert not listening_while_down
    assert down[0]["text"] == "Halo, ada yang jaga?"
    assert up[2]["text"] == "Masih ada?"
    said = [r for r in caplog.records if r.name == "responder.services.chat_relay"]
    errors = [r for r in said if r.levelno == logging.ERROR]
    assert len(errors) == 2  # once per instance, however many tries failed
    assert all("cannot listen to the other instances" in r.getMessage() for r in errors)
    assert sum("listening to the other instances again" in r.getMessage() for r in said) == 2


def pg_instances(
    tmp_path: Path, database: tuple[PostgresServer, str], keepalive: str
) -> tuple[list[Path], tuple[int, int]]:
    """Two daemons' configs on `database`, the password from the environment."""
    server, name = database
    target = server.url(name, password=None)
    lines = f"database_url: {target}\ndatabase_password_env: {testdb.PASSWORD_ENV}\n"
    return two_instances(tmp_path, keepalive, lines)


async def test_a_long_poll_on_one_instance_answers_at_once_what_another_recorded(
    tmp_path: Path, postgres_database: tuple[PostgresServer, str]
) -> None:
    """Where streaming is blocked the panel long-polls (25 s): the visitor's message posted
    to the other instance ends the poll at once, not at its 25 s."""
    configs, ports = pg_instances(tmp_path, postgres_database, "15s")
    async with (
        running(configs[0]) as one,
        running(configs[1]),
        Visitor(chat_url(ports[0])) as here,
        Visitor(chat_url(ports[1])) as there,
    ):
        await here.session()
        await there.session(token=here.token)
        await wait_until(holds(lambda: one.relay.listening))
        polling = asyncio.create_task(here.poll())
        await asyncio.sleep(0.3)  # the poll waits on its listener
        began = asyncio.get_running_loop().time()
        await there.send("Bisa dikirim hari ini?")
        answer = await asyncio.wait_for(polling, 5)
        took = asyncio.get_running_loop().time() - began
    assert answer.status == 200 and took < 2
    assert answer.body["events"][0]["text"] == "Bisa dikirim hari ini?"
