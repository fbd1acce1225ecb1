"""Reads a period's rows from the daemon's database, read-only, without ever migrating it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from responder.domain.records import MERGED
from responder.errors import StorageError
from responder.report.period import Period
from responder.report.rows import EventRow, ReportData, SurveyRow, TicketRow
from responder.storage import schema
from responder.storage.engine import async_url, cause, reader_args
from responder.storage.migrations import LATEST, current_version


def read_report_data(url: str, period: Period) -> ReportData:
    """The rows of tickets opened in period; StorageError if the database cannot be read."""
    found: list[ReportData] = []

    async def read() -> None:
        # Kept aside rather than returned: Python 3.11's asyncio.run builds the main task's
        # repr, result included, at exit (cpython#112559), a second spent on 20,000 tickets.
        found.append(await _read(_read_only(url), period, url))

    asyncio.run(read())
    return found[0]


def _read_only(url: str) -> URL:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return async_url(parsed)
    path = Path(parsed.database).absolute()
    if not path.is_file():
        raise StorageError(f"no database at {path}: has the daemon run with this config?")
    # mode=ro: SQLite itself refuses every write, so a report can never change the daemon's
    # database, and a missing file is an error rather than a new empty database.
    query = {**parsed.query, "mode": "ro", "uri": "true"}
    return parsed.set(database=path.as_uri(), query=query)


async def _read(url: URL, period: Period, given: str) -> ReportData:
    # NullPool: one connection, closed with the engine, so nothing is left open at exit.
    engine = create_async_engine(url, poolclass=NullPool, **reader_args(url, read_only=True))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_read_sync, period)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the database: {cause(exc, given)}") from exc
    finally:
        await engine.dispose()


def _check_version(conn: Connection) -> None:
    version = current_version(conn)
    if version == 0:
        raise StorageError("this is not a responder database (it has no schema version)")
    if version > LATEST:
        raise StorageError(
            f"the database is at schema version {version}, newer than this responder "
            f"({LATEST}); report with the responder that runs the daemon"
        )
    if version < LATEST:
        raise StorageError(
            f"the database is at schema version {version}, older than this responder "
            f"({LATEST}); report never migrates it: start the daemon (responder run) once "
            "to migrate it, or report with the responder that wrote it"
        )


def _read_sync(conn: Connection, period: Period) -> ReportData:
    _check_version(conn)
    t, e, s = schema.tickets, schema.ticket_events, schema.surveys
    opened = (t.c.created_at >= period.start) & (t.c.created_at < period.end)
    # A merged duplicate is part of the ticket it joined (issue 18): not a conversation of
    # its own in the figures, only counted as merged.
    in_period = opened & (t.c.status != MERGED)
    merged = conn.execute(
        select(func.count()).select_from(t).where(opened, t.c.status == MERGED)
    ).scalar_one()
    ids = select(t.c.id).where(in_period).scalar_subquery()
    tickets = tuple(
        TicketRow(r.id, r.ref, r.channel, r.created_at, r.resolved_at, r.sla_policy)
        for r in conn.execute(
            select(t.c.id, t.c.ref, t.c.channel, t.c.created_at, t.c.resolved_at, t.c.sla_policy)
            .where(in_period)
            .order_by(t.c.created_at, t.c.id)
        )
    )
    events = tuple(
        EventRow(r.ticket_id, r.kind, r.created_at, r.detail, r.actor)
        for r in conn.execute(
            select(e.c.ticket_id, e.c.kind, e.c.created_at, e.c.detail, e.c.actor)
            .where(e.c.ticket_id.in_(ids))
            .order_by(e.c.created_at, e.c.id)
        )
    )
    r = schema.replies
    kinds = tuple(
        (row.ticket_id, row.kind)
        for row in conn.execute(
            select(r.c.ticket_id, r.c.kind).where(r.c.ticket_id.in_(ids)).order_by(r.c.id)
        )
    )
    surveys = tuple(
        SurveyRow(
            row.ticket_id,
            row.state,
            row.sent_at,
            row.rating,
            row.nps,
            row.comment,
            row.answered_at,
            row.reason,
        )
        for row in conn.execute(
            select(
                s.c.ticket_id,
                s.c.state,
                s.c.sent_at,
                s.c.rating,
                s.c.nps,
                s.c.comment,
                s.c.answered_at,
                s.c.reason,
            ).where(s.c.ticket_id.in_(ids))
        )
    )
    i, x = schema.inbound, schema.suppressions
    received = (i.c.received_at >= period.start) & (i.c.received_at < period.end)
    messages_in = {
        row.channel: int(row.n)
        for row in conn.execute(
            select(i.c.channel, func.count().label("n")).where(received).group_by(i.c.channel)
        )
    }
    suppressed_when = (x.c.created_at >= period.start) & (x.c.created_at < period.end)
    suppressed = {
        row.channel: int(row.n)
        for row in conn.execute(
            select(x.c.channel, func.count().label("n"))
            .where(suppressed_when)
            .group_by(x.c.channel)
        )
    }
    return ReportData(tickets, events, kinds, surveys, messages_in, suppressed, int(merged))
