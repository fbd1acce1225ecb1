"""Retention: blank what people wrote after a while, keep every row, time and figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, Table, and_, exists, func, select, update

from responder.storage import schema
from responder.storage.meta import keep_first

# Where a blanked text stood. Blanked bodies are b""; the meta row records the cut-off.
MARKER = "[removed by retention]"
PURGED_BEFORE_KEY = "retention.bodies_purged_before"
# Event details that are facts, not text: "first_response breach" (SLA figures count them),
# a staff mail client's Message-ID. Every other event's detail is what a person wrote.
FACT_EVENTS = ("answered", "done")
BATCH = 500  # rows per table per transaction in the daemon, so its writes never wait long


@dataclass(frozen=True)
class PurgeCounts:
    """How many texts a purge blanked (or, dry, would blank), by table."""

    inbound: int = 0
    replies: int = 0
    events: int = 0
    comments: int = 0
    files: int = 0  # web chat files deleted (issue 17): the file is the customer's words

    @property
    def total(self) -> int:
        return self.inbound + self.replies + self.events + self.comments + self.files

    @property
    def largest(self) -> int:
        """The most rows of one table: under a batch's limit, the purge is done."""
        return max(self.inbound, self.replies, self.events, self.comments, self.files)

    def __add__(self, other: PurgeCounts) -> PurgeCounts:
        return PurgeCounts(
            self.inbound + other.inbound,
            self.replies + other.replies,
            self.events + other.events,
            self.comments + other.comments,
            self.files + other.files,
        )


def is_text_event(kind: str) -> bool:
    """Whether a ticket event's detail is someone's text (a staff reply, a note)."""
    return not kind.startswith("sla_") and kind not in FACT_EVENTS


def _inbound_where(before: datetime) -> ColumnElement[bool]:
    i, t, s = schema.inbound, schema.tickets, schema.surveys
    # Still needed: a message not yet decided, and the messages of a ticket still open (SLA
    # alerts quote its first one) or whose survey is still to go (it threads under it).
    open_ticket = exists().where(t.c.id == i.c.ticket_id, t.c.status == "open")
    survey_due = exists().where(s.c.ticket_id == i.c.ticket_id, s.c.state == "planned")
    return and_(
        i.c.received_at < before,
        i.c.state != "new",
        func.length(i.c.raw) > 0,
        ~open_ticket,
        ~survey_due,
    )


def _replies_where(before: datetime) -> ColumnElement[bool]:
    r = schema.replies
    # A pending reply is still to be sent from this very text.
    return and_(
        r.c.created_at < before,
        r.c.state.in_(("sent", "parked", "expired")),
        func.length(r.c.message) > 0,
    )


def _events_where(before: datetime) -> ColumnElement[bool]:
    e = schema.ticket_events
    return and_(
        e.c.created_at < before,
        e.c.detail.is_not(None),
        e.c.detail != "",
        ~e.c.kind.like("sla\\_%", escape="\\"),
        e.c.kind.not_in(FACT_EVENTS),
        e.c.detail.not_in((MARKER, MARKER + " ?")),
    )


def _surveys_where(before: datetime) -> ColumnElement[bool]:
    s = schema.surveys
    return and_(
        s.c.answered_at < before,
        s.c.comment.is_not(None),
        s.c.comment != "",
        s.c.comment != MARKER,
    )


def _ids(
    conn: Connection, table: Table, where: ColumnElement[bool], limit: int | None
) -> list[int]:
    query = select(table.c.id).where(where).order_by(table.c.id)
    return list(conn.execute(query if limit is None else query.limit(limit)).scalars())


def purge_bodies(
    conn: Connection, before: datetime, *, dry_run: bool = False, limit: int | None = None
) -> PurgeCounts:
    """Blank the texts older than before, in the caller's transaction; see the module doc.

    Blanks inbound.raw and the message of sent, parked or expired replies to b"", the detail of
    staff replies and notes to MARKER (with " ?" kept when it asked a question, which the
    SLA clocks read), and survey comments to MARKER; deletes web chat files. limit caps the
    rows per table, for short transactions; dry_run counts without writing.
    """
    if before.tzinfo is None:
        raise ValueError("purge_bodies needs an aware datetime")
    i, r, e, s = schema.inbound, schema.replies, schema.ticket_events, schema.surveys
    inbound = _ids(conn, i, _inbound_where(before), limit)
    replies = _ids(conn, r, _replies_where(before), limit)
    events = _ids(conn, e, _events_where(before), limit)
    surveys = _ids(conn, s, _surveys_where(before), limit)
    f = schema.chat_files
    files = _ids(conn, f, f.c.created_at < before, limit)
    counts = PurgeCounts(len(inbound), len(replies), len(events), len(surveys), len(files))
    if dry_run:
        return counts
    if inbound:
        conn.execute(update(i).where(i.c.id.in_(inbound), i.c.state != "new").values(raw=b""))
    if replies:
        pending = r.c.state.in_(("sent", "parked", "expired"))
        conn.execute(update(r).where(r.c.id.in_(replies), pending).values(message=b""))
    if events:
        asked = e.c.detail.contains("?", autoescape=True)
        where = e.c.id.in_(events)
        conn.execute(update(e).where(where, asked).values(detail=MARKER + " ?"))
        conn.execute(update(e).where(where, ~asked).values(detail=MARKER))
    if surveys:
        conn.execute(update(s).where(s.c.id.in_(surveys)).values(comment=MARKER))
    if files:
        conn.execute(f.delete().where(f.c.id.in_(files)))
    _mark(conn, before)
    return counts


def _mark(conn: Connection, before: datetime) -> None:
    m = schema.meta
    value = before.astimezone(UTC).isoformat()
    old, _ = keep_first(conn, PURGED_BEFORE_KEY, value)
    if datetime.fromisoformat(old) < before:
        # Only over the value read: a later cut-off another purge wrote since stays.
        kept = (m.c.key == PURGED_BEFORE_KEY, m.c.value == old)
        conn.execute(update(m).where(*kept).values(value=value))


def purged_before(conn: Connection) -> datetime | None:
    """The latest cut-off a purge used: texts older than it were blanked."""
    m = schema.meta
    value = conn.execute(select(m.c.value).where(m.c.key == PURGED_BEFORE_KEY)).scalar()
    return None if value is None else datetime.fromisoformat(value)
