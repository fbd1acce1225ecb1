"""The several-instances benchmarks' databases: a SQLite file in the work directory, or a
database on a throwaway PostgreSQL server (responder/testing/postgres.py) that the bench
starts once; the config lines that name it, and the leases table read as `status` reads it."""

from __future__ import annotations

import importlib.util
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, select

from responder.storage import schema

if TYPE_CHECKING:
    from responder.testing.postgres import PostgresServer

KINDS = ("sqlite", "postgresql")


def postgresql_available() -> bool:
    """The backend, psycopg and Debian's server are all here."""
    if importlib.util.find_spec("psycopg") is None:
        return False
    if importlib.util.find_spec("responder.testing.postgres") is None:
        return False
    return any(Path("/usr/lib/postgresql").glob("*/bin/postgres"))


class Databases:
    """Hands out fresh databases of either kind; the PostgreSQL server starts at the first
    one asked for and stops with the context."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.server: PostgresServer | None = None
        self._numbers = itertools.count(1)
        self._kinds: set[str] = set()

    def fresh(self, kind: str) -> Database:
        n = next(self._numbers)
        self._kinds.add(kind)
        if kind == "sqlite":
            path = self.work / f"db{n}" / "responder.db"
            path.parent.mkdir()
            return Database(kind, f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}", "")
        if self.server is None:
            from responder.testing.postgres import SUPERUSER_PASSWORD, PostgresServer

            server = PostgresServer()
            server.start()
            self.server = server
            (self.work / "pg-password").write_text(SUPERUSER_PASSWORD + "\n")
        name = f"bench{n}"
        self.server.sql(f"CREATE DATABASE {name}")
        password = f"database_password_file: {self.work / 'pg-password'}\n"
        url = self.server.url(name, password=None)
        return Database(kind, url, self.server.url(name), password)

    def versions(self) -> str:
        """What the figures were measured on, for the table's heading."""
        import sqlite3

        names = [f"SQLite {sqlite3.sqlite_version}"] if "sqlite" in self._kinds else []
        if self.server is not None:
            names.append(f"PostgreSQL {self.server.bin.parent.name}")
        return ", ".join(names)


@contextmanager
def databases(work: Path) -> Iterator[Databases]:
    made = Databases(work)
    try:
        yield made
    finally:
        if made.server is not None:
            made.server.stop()


class Database:
    """One database: the daemon's URL (no password in it), SQLAlchemy's synchronous URL for
    the bench's own reads, and the config lines that name it."""

    def __init__(self, kind: str, url: str, sync_url: str, password_line: str) -> None:
        self.kind = kind
        self.url = url
        self.config_lines = f"database_url: {url}\n{password_line}"
        self._sync_url = sync_url
        self._engine: Engine | None = None

    def holders(self) -> dict[str, str | None]:
        """Each lease's holder, None once it ran out (as the instances judge it)."""
        if self._engine is None:
            self._engine = create_engine(self._sync_url)
        lease = schema.leases
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(select(lease.c.name, lease.c.holder, lease.c.expires_at))
                found = list(rows)
        except Exception:  # not made yet, or locked for a moment: as if nobody held it
            return {}
        now = time.time()
        return {r.name: r.holder if r.expires_at.timestamp() > now else None for r in found}

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
