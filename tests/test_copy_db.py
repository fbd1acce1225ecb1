"""`responder copy-db --from FILE`: a shop's SQLite database moved into the configured one
(issue 19): the same rows, the same report, the admin's file untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from responder.cli import main
from responder.config import load_config
from responder.storage import schema
from responder.storage.engine import sync_url
from responder.storage.migrations import LATEST
from tests.test_report import db_path, random_rows, write_config

CORPUS = Path(__file__).parent / "corpus" / "databases"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def shop(root: Path) -> Path:
    """A shop's config with its SQLite database of 320 random tickets, replies, events and
    surveys (SQLite whichever database the suite runs on: it is what copy-db moves)."""
    config = write_config(root)
    url = f"sqlite+aiosqlite:///{db_path(config)}"
    config.write_text(f"database_url: {url}\n" + config.read_text())
    random_rows().write(url)
    return config


def target(root: Path) -> Path:
    """The same shop's config on the new database: the suite's (PostgreSQL in its second
    run, where the conftest gives each test a fresh one; a SQLite file in the first)."""
    return write_config(root)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_shops_database_is_copied_with_the_same_rows_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = shop(tmp_path / "old")
    new = target(tmp_path / "new")
    before = digest(db_path(old))

    code, out, err = run(capsys, "copy-db", "-c", str(new), "--from", str(db_path(old)))

    assert code == 0, err
    assert out.splitlines()[-1] == "every table has the same rows; the same report"
    assert "  tickets " in out and "DIFFERENT" not in out
    assert digest(db_path(old)) == before  # the admin's file is only read
    # What the admin would compare by hand: the report of each, over the same days.
    period = ("--since", "2026-08-01", "--until", "2026-12-01")
    code_old, report_old, _ = run(capsys, "report", "-c", str(old), *period)
    code_new, report_new, _ = run(capsys, "report", "-c", str(new), *period)
    assert (code_old, code_new) == (0, 0)
    assert report_new == report_old


def test_the_copy_takes_new_tickets_after_the_last_copied_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = shop(tmp_path / "old")
    new = target(tmp_path / "new")
    assert run(capsys, "copy-db", "-c", str(new), "--from", str(db_path(old)))[0] == 0

    engine = create_engine(sync_url(load_config(new).database_url_resolved))
    try:
        with engine.begin() as conn:
            last = conn.execute(select(func.max(schema.tickets.c.id))).scalar_one()
            made = conn.execute(
                schema.tickets.insert().values(
                    ref="TKT-NEW1",
                    channel="support-mail",
                    customer="new@example.com",
                    language="en",
                    status="open",
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
            )
            assert made.inserted_primary_key[0] == last + 1
    finally:
        engine.dispose()


def test_copy_db_fills_only_an_empty_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = shop(tmp_path / "old")
    new = target(tmp_path / "new")
    assert run(capsys, "copy-db", "-c", str(new), "--from", str(db_path(old)))[0] == 0

    code, out, err = run(capsys, "copy-db", "-c", str(new), "--from", str(db_path(old)))

    assert code == 1
    assert "already holds a desk's data" in err and "tickets 320" in err
    assert out == ""


def test_an_older_responders_database_is_moved_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "v8.db"
    made = sqlite3.connect(source)
    made.executescript((CORPUS / "v8.sql").read_text())
    made.close()
    tickets = sqlite3.connect(source).execute("SELECT count(*) FROM tickets").fetchone()[0]
    new = target(tmp_path / "new")

    code, out, err = run(capsys, "copy-db", "-c", str(new), "--from", str(source))

    assert code == 0, err
    row = next(line for line in out.splitlines() if line.split()[:1] == ["tickets"])
    assert row.split()[1:3] == [str(tickets), str(tickets)]
    kept = sqlite3.connect(source)
    assert kept.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 8
    kept.close()
    assert LATEST > 8


def test_a_missing_source_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = target(tmp_path / "new")
    code, _, err = run(capsys, "copy-db", "-c", str(new), "--from", str(tmp_path / "no.db"))
    assert code == 1
    assert f"no database at {tmp_path / 'no.db'}" in err
