"""`responder export`: tickets with their messages, events, replies and survey, read-only."""

from __future__ import annotations

import base64
import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal, TextIO

from sqlalchemy import Connection, Table, select

from responder.core.contacts import Identity, shown
from responder.storage import schema
from responder.storage.retention import is_text_event, purged_before
from responder.storage.views import merged_refs

Format = Literal["jsonl", "csv"]
CHUNK = 500  # tickets read at a time, so a large database streams in little memory

CSV_FIELDS = (
    "ref",
    "channel",
    "customer",
    "customer_name",
    "subject",
    "language",
    "status",
    "merged_into",
    "rule",
    "priority",
    "tags",
    "sla_policy",
    "created_at",
    "resolved_at",
    "messages",
    "replies",
    "events",
    "survey_state",
    "survey_rating",
    "survey_nps",
    "survey_comment",
    "survey_answered_at",
    "contact_id",
    "contact_identities",
)


def write_export(
    conn: Connection,
    out: TextIO,
    since: datetime | None,
    until: datetime | None,
    fmt: Format,
    bodies: bool,
) -> int:
    """Write the tickets opened in [since, until) to out; returns how many."""
    cut = purged_before(conn)
    writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore") if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    for ticket in _tickets(conn, since, until, cut, bodies):
        if writer is not None:
            writer.writerow(_csv_row(ticket))
        else:
            out.write(json.dumps(ticket, ensure_ascii=False) + "\n")
        count += 1
    return count


def _tickets(
    conn: Connection,
    since: datetime | None,
    until: datetime | None,
    cut: datetime | None,
    bodies: bool,
) -> Iterator[dict[str, Any]]:
    t = schema.tickets
    where = []
    if since is not None:
        where.append(t.c.created_at >= since)
    if until is not None:
        where.append(t.c.created_at < until)
    after = 0
    while True:
        rows = conn.execute(
            select(t).where(t.c.id > after, *where).order_by(t.c.id).limit(CHUNK)
        ).all()
        if not rows:
            return
        after = rows[-1].id
        ids = [row.id for row in rows]
        messages = _related(conn, schema.inbound, ids)
        replies = _related(conn, schema.replies, ids)
        events = _related(conn, schema.ticket_events, ids)
        surveys = _related(conn, schema.surveys, ids)
        people = _identities(conn, {row.contact_id for row in rows if row.contact_id})
        into = merged_refs(conn, {row.merged_into for row in rows if row.merged_into})
        for row in rows:
            ticket = _plain(row._asdict())
            # A merged duplicate names the ticket it joined by its reference, as staff do.
            ticket["merged_into"] = into.get(row.merged_into) if row.merged_into else None
            ticket["messages"] = [_message(m, cut, bodies) for m in messages[row.id]]
            ticket["replies"] = [_reply(r, bodies) for r in replies[row.id]]
            ticket["events"] = [_event(e, bodies) for e in events[row.id]]
            found = surveys[row.id]
            ticket["survey"] = _survey(found[0], bodies) if found else None
            # The person across channels (issue 18): every identity they used.
            ticket["contact"] = (
                {"id": row.contact_id, "identities": people[row.contact_id]}
                if row.contact_id
                else None
            )
            yield ticket


def _related(conn: Connection, table: Table, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(select(table).where(table.c.ticket_id.in_(ids)).order_by(table.c.id)):
        out[row.ticket_id].append(row._asdict())
    return out


def _identities(conn: Connection, contacts: set[int]) -> dict[int, list[str]]:
    ci = schema.contact_identities
    out: dict[int, list[str]] = defaultdict(list)
    if contacts:
        rows = conn.execute(
            select(ci.c.contact_id, ci.c.kind, ci.c.value)
            .where(ci.c.contact_id.in_(list(contacts)))
            .order_by(ci.c.id)
        )
        for row in rows:
            out[row.contact_id].append(shown(Identity(row.kind, row.value)))
    return out


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _text(raw: bytes) -> dict[str, str]:
    try:
        return {"raw": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"raw_base64": base64.b64encode(raw).decode("ascii")}


# Which running instance decided or sent a row (issue 19): the daemon's bookkeeping, a
# process id that means nothing once it has stopped.
_INTERNAL = ("ticket_id", "owner")


def _message(row: dict[str, Any], cut: datetime | None, bodies: bool) -> dict[str, Any]:
    raw: bytes = row.pop("raw")
    out = _plain({k: v for k, v in row.items() if k not in _INTERNAL})
    out["size"] = len(raw)
    out["body_removed"] = not raw and cut is not None and row["received_at"] < cut
    if bodies:
        out |= _text(raw)
    return out


def _reply(row: dict[str, Any], bodies: bool) -> dict[str, Any]:
    message: bytes = row.pop("message")
    out = _plain({k: v for k, v in row.items() if k not in (*_INTERNAL, "inbound_id")})
    out["inbound_id"] = row["inbound_id"]
    out["size"] = len(message)
    if bodies:
        out |= _text(message)
    return out


def _event(row: dict[str, Any], bodies: bool) -> dict[str, Any]:
    out = _plain({k: v for k, v in row.items() if k != "ticket_id"})
    if not bodies and is_text_event(row["kind"]):
        out.pop("detail")
    return out


def _survey(row: dict[str, Any], bodies: bool) -> dict[str, Any]:
    out = _plain({k: v for k, v in row.items() if k != "ticket_id"})
    if not bodies:
        out.pop("comment")
    return out


def _csv_row(ticket: dict[str, Any]) -> dict[str, Any]:
    survey = ticket["survey"] or {}
    return {
        **ticket,
        "messages": len(ticket["messages"]),
        "replies": len(ticket["replies"]),
        "events": len(ticket["events"]),
        "survey_state": survey.get("state"),
        "survey_rating": survey.get("rating"),
        "survey_nps": survey.get("nps"),
        "survey_comment": survey.get("comment"),
        "survey_answered_at": survey.get("answered_at"),
        "contact_identities": " ".join((ticket["contact"] or {}).get("identities", [])),
    }
