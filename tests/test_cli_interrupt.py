"""Ctrl-C on a command that is not the daemon: it stops at once, says nothing false, exits 130."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def test_ctrl_c_during_check_connect_blames_no_server(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("secret\n")
    with socket.socket() as silent:  # takes the connection, never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        config = tmp_path / "config.yaml"
        config.write_text(
            f"state_dir: {tmp_path}/state\n"
            "channels:\n"
            "  - {name: support, type: email, address: cs@toko.id,\n"
            f"     imap: {{host: 127.0.0.1, port: {port}, security: none, username: cs@toko.id,\n"
            "            password_file: pw, timeout: 30s},\n"
            f"     smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout: 30s}}}}\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "responder.cli", "check", "--connect", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2.0)  # both checks are waiting for a greeting now
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, (out, err)
    assert "FAIL" not in out and "did not answer" not in out, out
    assert "Traceback" not in err, err
