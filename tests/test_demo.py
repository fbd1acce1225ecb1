"""The README's first command: the demo answers the customers and stays silent to machines."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from responder.testing.demo import run_demo

REPO = Path(__file__).resolve().parents[1]
WHEELHOUSE = REPO / ".cache" / "wheelhouse"  # built by scripts/dev test, see there
RESPONDER = Path(sys.executable).parent / "responder"


async def test_demo_shows_two_acknowledgements_and_five_silences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_demo(tmp_path) == 0
    out = capsys.readouterr().out
    sent, _, silent = out.partition("=== what responder decided not to answer ===")
    assert sent.count("MAIL FROM:<>") == 2
    assert "RCPT TO:budi@example.com" in sent and "RCPT TO:sarah@example.net" in sent
    assert "Terima kasih telah menghubungi Toko Contoh" in sent
    for rule in ("system-sender", "list-headers", "auto-submitted", "noreply-sender", "follow-up"):
        assert rule in silent


@pytest.mark.sqlite_only("the demo keeps its own SQLite file in its folder (no database_url)")
async def test_dir_keeps_the_state_the_output_names_and_a_second_run_shows_only_its_own_mail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = tmp_path / "my-demo"
    assert await run_demo(demo) == 0
    assert await run_demo(demo) == 0
    second = capsys.readouterr().out.split("local Dovecot IMAP")[2]
    match = re.search(
        r"The demo's files are kept in (\S+)\. See what it recorded with:\n  (.+)", second
    )
    assert match is not None, second
    kept = Path(match.group(1))
    assert kept == demo.resolve()
    assert (kept / "config.yaml").is_file() and (kept / "state" / "responder.db").is_file()
    # The command the output gives reads that state after the demo has ended.
    status = await asyncio.to_thread(
        subprocess.run, match.group(2), shell=True, capture_output=True, text=True, timeout=60
    )
    assert status.returncode == 0, status.stderr
    assert str(kept / "state" / "responder.db") in status.stdout
    # The first run's mail stays in the kept mailbox and database, but is not shown again.
    sent, _, silent = second.partition("=== what responder decided not to answer ===")
    assert sent.count("MAIL FROM:<>") == 2
    assert silent.count("system-sender") == 1 and silent.count("follow-up") == 1


def test_serve_prints_a_command_that_sends_a_mail_and_its_answer_shows(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [str(RESPONDER), "demo", "--serve", "--dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert demo.stdout is not None

    def read() -> None:
        for line in demo.stdout or ():
            lines.put(line)

    reader = threading.Thread(target=read)
    reader.start()
    seen: list[str] = []

    def read_until(pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.1))
            except queue.Empty:
                continue
            if (found := re.search(pattern, seen[-1])) is not None:
                return found
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)}")

    try:
        port = int(read_until(r"local Dovecot IMAP on 127\.0\.0\.1:(\d+)").group(1))
        read_until(r"paste this into another terminal:")
        command = read_until(r"^  (\S.* demo send .*)$").group(1)
        sent = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0, sent.stderr
        read_until(r"=== responder answered a new mail ===")
        read_until(r"RCPT TO:dewi@example\.com")
        subject = read_until(r"Subject: (.*)").group(1)
        assert subject.startswith("Re: Apakah kemeja batik ukuran XL masih ada? [#")
        # `kill` stops it like Ctrl-C: the state stays, and no Dovecot is left running.
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        reader.join()
        demo.stdout.close()
    read_until(rf"The demo's files are kept in {re.escape(str(tmp_path / 'demo'))}\.")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_plain_pip_install_into_a_fresh_venv_runs_the_demo(tmp_path: Path) -> None:
    built = WHEELHOUSE / ".built"
    if not built.is_file() or built.stat().st_mtime < (REPO / "pyproject.toml").stat().st_mtime:
        pytest.fail(
            f"{WHEELHOUSE} is missing or older than pyproject.toml: run `scripts/dev test`, "
            "which builds it, so this test can install without the network"
        )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env |= {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELHOUSE),
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # Loopback only: anything that still tried the network would fail at once.
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "."],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    # The dev extra stays out, so the demo must run without it.
    dev_only = "import importlib.util as u, sys; sys.exit(any(map(u.find_spec, sys.argv[1:])))"
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-c", dev_only, "pytest", "psutil", "mypy"]).returncode == 0
    # The web chat's widget files are in the wheel (read when the module is imported).
    widget = "import responder.channels.webchat.assets as a; print(a.ASSET_VERSION)"
    assert subprocess.run([python, "-c", widget], capture_output=True).returncode == 0
    demo = subprocess.run(
        [str(venv / "bin" / "responder"), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stderr
    assert demo.stdout.count("MAIL FROM:<>") == 2
    removed = re.search(r"The demo's files in (\S+) were removed\. To keep them", demo.stdout)
    assert removed is not None, demo.stdout
    assert not Path(removed.group(1)).exists()
    assert f"{venv / 'bin' / 'responder'} demo --dir demo-state" in demo.stdout
