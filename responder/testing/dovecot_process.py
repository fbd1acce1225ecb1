"""A development Dovecot's processes: its binary, its socket directory, stopping its group."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from responder.testing.mailbox import DovecotError

STOP_TIMEOUT = 5.0

# Dovecot's longest socket name below base_dir, plus slack; sun_path holds 107 bytes.
_LONGEST_SOCKET = len("/replication-notify-fifo") + 8
_SUN_PATH_MAX = 107


def find_dovecot() -> str:
    """Locate the dovecot binary; /usr/sbin is often missing from a normal user's PATH."""
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot"):
        if os.access(candidate, os.X_OK):
            return candidate
    raise DovecotError("dovecot binary not found; install it with: apt-get install dovecot-imapd")


def make_run_dir(base_dir: Path) -> tuple[Path, bool]:
    """Dovecot's base_dir for its sockets, and whether it is a temporary directory."""
    run_dir = base_dir / "run"
    if len(str(run_dir)) + _LONGEST_SOCKET > _SUN_PATH_MAX:
        # Deep pytest tmp paths would overflow unix socket names.
        return Path(tempfile.mkdtemp(prefix="dovecot-")), True
    run_dir.mkdir(exist_ok=True)
    return run_dir, False


def shut_down(proc: subprocess.Popen[bytes]) -> None:
    """Stop the master `proc` and its children in order, waiting up to STOP_TIMEOUT."""
    # Like `systemctl stop dovecot`, signal every process at once: on its own the
    # master leaves connected imap processes running and then lingers for seconds.
    # The log process is spared so it can write the goodbyes before it is killed.
    for pid, comm in _group_members(proc.pid).items():
        if comm != b"log":
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and any(
        pid != proc.pid and comm != b"log" for pid, comm in _group_members(proc.pid).items()
    ):
        time.sleep(0.005)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(0.05)


def _group_members(pgid: int) -> dict[int, bytes]:
    """Live (non-zombie) processes of process group `pgid`, pid -> command name."""
    members: dict[int, bytes] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return {pgid: b"dovecot"}  # no procfs: at least the master gets its SIGTERM
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..."; comm may itself contain spaces or parens.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            members[int(entry)] = stat[stat.find(b"(") + 1 : stat.rfind(b")")]
    return members
