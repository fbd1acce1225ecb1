"""Logs fit for journald: one line per event, syslog priorities, JSON, and no secrets."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import testdb
from harness import SUPPORT_PASSWORD, write_config
from test_notify import FakeSystemd

from responder.app.logs import journal_stream, redact_config, setup_logging
from responder.common.redact import MASK, config_secrets
from responder.config import load_config
from responder.testing import Dovecot, RecordingSMTPServer

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """setup_logging changes the root logger; give it back as pytest had it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def run_daemon(
    config: Path, log_path: Path, systemd: FakeSystemd, env: dict[str, str], *args: str
) -> subprocess.Popen[bytes]:
    """`responder run` with stderr (and stdout) in log_path, notifying `systemd`."""
    testdb.for_child(config)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "responder.cli", "run", "-c", str(config), *args],
            stdout=log,
            stderr=log,
            env={**env, "NOTIFY_SOCKET": systemd.address, "PYTHONUNBUFFERED": "1"},
        )


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_under_journald_each_line_carries_its_priority_and_no_timestamp(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    log_path = tmp_path / "journal.log"
    log_path.touch()
    st = os.stat(log_path)
    env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    with FakeSystemd(str(tmp_path / "notify.sock")) as systemd:
        proc = run_daemon(config, log_path, systemd, env)
        try:
            systemd.expect("READY")
            original = config.read_text()
            # A changed channel setting: the channel restarts with it.
            config.write_text(original.replace("timeout: 5s}", "timeout: 6s}", 1))
            proc.send_signal(signal.SIGHUP)
            systemd.expect("READY")
            # A broken config: refused with an error, several lines of explanation.
            config.write_text(original.replace("channels:", "channels: []\nx:", 1))
            proc.send_signal(signal.SIGHUP)
            systemd.expect("READY")
        finally:
            code = stop(proc)
    lines = log_path.read_text().splitlines()
    assert code == 0, lines
    assert all(re.match(r"<[2-7]>[\w.]+: ", line) for line in lines), lines
    assert not [line for line in lines if TIMESTAMP.search(line)]
    assert "<6>responder.app.daemon: responder started with 1 channel(s)" in lines
    assert (
        "<6>responder.app.daemon: channel support-mail: restarting it with the settings just loaded"
        in lines
    )
    [refused] = [line for line in lines if "reload refused" in line]
    # One line per event: the config problems follow on the same line.
    assert refused.startswith("<3>responder: reload refused; keeping the running configuration:")
    assert f"\\n{config}:" in refused
    assert "<6>responder.app.daemon: responder stopped" in lines


def test_json_lines_parse_with_their_fields(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server)
    log_path = tmp_path / "daemon.log"
    with FakeSystemd(str(tmp_path / "notify.sock")) as systemd:
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        proc = run_daemon(config, log_path, systemd, env, "--log-format", "json")
        try:
            systemd.expect("READY")
        finally:
            code = stop(proc)
    events = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert code == 0, events
    assert events and all(set(e) == {"ts", "level", "logger", "message"} for e in events), events
    assert all(ISO_UTC.match(e["ts"]) for e in events)
    started = {
        "level": "info",
        "logger": "responder.app.daemon",
        "message": "responder started with 1 channel(s)",
    }
    assert started in [{k: e[k] for k in ("level", "logger", "message")} for e in events]
    assert not [e for e in events if SUPPORT_PASSWORD in json.dumps(e)]


def test_json_carries_the_traceback_in_exc(tmp_path: Path, root_logging: None) -> None:
    out = tmp_path / "out.log"
    with out.open("w") as stream:
        setup_logging("info", "json", stream=stream)
        try:
            raise ValueError("bad\nthing")
        except ValueError:
            logging.getLogger("responder.x").exception("it broke")
        logging.getLogger("responder.x").debug("not at info")
    [event] = [json.loads(line) for line in out.read_text().splitlines()]
    assert event["level"] == "error" and event["message"] == "it broke"
    assert event["exc"].startswith("Traceback") and "ValueError: bad\nthing" in event["exc"]


def test_the_prefix_needs_stderr_to_be_the_stream_systemd_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root_logging: None
) -> None:
    ours, other = tmp_path / "ours.log", tmp_path / "other.log"
    other.touch()
    st = os.stat(other)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
    with ours.open("w") as stream:
        assert not journal_stream(stream)  # stderr redirected away from the journal
        setup_logging("debug", stream=stream)
        logging.getLogger("responder.x").warning("careful\nnow")
    [line] = ours.read_text().splitlines()
    assert TIMESTAMP.match(line) and line.endswith(" WARNING responder.x: careful\\nnow")

    with other.open("w") as stream:
        assert journal_stream(stream)
        setup_logging("debug", stream=stream)
        for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
            logging.getLogger("responder.x").log(level, "%s", logging.getLevelName(level))
    assert other.read_text().splitlines() == [
        "<7>responder.x: DEBUG",
        "<6>responder.x: INFO",
        "<4>responder.x: WARNING",
        "<3>responder.x: ERROR",
    ]
    monkeypatch.setenv("JOURNAL_STREAM", "garbage")
    with other.open("w") as stream:
        assert not journal_stream(stream)


def fake_servers() -> tuple[Any, Any]:
    return SimpleNamespace(port=1143), SimpleNamespace(port=1025)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_secret_from_the_config_never_reaches_the_log(
    tmp_path: Path, root_logging: None, fmt: Any
) -> None:
    config = load_config(write_config(tmp_path, *fake_servers()))
    secret = (tmp_path / "imap-password").read_text().strip()
    assert config_secrets(config) == [secret]
    out = tmp_path / "out.log"
    with out.open("w") as stream:
        setup_logging("info", fmt, stream=stream)
        redact_config(config)
        log = logging.getLogger("x")
        log.info("pw=%s", secret)
        log.info("quoted %r", secret)
        try:
            raise RuntimeError(f"login {secret} refused")
        except RuntimeError:
            log.exception("failed with %s", secret)
        log.info("send: b'AUTH PLAIN AHN1cHBvcnQAc2VjcmV0LWltYXA=\\r\\n'")
        log.info("GET / Authorization: Basic c3VwcG9ydDpzZWNyZXQtaW1hcA==")
    text = out.read_text()
    assert secret not in text and "AHN1cHBvcnQAc2VjcmV0LWltYXA=" not in text
    assert "c3VwcG9ydDpzZWNyZXQtaW1hcA==" not in text
    for shown in (f"pw={MASK}", f"quoted '{MASK}'", f"login {MASK} refused", f"with {MASK}"):
        assert shown in text
    assert f"AUTH PLAIN {MASK}" in text and f"Authorization: Basic {MASK}" in text
