"""`responder status` with two instances on one database (issue 19): each channel shows the
state of the instance that runs it, and one instance stopping does not make it "stopped"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from responder.cli import main
from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn
from tests.harness import DaemonProcess, wait_until
from tests.test_leases_e2e import config_for, holders, present


def _state_lines(out: str) -> dict[str, str]:
    """Each channel's `state:` line in `status`."""
    lines: dict[str, str] = {}
    channel = ""
    for line in out.splitlines():
        if line and not line.startswith(" "):
            channel = line.strip()
        elif line.startswith("  state:"):
            lines[channel] = line.strip()
    return lines


async def _status(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["status", "-c", str(config)]) == 0
    return _state_lines(capsys.readouterr().out)


async def test_status_shows_the_holder_and_a_standby_stopping_leaves_the_channels_running(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = config_for(tmp_path, dovecot, smtp_server, tg)
    daemons = [DaemonProcess(config, tmp_path / f"daemon{n}.log") for n in range(2)]
    try:
        for daemon in daemons:
            daemon.start()
        await wait_until(lambda: present(config, 2), timeout=30)
        holder = (await holders(config))["imap:support-mail"]
        assert holder is not None

        async def both_shown() -> bool:
            shown = await _status(config, capsys)
            return all(
                "connected since" in shown.get(name, "") and "of 2 running" in shown[name]
                for name in ("support-mail", "shop-bot")
            )

        await wait_until(both_shown, timeout=15, interval=0.5)
        shown = await _status(config, capsys)
        assert f"(instance {holder}, of 2 running)" in shown["support-mail"]

        pid = int(holder.split(":")[-2])
        (standby,) = [d for d in daemons if d.proc is not None and d.proc.pid != pid]
        assert await asyncio.to_thread(standby.shut_down)
        shown = await _status(config, capsys)
        for name in ("support-mail", "shop-bot"):
            assert shown[name].startswith("state:         connected since"), shown
            assert "running)" not in shown[name]
    finally:
        for daemon in daemons:
            if daemon.proc is not None and daemon.proc.poll() is None:
                await asyncio.to_thread(daemon.shut_down)
