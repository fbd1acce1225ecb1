"""`responder copy-db --from FILE`: a shop's SQLite database copied into the configured one."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from responder.errors import StorageError
from responder.ops.backup import backup
from responder.storage import schema
from responder.storage.engine import cause, open_engine, where

# The target's own: its schema version is written by its migrations, and a lease names an
# instance of the target's deployment, never one of the old single machine's.
NOT_COPIED = frozenset({"schema_version", "leases"})
BATCH = 1000


@dataclass(frozen=True)
class Copied:
    """The rows of each table in the source and, after the copy, in the target."""

    source: str
    target: str
    counts: tuple[tuple[str, int, int], ...]
    same_report: bool | None = None

    @property
    def same(self) -> bool:
        return all(before == after for _, before, after in self.counts)


def copy_db(
    source: Path,
    target_url: str,
    *,
    progress: Callable[[str, int], None] | None = None,
    same_report: Callable[[str, str], bool] | None = None,
) -> Copied:
    """Copy every row of the SQLite database file source into the (migrated, empty) database
    at target_url, in one transaction, and count both sides. StorageError: no such file, the
    target already holds a desk's data, or either database cannot be read or written.

    The source is first copied with SQLite's online backup and the copy migrated, so the
    admin's file is only ever read, and an older responder's database can be moved too.
    same_report, given the copy's URL and target_url, says whether both give one report."""
    source = source.absolute()
    with tempfile.TemporaryDirectory(prefix="responder-copy-") as tmp:
        snapshot = backup(f"sqlite+aiosqlite:///{source}", Path(tmp) / "source.db").out
        src_engine, src, _ = open_engine(f"sqlite+aiosqlite:///{snapshot}")
        try:
            dst_engine, dst, _ = open_engine(target_url)
            try:
                counts = _copy(src, dst, progress)
            except SQLAlchemyError as exc:
                raise StorageError(f"cannot copy into {where(target_url)}: {cause(exc)}") from exc
            finally:
                dst.close()
                dst_engine.dispose()
        finally:
            src.close()
            src_engine.dispose()
        alike = (
            None
            if same_report is None
            else same_report(f"sqlite+aiosqlite:///{snapshot}", target_url)
        )
    return Copied(str(source), where(target_url), counts, alike)


def tables() -> Iterator[Table]:
    """Every table copied, parents before the tables whose foreign keys name them."""
    return (t for t in schema.metadata.sorted_tables if t.name not in NOT_COPIED)


def _copy(
    src: Connection, dst: Connection, progress: Callable[[str, int], None] | None
) -> tuple[tuple[str, int, int], ...]:
    with dst.begin():
        _refuse_unless_empty(dst)
        # A fresh target made its own secrets (the web chat's and the surveys' signing keys);
        # the shop's own must win, or every visitor token and survey link already out breaks.
        dst.execute(schema.meta.delete())
        for table in tables():
            copied = _copy_table(src, dst, table)
            if progress is not None:
                progress(table.name, copied)
        if dst.dialect.name == "postgresql":
            _advance_sequences(dst)
    return tuple((t.name, _count(src, t), _count(dst, t)) for t in tables())


def _refuse_unless_empty(dst: Connection) -> None:
    held = {t.name: _count(dst, t) for t in tables() if t.name != "meta"}
    busy = {name: n for name, n in held.items() if n}
    if busy:
        listed = ", ".join(f"{name} {n}" for name, n in sorted(busy.items()))
        raise StorageError(
            "the target database already holds a desk's data "
            f"({listed}); copy-db only fills an empty one"
        )


def _copy_table(src: Connection, dst: Connection, table: Table) -> int:
    order = list(table.primary_key.columns) or list(table.columns)
    rows = src.execution_options(stream_results=True).execute(select(table).order_by(*order))
    copied = 0
    while batch := rows.fetchmany(BATCH):
        dst.execute(table.insert(), [dict(row._mapping) for row in batch])
        copied += len(batch)
    return copied


def _advance_sequences(dst: Connection) -> None:
    # Rows came in with their ids, so PostgreSQL's sequences never moved: the next ticket
    # would take id 1 and fail on the primary key. Each is set past the largest id copied.
    for table in tables():
        for column in table.primary_key.columns:
            if column.autoincrement is not True and not (
                column.autoincrement == "auto" and len(table.primary_key.columns) == 1
            ):
                continue
            if column.type.python_type is not int:
                continue
            dst.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f"COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL) "
                    f"FROM {table.name}"
                ),
                {"table": table.name, "column": column.name},
            )


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
