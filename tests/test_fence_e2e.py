"""Two daemons on one database (issue 19): the intake holder has replies waiting to be retried
when it loses the database, while its mail server still answers: frozen (SIGSTOP, as a paused
VM or a stalled host), or, on PostgreSQL, cut off by the network between it and the server.
The other takes the replies over once its presence runs out and sends them; when the first
comes back its own retries are due, and it must send none of them: each customer gets one."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import testdb

from responder.config import load_config
from responder.testing import Dovecot, RecordingSMTPServer
from tests.harness import DaemonProcess, db_rows, wait_until
from tests.test_leases_e2e import greylisted_mails, holders, retrying_config

TTL, BEAT = 2.0, 0.5
MAILS = 3
# The holder's own retry falls due after its presence stopped being fresh (TTL - BEAT after
# its last renewal) and after the other instance took the replies over: without the fence it
# would send each a second time.
RETRY = 2 * TTL


class Partition:
    """A TCP forwarder on 127.0.0.1 between one daemon and PostgreSQL, which the test cuts as a
    network fault would: the connections through it are reset and new ones refused (the server
    sees its clients gone and rolls back what they held) until it heals."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.cut = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._open -= {writer, up_writer}

    def sever(self) -> None:
        self.cut = True
        for writer in list(self._open):
            writer.transport.abort()

    def heal(self) -> None:
        self.cut = False

    async def stop(self) -> None:
        self.sever()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


def through(config: Path, partition: Partition, name: str) -> Path:
    """A copy of the config whose database is reached through the partition."""
    testdb.for_child(config)
    port = testdb.server().port
    text = config.read_text()
    assert f":{port}/" in text
    path = config.with_name(name)
    path.write_text(text.replace(f":{port}/", f":{partition.port}/"))
    return path


def writer_free(config: Path) -> bool:
    """Whether the other instance can write now: the frozen one held no lock when it froze
    (its transactions are milliseconds, but one in flight would hold the others up too)."""
    loaded = load_config(config)
    if not testdb.ON_POSTGRESQL:
        db = sqlite3.connect(loaded.database_url_resolved.split(":///", 1)[1], timeout=0.5)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            db.close()
    busy = testdb.execute(
        loaded.state_dir / "responder.db",  # the database testdb made for the daemons
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')",
    )
    return busy == [(0,)]


async def freeze(daemon: DaemonProcess, config: Path) -> None:
    assert daemon.proc is not None
    for _ in range(50):
        daemon.proc.send_signal(signal.SIGSTOP)
        await asyncio.sleep(0.05)
        if await asyncio.to_thread(writer_free, config):
            return
        daemon.proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.05)
    raise AssertionError("the daemon was always caught in a transaction")


ON_SERVER = pytest.mark.postgresql_only(
    "SQLite is a file on one machine: its instances lose it together"
)


@pytest.mark.parametrize("lost", ["frozen", pytest.param("cut off", marks=ON_SERVER)])
async def test_an_instance_back_from_losing_the_database_sends_none_of_what_another_sent(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, lost: str
) -> None:
    config = retrying_config(tmp_path, dovecot, smtp_server, TTL, BEAT, RETRY)
    partition: Partition | None = None
    config_a = config
    if lost == "cut off":
        partition = Partition(testdb.server().port)
        await partition.start()
        config_a = through(config, partition, "config-a.yaml")
    first = DaemonProcess(config_a, tmp_path / "first.log")
    other = DaemonProcess(config, tmp_path / "other.log")

    async def holds_intake(daemon: DaemonProcess) -> bool:
        holder = (await holders(config)).get("imap:support-mail")
        return holder is not None and daemon.proc is not None and f":{daemon.proc.pid}:" in holder

    async def both_there() -> bool:
        now = await holders(config)
        present = [n for n, h in now.items() if n.startswith("instance:") and h]
        # The holder's first run has marked where new mail starts (mail from before is old).
        return len(present) == 2 and bool(await db_rows(config, "cursors"))

    async def refused_once() -> bool:
        rows = await db_rows(config, "replies")
        return len(rows) == MAILS and all(
            r["state"] == "pending" and r["attempts"] == 1 for r in rows
        )

    try:
        first.start()
        await wait_until(lambda: holds_intake(first), timeout=30)
        other.start()
        await wait_until(both_there, timeout=30)
        # Each first try greylisted (451): the replies wait RETRY in the holder.
        await greylisted_mails(dovecot, smtp_server, MAILS, "fenced")
        await wait_until(refused_once, timeout=20)
        refused = time.monotonic()
        if partition is not None:
            partition.sever()
        else:
            await freeze(first, config)
        # The other instance adopts them once the first's presence ran out, and sends them.
        await smtp_server.wait_for_async(MAILS, timeout=TTL + 10)
        await asyncio.sleep(max(0.0, refused + RETRY + 1 - time.monotonic()))
        # The first one's retries are due: it comes back.
        if partition is not None:
            partition.heal()
        else:
            assert first.proc is not None
            first.proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(3 * TTL)  # a repeat would come by now
        assert first.proc is not None and first.proc.poll() is None  # it runs on
        rows = await db_rows(config, "replies")
    finally:
        if first.proc is not None and first.proc.poll() is None:
            first.proc.send_signal(signal.SIGCONT)
        if partition is not None:
            partition.heal()
        for daemon in (first, other):
            daemon.shut_down()
        if partition is not None:
            await partition.stop()
    recipients = sorted(r for m in smtp_server.received for r in m.rcpt_tos)
    assert recipients == [f"c{n}@example.com" for n in range(1, MAILS + 1)]
    assert {r["state"] for r in rows} == {"sent"}
    assert other.proc is not None
    assert {r["owner"].split(":")[-2] for r in rows} == {str(other.proc.pid)}
    log = (tmp_path / "first.log").read_text()
    assert "cannot reach the database: replies held" in log
    assert f"{MAILS} of the {MAILS} replies held here were taken over by another" in log
