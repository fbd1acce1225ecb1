"""`responder backup`: an online copy of the SQLite database, checked before it is kept."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from responder.errors import StorageError
from responder.ops.db import sqlite_path

PAGES = 256  # pages copied per step (1 MB at 4 KiB pages)
PAUSE = 0.005  # seconds between steps: the daemon writes (WAL: never blocked by a reader)


@dataclass(frozen=True)
class BackupResult:
    """What was copied where."""

    source: Path
    out: Path
    pages: int
    size: int


def backup(url: str, out: Path, *, force: bool = False) -> BackupResult:
    """Copy the database at url to out with SQLite's online backup, then check the copy.

    The copy is written beside out under a temporary name and renamed into place only after
    PRAGMA integrity_check passes, so out is never a half-written file. StorageError: not
    SQLite, no database, out exists (without force), or the copy is not sound.
    """
    source = sqlite_path(url)
    if source is None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql":
            # pg_dump's custom format: consistent while the daemon writes, restored with
            # pg_restore (README, "PostgreSQL").
            raise StorageError(
                "backup copies SQLite's database file; this config's database is PostgreSQL "
                f"({parsed.render_as_string(hide_password=True)}): back it up with pg_dump, "
                f"e.g. pg_dump -Fc -h {parsed.host or 'localhost'} -U {parsed.username or 'ROLE'}"
                f" -f {out} {parsed.database}"
            )
        raise StorageError(
            "backup copies a SQLite database file; database_url is "
            f"{parsed.render_as_string(hide_password=True)}: use that database's own tools"
        )
    if not source.is_file():
        raise StorageError(f"no database at {source}: has the daemon run with this config?")
    out = out.absolute()
    if out == source:
        raise StorageError(f"{out} is the database itself")
    if out.exists() and not force:
        raise StorageError(f"{out} exists; give --force to overwrite it")
    if not out.parent.is_dir():
        raise StorageError(f"no directory {out.parent}")
    partial = out.with_name(f".{out.name}.partial")
    try:
        # The copy holds customers' mail: readable by its owner only, from the first byte.
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        pages = _copy(source, partial)
        _check(partial)
        os.replace(partial, out)
    except sqlite3.Error as exc:
        raise StorageError(f"backup failed: {exc}") from exc
    except OSError as exc:
        raise StorageError(f"cannot write {out}: {exc.strerror}") from exc
    finally:
        for leftover in (partial, *(Path(f"{partial}{s}") for s in ("-journal", "-wal", "-shm"))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return BackupResult(source, out, pages, out.stat().st_size)


def _copy(source: Path, partial: Path) -> int:
    # mode=ro: the backup only ever reads the daemon's database.
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        dst = sqlite3.connect(partial)
        try:
            # sqlite3 sleeps between steps only when busy; the progress callback always does.
            src.backup(dst, pages=PAGES, progress=lambda *_: time.sleep(PAUSE))
            # The copy is one self-contained file: no -wal beside it to forget.
            dst.execute("PRAGMA journal_mode=DELETE")
            return int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
    finally:
        src.close()


def _check(path: Path) -> None:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()
    if rows != ["ok"]:
        raise StorageError("the copy fails PRAGMA integrity_check: " + "; ".join(rows[:5]))
