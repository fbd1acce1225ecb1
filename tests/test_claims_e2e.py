"""Two daemons on one SQLite file (issue 19): the replies the intake holder could not send yet
are sent by the other, without a restart, once the holder is killed; each customer gets one
acknowledgement."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from responder.testing import Dovecot, RecordingSMTPServer
from tests.harness import DaemonProcess, db_rows, wait_until
from tests.test_leases_e2e import greylisted_mails, holders, retrying_config

TTL, BEAT = 2.0, 0.5
MAILS = 3
# A refused try waits this long for its next one: whatever goes within it went by adoption.
RETRY = 60


async def test_a_killed_instance_s_unsent_replies_are_sent_by_the_other(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = retrying_config(tmp_path, dovecot, smtp_server, TTL, BEAT, RETRY)
    daemons = [DaemonProcess(config, tmp_path / f"daemon{n}.log") for n in range(2)]

    async def both_there() -> bool:
        now = await holders(config)
        present = [n for n, h in now.items() if n.startswith("instance:") and h]
        # The holder's first run has marked where new mail starts (mail from before is old).
        watching = bool(await db_rows(config, "cursors"))
        return len(present) == 2 and now.get("imap:support-mail") is not None and watching

    async def refused_once() -> bool:
        rows = await db_rows(config, "replies")
        return len(rows) == MAILS and all(
            r["state"] == "pending" and r["attempts"] == 1 for r in rows
        )

    try:
        for daemon in daemons:
            daemon.start()
        await wait_until(both_there, timeout=30)
        # Each first try greylisted (451: this reply waits, the server is not down).
        await greylisted_mails(dovecot, smtp_server, MAILS, "held")
        await wait_until(refused_once, timeout=20)
        holder = (await holders(config))["imap:support-mail"]
        assert holder is not None
        rows = await db_rows(config, "replies")
        assert {r["owner"] for r in rows} == {holder}  # planned by the holder, its to send
        assert smtp_server.received == []
        pid = int(holder.split(":")[-2])
        (victim,) = [d for d in daemons if d.proc is not None and d.proc.pid == pid]
        (standby,) = [d for d in daemons if d is not victim]
        killed = time.monotonic()
        await asyncio.to_thread(victim.kill9)
        await smtp_server.wait_for_async(MAILS, timeout=RETRY / 2)
        took = time.monotonic() - killed
        await asyncio.sleep(2 * TTL)  # a repeat would come by now
        assert standby.proc is not None and standby.proc.poll() is None  # never restarted
        rows = await db_rows(config, "replies")
    finally:
        for daemon in daemons:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.terminate()
    print(f"unsent replies sent by the other instance {took:.2f}s after kill -9 (ttl {TTL}s)")
    recipients = sorted(r for m in smtp_server.received for r in m.rcpt_tos)
    assert recipients == [f"c{n}@example.com" for n in range(1, MAILS + 1)]
    assert {r["state"] for r in rows} == {"sent"}
    (taker,) = {r["owner"] for r in rows}
    assert taker != holder and int(taker.split(":")[-2]) == standby.proc.pid
    assert took < TTL + 5, took
