"""The command line as an admin meets it: exit codes, messages, clean stops."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from harness import SUPPORT, DaemonProcess, db_rows, has_cursor, wait_until, write_config
from mailfactory import make_mail

from responder import __version__
from responder.cli import EX_CONFIG, main
from responder.testing import Dovecot, RecordingSMTPServer

MINIMAL = """\
state_dir: {state}
channels:
  - name: support-mail
    type: email
    address: support@toko-contoh.id
    imap: {{host: 127.0.0.1, port: 1143, security: none, username: support@toko-contoh.id,
           password_env: RESPONDER_TEST_IMAP}}
    smtp: {{host: 127.0.0.1, port: 1025, security: none}}
"""


@pytest.fixture
def minimal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RESPONDER_TEST_IMAP", "s3cret-value")
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL.format(state=tmp_path / "state"))
    return path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"responder {__version__}"


def test_check_accepts_a_good_config(minimal: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-c", str(minimal)]) == 0
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "port: 1143",
            "port: 993x",
            'channels[0].imap.port: expected an integer 1-65535, got "993x"',
        ),
        (
            "security: none, username",
            "security: starttls, username",
            "channels[0].imap.security: aioimaplib cannot do STARTTLS",
        ),
        ("    type: email\n", "    type: email\n    langauge: id\n", 'unknown key "langauge"'),
        ("password_env: RESPONDER_TEST_IMAP", "password: hunter2", "never"),
        ("channels:", "timezone: Asia/Jakrta\nchannels:", "unknown timezone"),
    ],
)
def test_check_names_file_line_and_key_and_exits_78(
    minimal: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
) -> None:
    minimal.write_text(minimal.read_text().replace(old, new))
    assert main(["check", "-c", str(minimal)]) == EX_CONFIG
    err = capsys.readouterr().err
    assert f"{minimal}:" in err and expected in err
    assert "hunter2" not in err and "s3cret-value" not in err


@pytest.mark.parametrize(
    "extra, expected",
    [
        (
            "rules:\n  - name: jam\n    when: {body_matches: '(jam'}\n  - name: default\n",
            ":4:26: rules[0].when.body_matches[0]: invalid regular expression",
        ),
        (
            "business_hours:\n  weekly: {mon: ['08:00-17:00']}\n  holidays: {country: XX}\n",
            ':4:23: business_hours.holidays.country: unknown country "XX"',
        ),
        (
            "business_hours:\n  weekly: {mon: ['8-17']}\n",
            ":3:18: business_hours.weekly.mon[0]: expected a period like 08:00-12:00",
        ),
    ],
)
def test_check_names_file_and_line_for_rules_and_calendars(
    minimal: Path, capsys: pytest.CaptureFixture[str], extra: str, expected: str
) -> None:
    minimal.write_text(minimal.read_text().replace("channels:", extra + "channels:"))
    assert main(["check", "-c", str(minimal)]) == EX_CONFIG
    assert f"{minimal}{expected}" in capsys.readouterr().err


def test_check_finds_a_template_typo_before_the_daemon_starts(
    minimal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = minimal.parent / "templates" / "id"
    folder.mkdir(parents=True)
    (folder / "acknowledgement.txt.j2").write_text("Halo {{ customer.nama }}\n")
    minimal.write_text(minimal.read_text() + "templates_dir: templates\n")
    assert main(["check", "-c", str(minimal)]) == EX_CONFIG
    assert "acknowledgement.txt.j2:1: " in capsys.readouterr().err


def test_missing_config_file_exits_78(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-c", str(tmp_path / "nope.yaml")]) == EX_CONFIG
    assert "nope.yaml" in capsys.readouterr().err


def test_run_with_a_bad_config_exits_78_as_a_process(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("state_dir: x\nchannels: []\n")
    result = subprocess.run(
        [sys.executable, "-m", "responder.cli", "run", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == EX_CONFIG
    assert f"{path}:2:11: channels: expected at least 1 entry" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_the_daemon_cleanly_after_finishing_its_work(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, sig: signal.Signals
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.start()
    try:
        await wait_until(lambda: has_cursor(config), timeout=15)
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))
        await smtp_server.wait_for_async(1, timeout=10)
    finally:
        code = daemon.terminate(sig)
    log = (tmp_path / "daemon.log").read_text()
    assert code == 0, log
    assert "responder stopped" in log
    assert "secret-imap" not in log
    assert [r["state"] for r in await db_rows(config, "replies")] == ["sent"]
