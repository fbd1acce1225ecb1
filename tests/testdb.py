"""The database a test uses: a SQLite file as the daemon makes by default, or, with
RESPONDER_TEST_DB=postgresql, a fresh database on the session's throwaway PostgreSQL server
(one per file path a test names, dropped after the test)."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

from responder.testing.postgres import SUPERUSER_PASSWORD, PostgresServer

ON_POSTGRESQL = os.environ.get("RESPONDER_TEST_DB", "sqlite") == "postgresql"
# Configs written for a daemon in a child process name the password by this variable, as an
# admin's would (database_password_env); set for the whole session.
PASSWORD_ENV = "RESPONDER_TEST_DB_PASSWORD"
TEMPLATE = "responder_template"

_server: PostgresServer | None = None
_made: dict[Path, str] = {}
_numbers = itertools.count(1)
_lock = threading.Lock()  # a Store opens its database in its own thread


def start() -> PostgresServer:
    """The session's server, with a migrated template each test's database is copied from."""
    global _server
    from responder.storage.engine import open_engine

    server = PostgresServer()
    server.start()
    server.sql(f"CREATE DATABASE {TEMPLATE}")
    engine, conn, _ = open_engine(server.url(TEMPLATE))
    conn.close()
    engine.dispose()
    os.environ[PASSWORD_ENV] = SUPERUSER_PASSWORD
    _server = server
    return server


def server() -> PostgresServer:
    assert _server is not None, "RESPONDER_TEST_DB=postgresql without the session's server"
    return _server


def database(path: Path) -> str:
    """The PostgreSQL database standing for the SQLite file at path in this test."""
    path = Path(path).absolute()
    with _lock:
        name = _made.get(path)
        if name is None:
            name = f"t{next(_numbers)}"
            server().sql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
            _made[path] = name
        return name


def url(path: Path) -> str:
    """The URL a test hands Store or read_report_data for the database at path."""
    if not ON_POSTGRESQL:
        return f"sqlite+aiosqlite:///{path}"
    return server().url(database(path))


def sync_url(path: Path) -> str:
    """The same database for create_engine (plain SQLAlchemy, no asyncio)."""
    if not ON_POSTGRESQL:
        return f"sqlite:///{path}"
    return server().url(database(path))


def config_lines(state_dir: Path) -> str:
    """YAML naming the test's database for a daemon that runs in a child process (in-process
    loads find it by themselves, see conftest.py): nothing on SQLite."""
    if not ON_POSTGRESQL:
        return ""
    target = server().url(database(state_dir / "responder.db"), password=None)
    return f"database_url: {target}\ndatabase_password_env: {PASSWORD_ENV}\n"


def drop_all() -> None:
    """Drop the databases this test made (run after each test)."""
    with _lock:
        names = list(_made.values())
        _made.clear()
    for name in names:
        server().sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def load_corpus(path: Path, dump: Path) -> None:
    """A database from an older release (tests/corpus/databases, SQLite's .dump) where the
    test's database at path is: on PostgreSQL, the same tables and rows as that release made
    them there, so the upgrade runs the migrations' PostgreSQL path."""
    if not ON_POSTGRESQL:
        import sqlite3

        path.parent.mkdir(parents=True, exist_ok=True)
        made = sqlite3.connect(path)
        try:
            made.executescript(dump.read_text())
        finally:
            made.close()
        return
    path = Path(path).absolute()
    with _lock:
        assert path not in _made, "load_corpus before anything opens the database"
        name = f"t{next(_numbers)}"
        server().sql(f"CREATE DATABASE {name}")  # empty: no migrated template
        _made[path] = name
    import psycopg

    dsn = server().url(name).replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(postgresql_dump(dump.read_text()).encode())


def postgresql_dump(sql: str) -> str:
    """SQLite's .dump of a SQLAlchemy-made schema, as the same release made it on PostgreSQL:
    aware timestamps, bytea, serial ids, foreign keys added once every table exists."""
    import re

    sql = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    sql = re.sub(r"\bDATETIME\b", "TIMESTAMP WITH TIME ZONE", sql)
    sql = re.sub(r"\bBLOB\b", "BYTEA", sql)
    sql = re.sub(r"X'([0-9A-Fa-f]*)'", r"decode('\1', 'hex')", sql)
    sql = re.sub(r"^\tid INTEGER NOT NULL", "\tid SERIAL NOT NULL", sql, flags=re.M)
    keys: list[str] = []

    def table(found: re.Match[str]) -> str:
        name, body = found.group(1), found.group(2)
        parts = [p.strip() for p in re.split(r",\s*\n", body.strip())]
        kept = []
        for part in parts:
            if part.startswith("FOREIGN KEY"):
                keys.append(f"ALTER TABLE {name} ADD {part};")
            else:
                kept.append(part)
        return f"CREATE TABLE {name} (\n\t" + ",\n\t".join(kept) + "\n);"

    sql = re.sub(r"CREATE TABLE (\w+) \((.*?)\n\);", table, sql, flags=re.S)
    serials = re.findall(r"CREATE TABLE (\w+) \(\n\tid SERIAL", sql)
    ids = [f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), " for t in serials]
    fix = [
        f"{s}coalesce((SELECT max(id) FROM {t}), 0) + 1, false);"
        for s, t in zip(ids, serials, strict=True)
    ]
    return sql.replace("COMMIT;", "\n".join([*keys, *fix, "COMMIT;"]))


def for_child(config: Path) -> Path:
    """The config, naming the test's database for a daemon or command run in a child
    process (an in-process load finds it by itself, see conftest.py). Appended, so the
    lines an error names stay where they were; nothing on SQLite."""
    if not ON_POSTGRESQL:
        return config
    from responder.config import load_config

    text = config.read_text()
    if "\ndatabase_url:" not in f"\n{text}":
        state = load_config(config, secrets="skip").state_dir
        config.write_text(text.rstrip("\n") + "\n" + config_lines(state))
    return config


def execute(path: Path, *statements: str) -> list[tuple[object, ...]]:
    """Run SQL on the test's database from outside the daemon, as another program or a DBA
    would, in one transaction; the last statement's rows."""
    from sqlalchemy import create_engine, text

    # SQLite: wait for the daemon's write lock (WAL allows one writer at a time).
    # PostgreSQL: a time written as text means UTC, as SQLite's naive UTC values do.
    args = {"options": "-c TimeZone=UTC"} if ON_POSTGRESQL else {"timeout": 30}
    engine = create_engine(sync_url(path), connect_args=args)
    rows: list[tuple[object, ...]] = []
    try:
        with engine.begin() as conn:
            for statement in statements:
                result = conn.execute(text(statement))
                rows = [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()
    return rows


def refuse(name: str, table: str, event: str, message: str, when: str = "") -> list[str]:
    """A trigger that refuses every `event` (INSERT, UPDATE) on table while `when` holds (SQL
    on NEW and the tables, the same on both databases), as a DBA or a failing disk might:
    an integrity error, the class SQLite's RAISE(ABORT) is."""
    if not ON_POSTGRESQL:
        condition = f" WHEN {when}" if when else ""
        return [
            f"CREATE TRIGGER {name} BEFORE {event} ON {table}{condition} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        ]
    raise_it = f"RAISE EXCEPTION '{message}' USING ERRCODE = '23000';"
    body = f"IF {when} THEN {raise_it} END IF;" if when else raise_it
    return [
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {body} RETURN NEW; END $$",
        f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
    ]


def allow(name: str, table: str) -> list[str]:
    """Drop what refuse() made."""
    if not ON_POSTGRESQL:
        return [f"DROP TRIGGER {name}"]
    return [f"DROP TRIGGER {name} ON {table}", f"DROP FUNCTION {name}()"]


def shared(tmp_path: Path) -> Path:
    """The database several daemons of one test share (each has its own state_dir)."""
    return tmp_path / "shared" / "responder.db"


def database_url(tmp_path: Path) -> str:
    """The URL of that shared database, for Store and other in-process readers."""
    path = shared(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return url(path)


def shared_config_lines(tmp_path: Path) -> str:
    """YAML naming that shared database in each daemon's config (the password, on
    PostgreSQL, from the environment as an admin's would be)."""
    path = shared(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not ON_POSTGRESQL:
        return f"database_url: sqlite+aiosqlite:///{path}\n"
    target = server().url(database(path), password=None)
    return f"database_url: {target}\ndatabase_password_env: {PASSWORD_ENV}\n"
