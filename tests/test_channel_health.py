"""A broken channel is loud and visible (issue 14): the log says what to do, `status` and
/healthz show why, the other channels carry on, and a reload with the fix brings it back."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import testdb
from harness import (
    SUPPORT,
    SUPPORT_PASSWORD,
    TELEGRAM_TOKEN,
    DaemonProcess,
    db_rows,
    running,
    wait_until,
    write_config,
)
from mailfactory import STAFF_USER, make_mail

from responder.channels import health
from responder.cli import EX_CONFIG
from responder.config import load_config
from responder.storage.store import Store
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn
from responder.testing._net import free_port

WRONG = "not-the-password-1"
REFUSED = (
    f"the password for {SUPPORT} was refused by 127.0.0.1 (channels[0].imap.password_file): "
    "check imap.password_file and imap.username"
)


def two_mailboxes(tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer, http: int) -> Path:
    """support-mail (its password file says "wrong") and staff-mail, with /healthz."""
    (tmp_path / "staff-password").write_text("secret-staff\n")
    config = write_config(tmp_path, dovecot, smtp, extra=f"http: {{host: 127.0.0.1, port: {http}}}")
    config.write_text(
        config.read_text()
        + f"""\
  - name: staff-mail
    type: email
    address: {STAFF_USER}
    imap: {{host: 127.0.0.1, port: {dovecot.port}, security: none, username: {STAFF_USER},
           password_file: {tmp_path / "staff-password"}, timeout: 5s}}
    smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}
"""
    )
    (tmp_path / "imap-password").write_text(WRONG + "\n")
    return config


def status(config: Path, *flags: str) -> str:
    testdb.for_child(config)
    result = subprocess.run(
        [sys.executable, "-m", "responder.cli", "status", "-c", str(config), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


async def healthz(port: int) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status, await response.text()


def lines(log: Path, level: str) -> list[str]:
    text = log.read_text() if log.exists() else ""
    return [line for line in text.splitlines() if f" {level} " in line]


async def test_a_wrong_imap_password_is_said_shown_and_fixed_by_a_reload(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    http = free_port()
    config = two_mailboxes(tmp_path, dovecot, smtp_server, http)
    log = tmp_path / "daemon.log"
    daemon = DaemonProcess(config, log)
    daemon.start()
    try:

        async def said() -> bool:
            return any("channel support-mail:" in line for line in lines(log, "ERROR"))

        await wait_until(said, timeout=30)
        [error] = [line for line in lines(log, "ERROR") if "channel support-mail:" in line]
        assert error.endswith(f"channel support-mail: {REFUSED}; trying again every 5 minutes")
        # A customer writes meanwhile; the mail waits in the mailbox.
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))

        shown = await asyncio.to_thread(status, config)
        assert "  state:         FAILED since " in shown
        assert f"  problem:       the password for {SUPPORT} was refused by 127.0.0.1" in shown
        assert (
            "  what to do:    check imap.password_file and imap.username "
            "(channels[0].imap.password_file)"
        ) in shown
        data = json.loads(await asyncio.to_thread(status, config, "--json"))
        assert data["channels"]["support-mail"]["health"]["state"] == "failed"
        assert data["channels"]["staff-mail"]["health"]["state"] == "connected"

        code, body = await healthz(http)
        assert code == 503
        [line] = body.splitlines()
        assert line.startswith("support-mail: failed since ") and line.endswith(REFUSED)

        # The other mailbox answers its customers all the while.
        await dovecot.append_async(STAFF_USER, make_mail(sender="sari@example.com", to=STAFF_USER))
        [first] = await smtp_server.wait_for_async(1, timeout=15)
        assert first.rcpt_tos == ("sari@example.com",)

        # The admin writes the right password and reloads: no restart.
        (tmp_path / "imap-password").write_text(SUPPORT_PASSWORD + "\n")
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGHUP)
        received = await smtp_server.wait_for_async(2, timeout=20)
        assert received[1].rcpt_tos == ("budi@example.com",)

        async def healthy() -> bool:
            return (await healthz(http))[0] == 200

        await wait_until(healthy, timeout=10)
        assert "  state:         connected since " in await asyncio.to_thread(status, config)

        async def said_again() -> bool:
            return "channel support-mail works again" in log.read_text()

        await wait_until(said_again, timeout=5)  # the log is told at the next look (each second)
    finally:
        code = daemon.terminate()
    text = log.read_text()
    assert code == 0, text
    assert "channel support-mail works again" in text
    assert WRONG not in text and SUPPORT_PASSWORD not in text


async def test_an_unknown_host_is_named_and_becomes_an_error_after_the_grace_period(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "UNKNOWN_HOST_GRACE", 1.5)  # five minutes in the daemon
    caplog.set_level(logging.INFO)
    config = write_config(tmp_path, dovecot, smtp_server)
    # RFC 2606: .invalid never resolves.
    typo = "imap.toko-contoh.invalid"
    config.write_text(config.read_text().replace("imap: {host: 127.0.0.1", f"imap: {{host: {typo}"))
    async with running(config) as app:

        async def failed() -> bool:
            return app.health()["support-mail"] == "failed" and "ERROR" in caplog.text

        await wait_until(failed, timeout=15)
        [state] = await db_rows(config, "channel_health")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    found = f"the IMAP server name {typo} cannot be found (DNS)"
    assert warnings[0].startswith(
        f"channel support-mail: {found}: check imap.host for typos; `getent hosts {typo}` must "
        "print an address; reconnecting in "
    )
    assert errors == [
        f"channel support-mail: {found} (channels[0].imap.host): check imap.host for typos; "
        f"`getent hosts {typo}` must print an address; trying again every 5 minutes"
    ]
    assert "gaierror" not in caplog.text
    assert (state["state"], state["key"]) == ("failed", "channels[0].imap.host")


@pytest.fixture
def refusing_tg(tg: TelegramStandIn) -> Iterator[TelegramStandIn]:
    tg.invalid_token = True
    yield tg


async def test_every_channel_failing_at_start_exits_78_with_each_reason(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    refusing_tg: TelegramStandIn,
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    (tmp_path / "imap-password").write_text(WRONG + "\n")
    (tmp_path / "tg-token").write_text(TELEGRAM_TOKEN + "\n")
    api = refusing_tg.base_url.removesuffix("/bot")
    config.write_text(
        config.read_text()
        + f"""\
  - name: shop-bot
    type: telegram
    token_file: {tmp_path / "tg-token"}
    api_url: {api}
"""
    )
    testdb.for_child(config)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "responder.cli", "run", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == EX_CONFIG, result.stderr
    assert (
        "no channel can work, so responder stops; fix these and start it again:\n"
        f"  support-mail: {REFUSED}\n"
        "  shop-bot: the token was refused by 127.0.0.1 (channels[1].token_file): check "
        "token_file: copy the token BotFather gave (or /revoke for a new one)"
    ) in result.stderr
    assert "no channel can work; stopping" in result.stderr  # the log says it too
    shown = await asyncio.to_thread(status, config)
    assert "  state:         stopped at " in shown
    assert f"  last problem:  the password for {SUPPORT} was refused by 127.0.0.1" in shown


def test_status_says_when_the_state_is_only_as_last_seen(tmp_path: Path) -> None:
    """A daemon killed (or stuck) stops touching its rows: `status` does not pretend."""
    config = tmp_path / "config.yaml"
    state = tmp_path / "state"
    state.mkdir()
    (tmp_path / "pw").write_text("x\n")
    config.write_text(
        f"""\
state_dir: {state}
channels:
  - name: support-mail
    type: email
    address: {SUPPORT}
    imap: {{host: 127.0.0.1, port: 1, security: none, username: {SUPPORT}, password_file: pw}}
    smtp: {{host: 127.0.0.1, port: 1, security: none}}
"""
    )
    asyncio.run(_open_once(config))
    seen = datetime.now(UTC) - timedelta(hours=2)
    stamp = seen.strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores UTC in SQLite
    testdb.execute(
        state / "responder.db",
        "INSERT INTO channel_health (channel, state, since, updated_at) "
        f"VALUES ('support-mail', 'connected', '{stamp}', '{stamp}')",
    )
    shown = status(config)
    assert "  state:         connected as last seen at " in shown
    assert "ago): the daemon does not seem to be running" in shown
    data = json.loads(status(config, "--json"))
    assert data["channels"]["support-mail"]["health"]["current"] is False


async def _open_once(config: Path) -> None:
    store = Store(load_config(config).database_url_resolved)
    await store.open()
    await store.close()
