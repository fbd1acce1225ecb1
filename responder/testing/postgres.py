"""A throwaway PostgreSQL server from Debian's `postgresql` package, on 127.0.0.1, for tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

from responder.testing._net import free_port

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "throwaway-superuser"


def server_bin() -> Path:
    """The newest server's bin folder (/usr/lib/postgresql/VERSION/bin, as Debian lays it)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError(
            "no PostgreSQL server: install Debian's postgresql package (scripts/dev test does)"
        )
    return found[-1].parent


class PostgresServer:
    """initdb in a temporary folder, then `postgres` on a free loopback port until stop().

    Password authentication (scram-sha-256) over TCP only, as a real server would ask for;
    durability is off (fsync, full pages), which a throwaway server does not need."""

    def __init__(self) -> None:
        self.bin = server_bin()
        self.port = free_port()
        self.host = "127.0.0.1"
        self._base: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def url(
        self,
        database: str = "postgres",
        *,
        user: str = SUPERUSER,
        password: str | None = (SUPERUSER_PASSWORD),
        driver: str = "postgresql+psycopg",
    ) -> str:
        secret = f":{quote(password, safe='')}" if password is not None else ""
        return f"{driver}://{quote(user, safe='')}{secret}@{self.host}:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        assert self._base is not None
        return self._base / "server.log"

    def start(self) -> None:
        # /tmp, not pytest's folder: that one is private to root, and the server runs as the
        # postgres user when we are root (initdb refuses to run as root).
        self._base = Path(tempfile.mkdtemp(prefix="responder-pg-"))
        data = self._base / "data"
        pwfile = self._base / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        self._own(self._base, pwfile)
        self._run(
            self.bin / "initdb", "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}",
            "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": "",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        args = [str(self.bin / "postgres"), "-D", str(data)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        with self.log_file.open("wb") as log:
            self._proc = subprocess.Popen(self._as_owner(args), stdout=log, stderr=log)
        self._wait_ready()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)  # "fast shutdown": ends the sessions
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def kill_connections(self, database: str) -> None:
        """End every session on `database`, as a server restart or a network cut would."""
        self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            database,
        )

    def sql(self, statement: str, *params: object) -> None:
        """Run one statement as the superuser, outside a transaction (CREATE DATABASE)."""
        import psycopg

        dsn = self.url().replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(statement.encode(), params or None)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        import psycopg

        dsn = self.url().replace("postgresql+psycopg", "postgresql")
        deadline = time.monotonic() + 30
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log_file.read_text()[-2000:]}")
            try:
                psycopg.connect(dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _as_owner(self, args: list[str]) -> list[str]:
        if os.getuid() != 0:
            return args
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *args]

    def _own(self, *paths: Path) -> None:
        if os.getuid() == 0:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def _run(self, *args: str | Path) -> None:
        done = subprocess.run(
            self._as_owner([str(a) for a in args]), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
