"""Two daemons on one SQLite file, real Dovecot and the Bot API stand-in (issue 19): one polls;
kill -9 the holder and the other takes intake over within the ttl and a margin; mail and
Telegram messages sent around each kill are each acknowledged once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from functools import partial
from pathlib import Path

import pytest

from responder.cli import main
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn
from tests.harness import SUPPORT, TELEGRAM_TOKEN, DaemonProcess, db_rows, wait_until, write_config
from tests.mailfactory import make_mail

TTL, BEAT = 2.0, 0.5
KILLS = 3


def config_for(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp: RecordingSMTPServer,
    tg: TelegramStandIn,
    *,
    ttl: float = TTL,
    beat: float = BEAT,
) -> Path:
    path = write_config(
        tmp_path, dovecot, smtp, extra=f"cluster: {{lease_ttl: {ttl}s, heartbeat: {beat}s}}"
    )
    token = tmp_path / "telegram-token"
    token.write_text(TELEGRAM_TOKEN + "\n")
    path.write_text(
        path.read_text()
        + f"""\
  - name: shop-bot
    type: telegram
    token_file: {token}
    api_url: {tg.base_url.removesuffix("/bot")}
    language: id
    poll_timeout: 2s
    timeout: 5s
"""
    )
    return path


def retrying_config(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp: RecordingSMTPServer,
    ttl: float,
    beat: float,
    retry: float,
) -> Path:
    """A mailbox's config for two instances whose replies refused once wait `retry` seconds."""
    return write_config(
        tmp_path,
        dovecot,
        smtp,
        extra=f"cluster: {{lease_ttl: {ttl}s, heartbeat: {beat}s}}",
        delivery=f"{{retry_base: {retry}s, retry_cap: {2 * retry}s, max_attempts: 5}}",
    )


async def holders(config: Path) -> dict[str, str | None]:
    try:
        rows = await db_rows(config, "leases")
    except Exception:
        return {}
    now = time.time()
    return {r["name"]: r["holder"] if r["expires_at"].timestamp() > now else None for r in rows}


async def present(config: Path, instances: int) -> bool:
    """That many instances are running and one holds the mailbox's intake."""
    now = await holders(config)
    running = [n for n, h in now.items() if n.startswith("instance:") and h]
    return len(running) == instances and now.get("imap:support-mail") is not None


async def intake_moved(config: Path, old: str) -> bool:
    """Another instance than `old` holds both intakes."""
    now = await holders(config)
    new = now.get("imap:support-mail"), now.get("telegram:shop-bot")
    return all(h is not None and h != old for h in new)


async def write_in(dovecot: Dovecot, tg: TelegramStandIn, n: int, chats: int, tag: str) -> None:
    """Customer n writes by mail (c<n>@example.com) and on Telegram (chat chats + n)."""
    raw = make_mail(
        sender=f"Pelanggan {n} <c{n}@example.com>",
        subject=f"Pesanan #{n}",
        body="Halo, mohon dicek.",
        message_id=f"<{tag}-{n}@example.com>",
    )
    await dovecot.append_async(SUPPORT, raw)
    tg.push_message(chats + n, f"Halo, pesanan {n}")


async def greylisted_mails(
    dovecot: Dovecot, smtp: RecordingSMTPServer, mails: int, tag: str
) -> None:
    """Customers 1..mails write (c<n>@example.com); the server greylists each first try
    (451: the reply waits for its retry, the server is not down)."""
    smtp.fail_next(451, count=mails, text="Greylisted, try again later")
    for n in range(1, mails + 1):
        raw = make_mail(
            sender=f"Pelanggan {n} <c{n}@example.com>",
            subject=f"Pesanan #{n}",
            body="Halo, mohon dicek.",
            message_id=f"<{tag}-{n}@example.com>",
        )
        await dovecot.append_async(SUPPORT, raw)


async def chats_answered(tg: TelegramStandIn, chats: int, n: int) -> bool:
    """Every one of chats + 1 .. chats + n has had an answer."""
    return all(any(m.chat_id == chats + k for m in tg.sent) for k in range(1, n + 1))


async def status_names_the_holder(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`responder status` says which instance holds each intake, and that two are running."""
    now = await holders(config)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["status", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    section = out[out.index("Leases (who runs each intake and the timers)") :]
    for name in ("imap:support-mail", "telegram:shop-bot", "scheduler"):
        (line,) = [line for line in section.splitlines() if line.split()[:1] == [name]]
        assert f"held by {now[name]} (" in line, line
    assert "instances running: 2" in section


async def test_the_standby_takes_intake_over_after_a_kill_9_and_nothing_is_lost(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = config_for(tmp_path, dovecot, smtp_server, tg)
    daemons = [DaemonProcess(config, tmp_path / f"daemon{n}.log") for n in range(2)]
    takeovers: list[float] = []
    sent_mail, sent_chats = 0, 0

    def both_there() -> Awaitable[bool]:
        return present(config, 2)

    async def send_both() -> None:
        nonlocal sent_mail, sent_chats
        sent_mail += 1
        sent_chats += 1
        await write_in(dovecot, tg, sent_mail, 5000, "kill")

    try:
        for daemon in daemons:
            daemon.start()
        await wait_until(both_there, timeout=30)
        await asyncio.sleep(2 * TTL)
        assert tg.conflicts == 0  # only one instance polls the bot
        await status_names_the_holder(config, capsys)
        for _ in range(KILLS):
            now = await holders(config)
            holder = now["imap:support-mail"]
            assert holder is not None and now["telegram:shop-bot"] == holder
            pid = int(holder.split(":")[-2])
            (victim,) = [d for d in daemons if d.proc is not None and d.proc.pid == pid]
            await send_both()
            await asyncio.sleep(0.3)
            killed = time.monotonic()
            await asyncio.to_thread(victim.kill9)
            await send_both()

            await wait_until(partial(intake_moved, config, holder), timeout=TTL + 5, interval=0.05)
            takeovers.append(time.monotonic() - killed)
            victim.start()  # back as the standby
            await wait_until(both_there, timeout=30)
        await smtp_server.wait_for_async(sent_mail, timeout=20)

        await wait_until(partial(chats_answered, tg, 5000, sent_chats), timeout=20)
        await asyncio.sleep(2 * TTL)  # a repeat would come by now
    finally:
        for daemon in daemons:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.terminate()
    print(
        f"takeover after kill -9 (ttl {TTL}s, heartbeat {BEAT}s):", [f"{t:.2f}s" for t in takeovers]
    )
    recipients = sorted(r for m in smtp_server.received for r in m.rcpt_tos)
    assert recipients == sorted(f"c{n}@example.com" for n in range(1, sent_mail + 1))
    answers = {
        n: [m.text for m in tg.sent if m.chat_id == 5000 + n] for n in range(1, sent_chats + 1)
    }
    assert all(len(a) == 1 for a in answers.values()), answers
    assert tg.conflicts == 0
    assert max(takeovers) < TTL + 1.5, takeovers
