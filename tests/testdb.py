"""The database the tests use: every test that builds a database URL asks here."""

from __future__ import annotations

from pathlib import Path


def database_url(tmp_path: Path) -> str:
    """A fresh database for one test: an SQLite file under `tmp_path`."""
    return f"sqlite+aiosqlite:///{tmp_path}/shared/responder.db"
