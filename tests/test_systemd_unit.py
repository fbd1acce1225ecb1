"""systemd/responder.service: its hardening score, and the real daemon against its limits.

Checked here:
  - `systemd-analyze security --offline=true` rates the unit at most MAX_EXPOSURE, and
    `systemd-analyze verify` (in a scratch root holding stand-ins for the two commands the
    unit runs) reports nothing, so no directive is misspelt or silently ignored.
  - The real daemon (`responder run`, the unit's ExecStart, with Environment= applied) under
    strace, against real Dovecot and SMTP servers, the Telegram stand-in, its HTTP endpoint
    and a SIGHUP reload, answering one email and one Telegram message, then stopped with
    SIGTERM. From the trace:
      * every system call it made is in the unit's SystemCallFilter (the groups expanded by
        `systemd-analyze syscall-filter`: @system-service minus @privileged and @resources);
      * every file it opened for writing (or created, renamed, removed...) is under its
        state dir or its temp dir (ProtectSystem=strict leaves nothing else writable);
      * every socket is of a family RestrictAddressFamilies= allows;
      * no mapping is made writable and executable, nor any made executable afterwards
        (MemoryDenyWriteExecute=yes), so CPython, greenlet, sqlite3, pydantic-core and the
        compiled aiohttp/yarl modules really do run without W+X memory;
      * it reads no /proc file outside its own pid folders (ProcSubset=pid) and nothing
        under /home or /root (ProtectHome=yes);
      * it sends READY=1 to $NOTIFY_SOCKET (Type=notify), here a socket of the test's.
    The daemon runs as the test's user. As root, SQLite also calls fchown() on its -wal and
    -shm files, which it never does as another user (see ROOT_ONLY): that one is excused.

Not checked here, because PID 1 in the test environment is not systemd and the unit cannot
be started: DynamicUser= (a fresh uid, files owned by it), StateDirectory= creation and
ownership, LoadCredential= and the /run/credentials/responder.service/ paths, the mount,
user, pid and ipc namespaces (ProtectSystem=, PrivateTmp=, PrivateDevices=, ProtectProc=,
PrivateUsers=...), Type=notify and the watchdog as systemd sees them, and the real seccomp
filter itself: strace shows the calls the daemon makes; the kernel never enforces the list
here. A system call reached only by a code path this run does not take (a TLS handshake, a
DNS lookup of a real host, a failing disk) is not seen either.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import testdb
from harness import (
    SUPPORT,
    TELEGRAM_TOKEN,
    TG_CUSTOMER,
    db_rows,
    has_cursor,
    wait_sent,
    wait_until,
    write_config,
)
from mailfactory import make_mail

from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn
from responder.testing._net import free_port

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "responder.service"
UNIT_NAME = "responder.service"
MAX_EXPOSURE = 1.5
# The Python installation the venv was made from. Here it may live in a home directory
# (pyenv under /root); the unit's is /opt/responder/venv on the system's Python, outside
# ProtectHome=, so reading it is not held against the daemon.
INTERPRETER = Path(os.path.realpath(sys.base_prefix))


def systemd_analyze(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("systemd-analyze")
    assert exe, "systemd-analyze is missing: scripts/dev test installs the Debian package systemd"
    return subprocess.run(
        [exe, "--no-pager", *args], capture_output=True, text=True, timeout=60, check=check
    )


# -- the unit file ----------------------------------------------------------------------------


def unit_settings(section: str = "Service") -> dict[str, list[str]]:
    """Each key of a section with its values in order (a key may be given many times)."""
    settings: dict[str, list[str]] = {}
    current = None
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        assert not line.endswith("\\"), f"no continuation lines, please: {raw!r}"
        key, _, value = line.partition("=")
        if current == section:
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def the(key: str) -> str:
    """The value of a key given once (the last one, as systemd takes it for most keys)."""
    values = unit_settings().get(key)
    assert values, f"{key}= is not set in {UNIT}"
    return values[-1]


def test_the_unit_runs_the_daemon_as_the_issue_asks() -> None:
    service = unit_settings()
    assert the("Type") == "notify" and the("NotifyAccess") == "main"
    assert the("WatchdogSec") == "30s"
    assert service["ExecStart"] == [
        "/opt/responder/venv/bin/responder run -c /etc/responder/config.yaml"
    ]
    assert the("ExecReload") == "/bin/kill -HUP $MAINPID"
    assert the("Restart") == "on-failure" and the("RestartSec") == "5s"
    assert the("RestartPreventExitStatus") == "78"  # responder.cli.EX_CONFIG
    assert the("DynamicUser") == "yes" and the("StateDirectory") == "responder"
    assert sorted(service["LoadCredential"]) == [
        f"{name}:/etc/responder/secrets/{name}" for name in ("imap", "smtp", "telegram")
    ]
    assert "PYTHONDONTWRITEBYTECODE=1" in " ".join(service["Environment"]).split()
    assert unit_settings("Install") == {"WantedBy": ["multi-user.target"]}


def test_the_exposure_score_is_at_most_1_5() -> None:
    result = systemd_analyze("security", "--offline=true", str(UNIT))
    found = re.search(
        rf"Overall exposure level for {re.escape(UNIT_NAME)}: (\d+\.\d+)", result.stdout
    )
    assert found, result.stdout + result.stderr
    score = float(found.group(1))
    print(f"exposure {score}")
    # A directive systemd does not understand is ignored with a warning, and scores nothing.
    assert "ignoring" not in result.stderr, result.stderr
    assert score <= MAX_EXPOSURE, result.stdout


def test_systemd_analyze_verify_finds_nothing_wrong(tmp_path: Path) -> None:
    # verify checks that ExecStart's and ExecReload's programs exist and loads the units the
    # service depends on (sysinit.target, network-online.target, ...). Neither the installed
    # daemon at /opt/responder nor an enabled systemd is here, so it runs in a scratch root
    # (--root) holding the system's unit files, the unit, and executable stand-ins.
    root = tmp_path / "root"
    system_units = next(
        p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()
    )
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    unit = root / "etc/systemd/system" / UNIT_NAME
    shutil.copyfile(UNIT, unit)
    for command in ("ExecStart", "ExecReload"):
        program = root / the(command).split()[0].lstrip("/")
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    result = systemd_analyze("verify", f"--root={root}", "--man=no", str(unit), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


# -- the syscall filter -----------------------------------------------------------------------


def syscall_groups() -> dict[str, set[str]]:
    """Every group `systemd-analyze syscall-filter` knows, with its direct members."""
    groups: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in systemd_analyze("syscall-filter").stdout.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), set())
        elif line.startswith(" ") and current is not None:
            item = line.strip()
            if item and not item.startswith("#"):
                current.add(item)
        else:
            current = None  # "# Unlisted system calls..." and blank lines
    assert {"@system-service", "@privileged", "@resources", "@default"} <= groups.keys()
    return groups


def expand(name: str, groups: dict[str, set[str]]) -> set[str]:
    if not name.startswith("@"):
        return {name}
    return set().union(*(expand(member, groups) for member in groups[name]))


def allowed_syscalls() -> set[str]:
    """The calls the unit's SystemCallFilter= lines let through, evaluated as systemd does:
    the first line without "~" starts an allow list (with @default always in it), and each
    "~" line takes its calls out of it."""
    groups = syscall_groups()
    allowed: set[str] | None = None
    for value in unit_settings()["SystemCallFilter"]:
        deny = value.startswith("~")
        names = set().union(*(expand(n, groups) for n in value.removeprefix("~").split()))
        if allowed is None:
            assert not deny, "the first SystemCallFilter= should be an allow list"
            allowed = names | expand("@default", groups)
        elif deny:
            allowed -= names
        else:
            allowed |= names
    assert allowed, "the unit has no SystemCallFilter="
    return allowed


# -- the daemon under strace ------------------------------------------------------------------

LINE = re.compile(r"^(?P<pid>\d+) +(?:<\.\.\. (?P<resumed>\w+) resumed>|(?P<name>\w+)\()")
CALL = re.compile(
    r"^\d+ +(?P<name>\w+)\((?P<args>.*?)"
    r"(?: <unfinished \.\.\.>|\) += (?P<ret>-?\d+|\?|0x[0-9a-f]+))"
)
WRITE_FLAGS = re.compile(r"\bO_(WRONLY|RDWR|CREAT|TRUNC|APPEND)\b")
# Calls that change the file system at a path (their first path argument, or both).
MUTATING = {
    "mkdir": (0,),
    "mkdirat": (1,),
    "rmdir": (0,),
    "unlink": (0,),
    "unlinkat": (1,),
    "rename": (0, 1),
    "renameat": (1, 3),
    "renameat2": (1, 3),
    "link": (1,),
    "linkat": (3,),
    "symlink": (1,),
    "symlinkat": (2,),
    "truncate": (0,),
    "chmod": (0,),
    "fchmodat": (1,),
    "chown": (0,),
    "lchown": (0,),
    "fchownat": (1,),
    "utimensat": (1,),
    "mknod": (0,),
    "mknodat": (1,),
}
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class Trace:
    syscalls: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)  # resolved paths written or changed
    families: set[str] = field(default_factory=set)
    wx: list[str] = field(default_factory=list)  # W+X mappings, mprotect to PROT_EXEC
    reads_hidden: set[str] = field(default_factory=set)  # opened despite ProcSubset/ProtectHome
    fchowns: list[str] = field(default_factory=list)  # their fd arguments, e.g. 7</x/y>


def _args(text: str) -> list[str]:
    """Split strace's argument text at top-level commas (strings and braces kept whole)."""
    out, depth, current, quoted, escaped = [], 0, "", False, False
    for ch in text:
        if quoted:
            current += ch
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip():
        out.append(current.strip())
    return out


def _path(arg: str, dirfd: str | None, cwd: Path) -> str | None:
    found = STRING.fullmatch(arg.split(" ", 1)[0]) or STRING.match(arg)
    if not found:
        return None
    raw = found.group(1).encode().decode("unicode_escape")
    if raw.startswith("/"):
        return os.path.normpath(raw)
    base = cwd
    if dirfd and "<" in dirfd:  # strace -y shows a dirfd's path: 3</var/lib/responder>
        base = Path(dirfd.split("<", 1)[1].rstrip(">"))
    return os.path.normpath(base / raw)


HIDDEN_PROC = re.compile(r"^/proc/(?!self(/|$)|thread-self(/|$)|\d+(/|$))")


def parse_trace(text: str, cwd: Path) -> Trace:
    trace = Trace()
    for line in text.splitlines():
        head = LINE.match(line)
        if not head:
            continue  # "--- SIGTERM ...", "+++ exited ..."
        trace.syscalls.add(head.group("resumed") or head.group("name"))
        call = CALL.match(line)
        if not call:
            continue
        name, args, ret = call.group("name"), _args(call.group("args")), call.group("ret")
        failed = ret is not None and ret.startswith("-")
        if name in ("open", "openat", "openat2", "creat"):
            at = 1 if name.startswith("openat") else 0
            path = _path(args[at], args[0] if at else None, cwd)
            if path is None:
                continue
            flags = args[at + 1] if len(args) > at + 1 else ""
            if name == "creat" or WRITE_FLAGS.search(flags):
                trace.writes.add(path)
            hidden = HIDDEN_PROC.match(path) or path.startswith(("/home/", "/root/"))
            if hidden and not failed:
                trace.reads_hidden.add(path)
        elif name in MUTATING:
            for index in MUTATING[name]:
                dirfd = args[index - 1] if name.endswith("at") or name == "renameat2" else None
                path = _path(args[index], dirfd, cwd)
                if path is not None:
                    trace.writes.add(path)
        elif name == "fchown":
            trace.fchowns.append(args[0])
        elif name in ("socket", "socketpair"):
            trace.families.add(args[0])
        elif name in ("mmap", "mprotect", "pkey_mprotect"):
            prot = args[2]
            if "PROT_EXEC" in prot and (name != "mmap" or "PROT_WRITE" in prot):
                trace.wx.append(line)
        elif name == "shmat" and "SHM_EXEC" in line:
            trace.wx.append(line)
    return trace


def _under(path: str, *roots: Path) -> bool:
    return any(path == str(root) or path.startswith(f"{root}/") for root in roots)


async def _child_of(pid: int) -> int:
    children: list[psutil.Process] = []

    async def started() -> bool:
        children[:] = psutil.Process(pid).children()
        return bool(children)

    await wait_until(started, timeout=10)
    return children[0].pid


async def _stop(proc: asyncio.subprocess.Process, pid: int) -> int | None:
    """SIGTERM to the daemon, as systemd stops it; strace ends with its exit code."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    try:
        return await asyncio.wait_for(proc.wait(), 60)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        await proc.wait()
        return None


def _datagrams(sock: socket.socket) -> list[str]:
    out = []
    with contextlib.suppress(BlockingIOError):
        while True:
            out.append(sock.recv(4096).decode())
    return out


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status)


ROOT_ONLY = """\
SQLite hands a new -wal/-shm/-journal file to the database file's owner with fchown(), but
only when it runs as root (os_unix.c, robustFchown: `if( osGeteuid()==0 )`). Under the unit
it never runs as root (DynamicUser=yes), so the call is not made there; this test runs the
daemon as root only because the interpreter here lives under /root (mode 700), which no
other user can reach."""


SAMPLE = """\
100 execve("/opt/responder/venv/bin/responder", ["responder"], 0x7ffd /* 3 vars */) = 0
100 openat(AT_FDCWD</srv>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>
100 openat(AT_FDCWD</srv>, "/etc/evil", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</etc/evil>
100 openat(AT_FDCWD</srv>, "rel/x.db", O_RDWR|O_CLOEXEC <unfinished ...>
101 <... openat resumed>) = 4</srv/rel/x.db>
101 openat(5</var/lib/responder>, "j", O_RDWR|O_CREAT, 0600) = 6</var/lib/responder/j>
101 renameat2(AT_FDCWD</srv>, "/var/lib/responder/a", AT_FDCWD</srv>, "/opt/b", 0) = 0
101 mkdir("/srv/new", 0777) = -1 EEXIST (File exists)
101 mmap(NULL, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f
101 mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE, 3</x.so>, 0) = 0x7f
101 mprotect(0x7f, 4096, PROT_READ|PROT_EXEC) = 0
101 mprotect(0x7f, 4096, PROT_READ) = 0
101 socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 7<socket:[1]>
101 openat(AT_FDCWD</srv>, "/proc/meminfo", O_RDONLY) = 8</proc/meminfo>
101 openat(AT_FDCWD</srv>, "/proc/self/status", O_RDONLY) = 8</proc/100/status>
101 openat(AT_FDCWD</srv>, "/proc/cpuinfo", O_RDONLY) = -1 ENOENT (No such file or directory)
101 fchown(9</var/lib/responder/x.db-wal>, 0, 0) = 0
101 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=1, si_uid=0} ---
101 +++ exited with 0 +++
"""


def test_the_trace_reader_sees_what_the_unit_forbids() -> None:
    # The daemon test passes when it finds nothing; this is what it would find.
    trace = parse_trace(SAMPLE, Path("/srv"))
    assert trace.syscalls == {
        "execve", "openat", "renameat2", "mkdir", "mmap", "mprotect", "socket", "fchown"
    }  # fmt: skip
    assert trace.writes == {
        "/etc/evil", "/srv/rel/x.db", "/var/lib/responder/j", "/var/lib/responder/a",
        "/opt/b", "/srv/new",
    }  # fmt: skip
    assert len(trace.wx) == 2 and "PROT_WRITE|PROT_EXEC" in trace.wx[0]
    assert "mprotect" in trace.wx[1]
    assert trace.families == {"AF_NETLINK"}
    assert trace.reads_hidden == {"/proc/meminfo"}
    assert trace.fchowns == ["9</var/lib/responder/x.db-wal>"]


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[Path, socket.socket]]:
    """A stand-in for systemd's $NOTIFY_SOCKET, so the sd_notify code path is traced too."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    try:
        yield path, sock
    finally:
        sock.close()


async def test_the_daemon_stays_inside_the_units_limits(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    tg: TelegramStandIn,
    notify_socket: tuple[Path, socket.socket],
) -> None:
    strace = shutil.which("strace")
    assert strace, "strace is missing: scripts/dev test installs the Debian package strace"
    probe = await asyncio.create_subprocess_exec(
        strace, "-f", "-qq", "-o", os.devnull, "--", "/bin/true", stderr=subprocess.PIPE
    )
    _, why = await probe.communicate()
    assert probe.returncode == 0, f"strace cannot trace here (ptrace not allowed?): {why!r}"
    http_port = free_port()
    config = write_config(
        tmp_path, dovecot, smtp_server, extra=f"http: {{host: 127.0.0.1, port: {http_port}}}"
    )
    token = tmp_path / "telegram-token"
    token.write_text(TELEGRAM_TOKEN + "\n")
    with config.open("a") as f:
        f.write(
            f"""\
  - name: shop-bot
    type: telegram
    token_file: {token}
    api_url: {tg.base_url.removesuffix("/bot")}
    language: id
    poll_timeout: 2s
    timeout: 5s
"""
        )
    testdb.for_child(config)  # on the PostgreSQL leg: psycopg inside the unit's limits too
    state = tmp_path / "state"
    temp = tmp_path / "tmp"
    temp.mkdir()
    workdir = tmp_path / "cwd"  # systemd starts services in /; here: an empty folder
    workdir.mkdir()
    trace_file = tmp_path / "strace.txt"
    log_file = tmp_path / "daemon.log"

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    for assignment in " ".join(unit_settings()["Environment"]).split():
        key, _, value = assignment.partition("=")
        env[key] = value
    env |= {
        "TMPDIR": str(temp),
        "NOTIFY_SOCKET": str(notify_socket[0]),
        "WATCHDOG_USEC": "30000000",
    }
    daemon = Path(sys.executable).parent / "responder"  # the unit's ExecStart, in this venv
    with log_file.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            strace, "-f", "-qq", "-y", "-s", "256", "-o", str(trace_file), "--",
            str(daemon), "run", "-c", str(config),
            stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env,
        )  # fmt: skip
    # strace does not pass signals on: they go to the daemon, strace's only child.
    pid = await _child_of(proc.pid)
    try:
        await wait_until(lambda: has_cursor(config), timeout=30)
        await dovecot.append_async(SUPPORT, make_mail(sender="budi@example.com"))
        await smtp_server.wait_for_async(1, timeout=15)
        tg.push_message(TG_CUSTOMER, "Halo kak, pesanan saya belum sampai", first_name="Budi")
        await wait_sent(tg, TG_CUSTOMER, 1, timeout=15)
        for page in ("healthz", "metrics"):
            await asyncio.to_thread(_get, f"http://127.0.0.1:{http_port}/{page}")
        os.kill(pid, signal.SIGHUP)

        async def reloaded() -> bool:
            return "SIGHUP: reloading" in log_file.read_text()

        await wait_until(reloaded, timeout=15)
    finally:
        code = await _stop(proc, pid)
    daemon_log = log_file.read_text()
    assert code == 0, daemon_log
    states = [r["state"] for r in await db_rows(config, "replies")]
    assert len(states) >= 2 and set(states) == {"sent"}, states  # the email and the Telegram ack

    trace = parse_trace(trace_file.read_text(), workdir)
    assert "execve" in trace.syscalls and "connect" in trace.syscalls, "the trace looks empty"

    used = set(trace.syscalls)
    if os.geteuid() == 0 and "fchown" in used:
        assert all(
            re.fullmatch(rf"\d+<{re.escape(str(state.resolve()))}/[^/>]+-(wal|shm|journal)>", fd)
            for fd in trace.fchowns
        ), f"fchown() on something else than SQLite's own files: {trace.fchowns}"
        print(ROOT_ONLY)
        used.discard("fchown")
    forbidden = sorted(used - allowed_syscalls())
    print(f"{len(trace.syscalls)} system calls used:", " ".join(sorted(trace.syscalls)))
    assert forbidden == [], f"system calls outside the unit's SystemCallFilter=: {forbidden}"

    stray = sorted(
        path
        for path in trace.writes
        if path != "/dev/null" and not _under(path, state.resolve(), temp.resolve())
    )
    print("written:", " ".join(sorted(trace.writes)))
    assert stray == [], f"written outside the state dir and the temp dir: {stray}"

    families = set(the("RestrictAddressFamilies").split())
    assert trace.families <= families, f"socket families not allowed: {trace.families - families}"
    if the("MemoryDenyWriteExecute") == "yes":
        assert trace.wx == [], "writable+executable memory:\n" + "\n".join(trace.wx)
    hidden = sorted(p for p in trace.reads_hidden if not _under(p, INTERPRETER))
    assert hidden == [], f"read, but hidden under the unit (ProcSubset=, ProtectHome=): {hidden}"

    # Type=notify: systemd waits for READY=1 before it calls the service started.
    told = _datagrams(notify_socket[1])
    print("sd_notify:", told)
    assert any("READY=1" in m.split("\n") for m in told), f"no READY=1 in {told}"
