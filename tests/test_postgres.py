"""PostgreSQL as the database (issue 19): its password from a file or the environment and never
shown, errors that say what to do, one migration when instances start together, reconnection
after the server dropped the connection, read-only commands that cannot write."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import testdb
from sqlalchemy import Connection, create_engine, select, text

from responder.cli import main
from responder.config import load_config
from responder.errors import ConfigError, StorageError, StorageUnavailable
from responder.ops.db import run_on_database
from responder.storage.migrations import LATEST, MIGRATIONS
from responder.storage.store import Store
from responder.testing.postgres import PostgresServer

ROLE, PASSWORD = "responder", "s3cret-Pässword/with:odd@chars"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    """The session's server on the PostgreSQL leg; on the SQLite leg, one of this module's own:
    these tests run on both."""
    if testdb.ON_POSTGRESQL:
        yield testdb.server()
        return
    with PostgresServer() as own:
        yield own


@pytest.fixture(scope="module")
def role(server: PostgresServer) -> str:
    """A login role with a password, as an admin makes one (README, "PostgreSQL")."""
    server.sql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    return ROLE


@pytest.fixture
def database(server: PostgresServer, role: str) -> Iterator[str]:
    """An empty database owned by the role: the daemon makes the tables."""
    name = f"pgtest{next(_names)}"
    server.sql(f"CREATE DATABASE {name} OWNER {role}")
    yield name
    server.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def write_config(tmp_path: Path, url: str, password: str) -> Path:
    (tmp_path / "imap").write_text("imap-secret\n")
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""\
state_dir: {tmp_path / "state"}
database_url: {url}
{password}
channels:
  - name: support-mail
    type: email
    address: support@toko-contoh.id
    imap: {{host: 127.0.0.1, port: 9, security: none, username: support@toko-contoh.id,
           password_file: {tmp_path / "imap"}}}
    smtp: {{host: 127.0.0.1, port: 9, security: none}}
"""
    )
    return path


def pg_url(server: PostgresServer, database: str, driver: str = "postgresql+asyncpg") -> str:
    return server.url(database, user=ROLE, password=None, driver=driver)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_the_password_comes_from_a_file_and_is_never_shown(
    server: PostgresServer,
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = tmp_path / "db-password"
    secret.write_text(PASSWORD + "\n")
    config = write_config(tmp_path, pg_url(server, database), f"database_password_file: {secret}")
    caplog.set_level(logging.DEBUG)
    store = Store(load_config(config).database_url_resolved)
    await store.open()
    try:
        assert store.where == f"postgresql+asyncpg://{ROLE}:***@127.0.0.1:{server.port}/{database}"
        assert [r["version"] for r in await store.rows("schema_version")][-1] == LATEST
    finally:
        await store.close()
    code, out, err = await asyncio.to_thread(cli, capsys, "status", "-c", str(config))
    assert code == 0, err
    code, check_out, _ = await asyncio.to_thread(cli, capsys, "check", "-c", str(config))
    assert code == 0
    assert f"; database: PostgreSQL, postgresql+asyncpg://{ROLE}@127.0.0.1" in check_out
    for shown in (out, err, check_out, caplog.text):
        assert PASSWORD not in shown and "s3cret" not in shown


def test_the_password_comes_from_the_environment(
    server: PostgresServer,
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = pg_url(server, database, driver="postgresql")
    config = write_config(tmp_path, url, "database_password_env: RESPONDER_DB_PASSWORD")
    monkeypatch.setenv("RESPONDER_DB_PASSWORD", PASSWORD)
    asyncio.run(_open_and_close(load_config(config).database_url_resolved))
    code, out, err = cli(capsys, "status", "-c", str(config), "--json")
    assert code == 0, err
    assert '"open_tickets": 0' in out
    monkeypatch.delenv("RESPONDER_DB_PASSWORD")
    code, out, err = cli(capsys, "status", "-c", str(config))
    assert code != 0 and out == ""
    assert "config.yaml:3:" in err and "RESPONDER_DB_PASSWORD" in err and "is not set" in err


async def _open_and_close(url: str) -> None:
    store = Store(url)
    await store.open()
    await store.close()


async def test_a_wrong_password_says_what_to_do_without_showing_it(
    server: PostgresServer, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("not-the-password-xyz\n")
    config = write_config(tmp_path, pg_url(server, database), f"database_password_file: {secret}")
    with pytest.raises(StorageError) as failed:
        await Store(load_config(config).database_url_resolved).open()
    message = str(failed.value)
    assert f'password authentication failed for user "{ROLE}"' in message
    assert "database_password_file" in message and "ALTER ROLE" in message
    assert "not-the-password-xyz" not in message
    code, _, err = await asyncio.to_thread(cli, capsys, "status", "-c", str(config))
    assert code != 0 and "password authentication failed" in err
    assert "not-the-password-xyz" not in err


async def test_check_connect_opens_the_database_with_the_configured_password(
    server: PostgresServer, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the first start: the admin learns the password or the server is wrong from
    `check --connect`, not from a daemon that will not start."""
    secret = tmp_path / "db-password"
    secret.write_text("not-the-password-xyz\n")
    config = write_config(tmp_path, pg_url(server, database), f"database_password_file: {secret}")

    async def database_line() -> str:
        code, out, _ = await asyncio.to_thread(cli, capsys, "check", "-c", str(config), "--connect")
        assert code == 1  # the mailbox of write_config answers nowhere
        assert "not-the-password-xyz" not in out and PASSWORD not in out
        [line] = [line for line in out.splitlines() if line[5:].startswith("database:")]
        return line

    shown = f"postgresql+asyncpg://{ROLE}:***@127.0.0.1:{server.port}/{database}"
    line = await database_line()
    assert line.startswith(f"FAIL database: cannot use {shown}: password authentication failed")
    assert "database_password_file" in line
    secret.write_text(PASSWORD + "\n")
    line = await database_line()
    assert line.startswith("ok   database: PostgreSQL 15")
    assert line.endswith(f"at {shown}, empty: the daemon creates its tables at its first start")
    await _open_and_close(load_config(config).database_url_resolved)
    assert (await database_line()).endswith(f"schema version {LATEST} (current)")


async def test_a_missing_database_or_server_says_what_to_do(
    server: PostgresServer, role: str
) -> None:
    missing = server.url("no_such_db", user=ROLE, password=PASSWORD)
    with pytest.raises(StorageError, match=r"createdb -O responder no_such_db"):
        await Store(missing).open()
    down = f"postgresql://{ROLE}@127.0.0.1:9/responder"
    with pytest.raises(StorageError, match=r"is PostgreSQL running and listening on 127.0.0.1:9"):
        await Store(down).open()


def test_config_errors_name_the_line_and_never_echo_a_password(tmp_path: Path) -> None:
    inline = write_config(tmp_path, "postgresql://responder:hunter2@db/responder", "")
    with pytest.raises(ConfigError) as failed:
        load_config(inline)
    assert "config.yaml:2:" in str(failed.value) and "database_password_file" in str(failed.value)
    assert "hunter2" not in str(failed.value)
    unreadable = write_config(
        tmp_path, "postgresql://responder@db/responder", "database_password_file: nowhere"
    )
    with pytest.raises(ConfigError, match=r"config\.yaml:3:.*nowhere: no such file"):
        load_config(unreadable)
    sqlite = write_config(tmp_path, "sqlite:///x.db", "database_password_env: X")
    with pytest.raises(ConfigError, match=r"config\.yaml:3:.*SQLite has none"):
        load_config(sqlite, environ={"X": "y"})
    other = write_config(tmp_path, "mysql://responder@db/responder", "")
    with pytest.raises(ConfigError, match=r'config\.yaml:2:.*unsupported database "mysql"'):
        load_config(other)


async def test_instances_starting_together_migrate_once(
    server: PostgresServer, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="responder.storage.migrations")
    url = server.url(database, user=ROLE, password=PASSWORD)
    stores = [Store(url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        versions = [r["version"] for r in await stores[0].rows("schema_version")]
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert versions == [number for number, _, _ in MIGRATIONS]
    applied = [r for r in caplog.records if r.getMessage().startswith("applying")]
    assert len(applied) == len(MIGRATIONS)  # by one of them; the others found it done


async def test_a_dropped_connection_is_reconnected(server: PostgresServer, database: str) -> None:
    """A server restart (or an idle cut) ends the daemon's session: the unit of work that met
    it fails as the database being unavailable (its callers retry), and the next one works."""
    store = Store(server.url(database, user=ROLE, password=PASSWORD))
    await store.open()
    try:
        assert await store.rows("tickets") == []
        await asyncio.to_thread(server.kill_connections, database)
        outcomes: list[str] = []
        for _ in range(2):
            try:
                await store.rows("tickets")
            except StorageUnavailable as exc:
                assert PASSWORD not in str(exc)
                outcomes.append("unavailable")
            else:
                outcomes.append("ok")
        assert outcomes in (["unavailable", "ok"], ["ok", "ok"]), outcomes
    finally:
        await store.close()


def _write(conn: Connection) -> None:
    conn.execute(text("UPDATE meta SET value = 'x'"))


async def test_status_report_and_export_cannot_write(server: PostgresServer, database: str) -> None:
    url = server.url(database, user=ROLE, password=PASSWORD)
    await _open_and_close(url)
    with pytest.raises(StorageError, match="read-only transaction"):
        await asyncio.to_thread(run_on_database, url, "status", _write)


def test_backup_points_to_pg_dump(
    server: PostgresServer, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "db-password"
    secret.write_text(PASSWORD + "\n")
    config = write_config(tmp_path, pg_url(server, database), f"database_password_file: {secret}")
    code, out, err = cli(capsys, "backup", "-c", str(config), str(tmp_path / "copy.db"))
    assert code != 0 and out == ""
    assert f"pg_dump -Fc -h 127.0.0.1 -U {ROLE}" in err and database in err
    assert PASSWORD not in err
    assert not (tmp_path / "copy.db").exists()


def test_times_come_back_as_they_went_in(server: PostgresServer, database: str) -> None:
    """Aware UTC in, aware UTC out, whatever the server's own time zone."""
    from datetime import UTC, datetime, timedelta, timezone

    from responder.storage import schema
    from responder.storage.engine import open_engine

    server.sql(f"ALTER DATABASE {database} SET TimeZone = 'Asia/Jakarta'")
    engine, conn, _ = open_engine(server.url(database, user=ROLE, password=PASSWORD))
    c = schema.cursors.c
    jakarta = datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7)))
    try:
        with conn.begin():
            conn.execute(
                schema.cursors.insert().values(
                    channel="mail", validity=1, position=2, updated_at=jakarta
                )
            )
        back = conn.execute(select(c.updated_at).where(c.channel == "mail")).scalar_one()
        conn.commit()
    finally:
        conn.close()
        engine.dispose()
    assert back == jakarta and back.tzinfo == UTC


def test_the_url_given_to_create_engine_names_psycopg(server: PostgresServer) -> None:
    """psycopg (3) serves postgresql://, +psycopg and +asyncpg: asyncpg has no synchronous
    side for the database thread (docs/design.md)."""
    from responder.storage.engine import sync_url

    for given in ("postgresql", "postgresql+psycopg", "postgresql+asyncpg"):
        assert sync_url(f"{given}://r@h/d").drivername == "postgresql+psycopg"
    engine = create_engine(sync_url(server.url()))
    try:
        with engine.connect() as conn:
            assert conn.dialect.driver == "psycopg"
    finally:
        engine.dispose()


async def test_the_readme_recipe_works(
    server: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README "PostgreSQL": its role and database, its two keys, on this server."""
    from test_readme import blocks, section

    text = section("PostgreSQL")
    commands = blocks(text, "")[0]
    assert "createuser --pwprompt responder" in commands
    assert "createdb -O responder responder" in commands
    (keys,) = blocks(text, "yaml")
    secret = tmp_path / "database"
    secret.write_text(PASSWORD + "\n")
    keys = keys.replace("/etc/responder/secrets/database", str(secret))
    keys = keys.replace("@127.0.0.1/", f"@127.0.0.1:{server.port}/")
    server.sql("CREATE DATABASE responder OWNER responder")
    try:
        config = write_config(tmp_path, "x", "")
        config.write_text(config.read_text().replace("database_url: x\n", keys))
        await _open_and_close(load_config(config).database_url_resolved)
        code, _, err = await asyncio.to_thread(cli, capsys, "status", "-c", str(config))
        assert code == 0, err
    finally:
        server.sql("DROP DATABASE responder WITH (FORCE)")
