"""The web chat's event streams over their life: keepalives, the limit per visitor, a reply
sent while it is also replayed shown once, the end of every stream at stop, and a message
answered after kill -9 (recorded before its 202)."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from pathlib import Path

from testdb import ON_POSTGRESQL, shared_config_lines

from responder.app.daemon import App
from responder.config import load_config
from responder.domain.models import OutboundReply
from responder.testing import free_port
from responder.testing.webchat import Visitor
from tests.harness import (
    DaemonProcess,
    chat_url,
    db_rows,
    running,
    wait_until,
    write_webchat_config,
)


def stream_tasks() -> list[str]:
    return sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("webchat:"))


async def test_an_idle_stream_gets_keepalives_and_a_visitor_only_so_many_streams(
    tmp_path: Path,
) -> None:
    port = free_port()
    extra = "    keepalive: 0.2s\n    limits: {streams_per_visitor: 2}"
    config = write_webchat_config(tmp_path, port, channel_extra=extra)
    async with running(config), Visitor(chat_url(port)) as visitor:
        await visitor.session()
        async with visitor.stream() as one, visitor.stream() as two:
            await one.wait_comment("keepalive", timeout=3)
            async with visitor.stream() as three:
                refused = three.response.status
                retry = three.response.headers.get("Retry-After")
        assert two.response.status == 200
        # The tab closed, a new one may open.
        async with visitor.stream() as four:
            await four.wait_comment("keepalive", timeout=3)
    assert refused == 429 and retry is not None


async def test_a_reply_both_replayed_and_then_sent_shows_once(tmp_path: Path) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    async with running(config) as app, Visitor(chat_url(port)) as visitor:
        await visitor.session()
        sent = await visitor.send("Halo kak")
        await wait_until(lambda: _replies(config, 1))
        [row] = await db_rows(config, "replies")
        async with visitor.stream(after=sent.body["id"]) as stream:
            [ack] = await stream.wait(1)  # replayed from the database
            # The outbox hands the same reply to the channel again (say a retry after a
            # crash left it pending): the open stream has it already.
            reply = OutboundReply(row["id"], "web", "", (row["recipient"],), row["message"], "x")
            await app.channels["web"].send(reply)
            await visitor.send("Masih buka?")
            await stream.wait(2)
            await asyncio.sleep(0.3)
    assert [e["id"] for e in stream.events] == [ack["id"], stream.events[1]["id"]]
    assert stream.events[1]["text"] == "Masih buka?"


async def test_stopping_ends_every_stream_and_leaves_no_task(tmp_path: Path) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    app = App(load_config(config))
    await app.start()
    async with Visitor(chat_url(port)) as first, Visitor(chat_url(port)) as second:
        await first.session()
        await second.session()
        async with first.stream() as a, second.stream() as b:
            await asyncio.sleep(0.2)
            during = stream_tasks()
            began = asyncio.get_running_loop().time()
            await app.stop()
            took = asyncio.get_running_loop().time() - began
            await a.wait_end(5)
            await b.wait_end(5)
    assert during == ["webchat:web:stream:1", "webchat:web:stream:2"]
    assert took < 5  # not the HTTP endpoint's 60 s wait for requests to end
    assert stream_tasks() == []


async def test_a_message_answered_with_202_survives_kill_9(tmp_path: Path) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.start()
    try:
        await wait_until(lambda: _up(port), timeout=15)
        async with Visitor(chat_url(port)) as visitor:
            await visitor.session()
            sent = await visitor.send("Pesanan 1234 belum sampai")
            await asyncio.to_thread(daemon.kill9)  # right after the 202
            daemon.start()
            await wait_until(lambda: _up(port), timeout=15)
            again = await visitor.session()  # the token outlives the process
            async with visitor.stream(after=sent.body["id"]) as stream:
                [ack] = await stream.wait(1)
    finally:
        daemon.terminate()
    assert sent.status == 202 and again.body["visitor"] == visitor.visitor
    assert ack["kind"] == "acknowledgement"
    assert len(await db_rows(config, "inbound")) == 1
    assert len(await db_rows(config, "replies")) == 1


async def _replies(config: Path, n: int) -> bool:
    return len(await db_rows(config, "replies")) >= n


async def _up(port: int) -> bool:
    def status() -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return int(r.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0

    return await asyncio.to_thread(status) == 200


def two_instances(
    tmp_path: Path, keepalive: str, database: str | None = None
) -> tuple[list[Path], tuple[int, int]]:
    """Two daemons' configs on one database (the test's, or the YAML lines `database`), each
    with the web chat `web` on its own port (behind the shop's load balancer); their
    heartbeat short, so each soon sees the other."""
    database = database if database is not None else shared_config_lines(tmp_path)
    ports = free_port(), free_port()
    configs = []
    for name, port in zip(("one", "two"), ports, strict=True):
        (tmp_path / name).mkdir()
        cluster = "cluster: {lease_ttl: 2s, heartbeat: 0.3s}\n"
        configs.append(
            write_webchat_config(
                tmp_path / name,
                port,
                extra=database + cluster,
                channel_extra=f"    keepalive: {keepalive}",
            )
        )
    return configs, ports


async def test_a_message_posted_to_another_instance_reaches_the_visitors_open_stream(
    tmp_path: Path,
) -> None:
    """Two instances behind a load balancer (issue 19): the visitor's stream is held by one,
    their message goes to the other, which records and acknowledges it. On PostgreSQL the
    stream shows both at once, told by NOTIFY: its keepalive (55 s) cannot explain it.
    On SQLite, with no NOTIFY, it reads them at its next quiet keepalive."""
    keepalive, within = ("55s", 2.0) if ON_POSTGRESQL else ("0.5s", 5.0)
    configs, ports = two_instances(tmp_path, keepalive)
    async with (
        running(configs[0]) as one,
        running(configs[1]),
        Visitor(chat_url(ports[0])) as here,
        Visitor(chat_url(ports[1])) as there,
    ):
        await here.session()
        async with here.stream() as stream:
            await stream.wait_comment("open")
            await there.session(token=here.token)  # the same browser, the other instance
            assert there.visitor == here.visitor
            began = time.monotonic()
            sent = await there.send("Halo kak, masih buka?")
            assert sent.status == 202
            mine, ack = await stream.wait(2, timeout=within)
            took = time.monotonic() - began
            listening = one.relay.listening
    assert mine["text"] == "Halo kak, masih buka?"
    assert ack["id"] != mine["id"] and ack["text"]
    assert took < within and listening == ON_POSTGRESQL
