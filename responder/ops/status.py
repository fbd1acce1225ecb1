"""`responder status`: what the daemon's database says now, read-only, beside the daemon."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, select

from responder.domain.closing import CLOSE_CLOCK
from responder.ops.status_delivery import failed_lines, read_failed
from responder.ops.status_leases import lease_lines, read_leases
from responder.ops.status_surveys import read_skips, skip_lines
from responder.services.dispatch_retry import REPORT_AFTER
from responder.storage import schema
from responder.storage.channel_health import STALE_AFTER, read_health

RESPONSES = ("staff_reply", "answered")  # events that answer the customer


def read_status(
    conn: Connection, now: datetime, zone: ZoneInfo, channels: Iterable[str]
) -> dict[str, Any]:
    """Everything `responder status` shows, JSON-ready (times ISO 8601 in zone, ages in s)."""
    t, r, tm, s, i = (
        schema.tickets,
        schema.replies,
        schema.timers,
        schema.surveys,
        schema.inbound,
    )
    names = set(channels)
    open_by = _counts(conn, select(t.c.channel, func.count()).where(t.c.status == "open"))
    replies: dict[str, Counter[str]] = defaultdict(Counter)
    # Grouped by its label: written out twice, each "> 0" would be a parameter of its own,
    # which PostgreSQL takes for two different expressions.
    retried = (r.c.attempts > 0).label("retried")
    for row in conn.execute(
        select(r.c.channel, r.c.state, retried, func.count())
        .where(r.c.state.in_(("pending", "parked", "expired")))
        .group_by(r.c.channel, r.c.state, retried)
    ):
        state = row[1] if row[1] != "pending" else "retrying" if row[2] else "pending"
        replies[row[0]][state] += int(row[3])
    last_in = {
        row[0]: row[1]
        for row in conn.execute(
            select(i.c.channel, func.max(i.c.received_at)).group_by(i.c.channel)
        )
    }
    health = {name: row for name, row in read_health(conn, now).items() if name in names}
    names |= set(open_by) | set(replies) | set(last_in)
    today = datetime.combine(now.astimezone(zone).date(), datetime.min.time(), zone)
    tomorrow = today + timedelta(days=1)
    pending = and_(tm.c.state == "pending", tm.c.clock != CLOSE_CLOCK)  # auto-close: its own
    planned = s.c.state == "planned"

    def count(*where: Any) -> int:
        return int(conn.execute(select(func.count()).where(*where)).scalar() or 0)

    return {
        "now": _when(now, now, zone),
        "open_tickets": sum(open_by.values()),
        "oldest_waiting": _oldest_waiting(conn, now, zone),
        "undecided": _undecided(conn, now, zone),
        "replies": {k: sum(c[k] for c in replies.values()) for k in _REPLY_STATES},
        # Acknowledgements not sent because they would have come too late (issue 13).
        "expired": sum(c["expired"] for c in replies.values()),
        "sla_timers": {
            "due_next_hour": count(
                pending, tm.c.due_at >= now, tm.c.due_at < now + timedelta(hours=1)
            ),
            "overdue": count(pending, tm.c.due_at < now),
        },
        "surveys": {
            "planned": count(planned),
            "planned_today": count(planned, s.c.due_at >= today, s.c.due_at < tomorrow),
            "sent_today": count(s.c.sent_at >= today, s.c.sent_at < tomorrow),
            # Not sent, and why: the WhatsApp window closed with no template (issue 16)...
            "skipped": read_skips(conn, today, tomorrow, zone),
        },
        "channels": {
            name: {
                "open_tickets": open_by.get(name, 0),
                "replies": {k: replies[name][k] for k in _REPLY_STATES},
                "expired": replies[name]["expired"],
                "last_inbound": _when(last_in.get(name), now, zone),
                "last_parked_error": _last_error(conn, name, now, zone, parked=True),
                "last_error": _last_error(conn, name, now, zone, parked=False),
                "health": _health(health.get(name), now, zone),
                # What the platform reported it could not deliver (WhatsApp, issue 16).
                "failed_deliveries": read_failed(conn, name, zone),
            }
            for name in sorted(names)
        },
        # Several instances on one database (issue 19): who holds each intake and the timers.
        "leases": read_leases(conn, now),
    }


_REPLY_STATES = ("pending", "retrying", "parked")


def _counts(conn: Connection, query: Any) -> dict[str, int]:
    return {row[0]: int(row[1]) for row in conn.execute(query.group_by(schema.tickets.c.channel))}


def _when(at: datetime | None, now: datetime, zone: ZoneInfo) -> dict[str, Any] | None:
    if at is None:
        return None
    return {"at": at.astimezone(zone).isoformat(), "age_seconds": int((now - at).total_seconds())}


def _health(row: dict[str, Any] | None, now: datetime, zone: ZoneInfo) -> dict[str, Any] | None:
    """The channel's state as the daemon last recorded it; `current` is false when the
    daemon has stopped or has not touched it for STALE_AFTER (not running, or stuck)."""
    if row is None:
        return None
    return {
        "state": row["state"],
        "since": _when(row["since"], now, zone),
        "current": row["state"] != "stopped" and now - row["updated_at"] <= STALE_AFTER,
        "last_seen": _when(row["updated_at"], now, zone),
        "problem": row["problem"],
        "remedy": row["remedy"],
        "key": row["key"],
        # Several instances on one database (issue 19): whose view this is, of how many.
        "instance": row["instance"] or None,
        "instances": row["instances"],
    }


def _oldest_waiting(conn: Connection, now: datetime, zone: ZoneInfo) -> dict[str, Any] | None:
    """The open ticket whose customer has waited longest for an answer, and since when."""
    t, e = schema.tickets, schema.ticket_events
    tickets = {
        row.id: row
        for row in conn.execute(
            select(t.c.id, t.c.ref, t.c.channel, t.c.created_at).where(t.c.status == "open")
        )
    }
    waiting: dict[int, datetime | None] = {tid: row.created_at for tid, row in tickets.items()}
    events = conn.execute(
        select(e.c.ticket_id, e.c.kind, e.c.created_at)
        .join(t, t.c.id == e.c.ticket_id)
        .where(t.c.status == "open", e.c.kind.in_((*RESPONSES, "customer_reply")))
        .order_by(e.c.created_at, e.c.id)
    )
    for ticket_id, kind, at in events:
        if kind in RESPONSES:
            waiting[ticket_id] = None  # answered: the customer waits no more
        elif waiting[ticket_id] is None:
            waiting[ticket_id] = at  # wrote again after the answer: waiting from here
    found = [(since, tid) for tid, since in waiting.items() if since is not None]
    if not found:
        return None
    since, tid = min(found)
    row = tickets[tid]
    return {"ref": row.ref, "channel": row.channel, "since": _when(since, now, zone)}


def _undecided(conn: Connection, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """Messages recorded but not yet decided; those that failed repeatedly, and why last."""
    i = schema.inbound
    new = i.c.state == "new"
    count, oldest = conn.execute(select(func.count(), func.min(i.c.recorded_at)).where(new)).one()
    failing = conn.execute(
        select(i.c.id, i.c.channel, i.c.attempts, i.c.last_error)
        .where(new, i.c.attempts >= REPORT_AFTER)
        .order_by(i.c.attempts.desc(), i.c.id)
    ).all()
    return {
        "count": int(count or 0),
        "oldest": _when(oldest, now, zone),
        "failing": len(failing),
        "worst": (
            {
                "inbound": failing[0].id,
                "channel": failing[0].channel,
                "attempts": failing[0].attempts,
                "error": failing[0].last_error,
            }
            if failing
            else None
        ),
    }


def _last_error(
    conn: Connection, channel: str, now: datetime, zone: ZoneInfo, *, parked: bool
) -> dict[str, Any] | None:
    r = schema.replies
    where = [r.c.channel == channel, r.c.last_error.is_not(None)]
    if parked:
        where.append(r.c.state == "parked")
    row = conn.execute(
        select(r.c.id, r.c.kind, r.c.state, r.c.created_at, r.c.last_error)
        .where(*where)
        .order_by(r.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {
        "reply": row.id,
        "kind": row.kind,
        "state": row.state,
        "created": _when(row.created_at, now, zone),
        "error": row.last_error,
    }


def age(seconds: int) -> str:
    """3d 4h, 2h 5m, 12m, 40s: the two largest units."""
    parts: list[str] = []
    rest = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size or (unit == "s" and not parts):
            parts.append(f"{rest // size}{unit}")
            rest %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def _at(when: dict[str, Any] | None) -> str:
    if when is None:
        return "never"
    local = datetime.fromisoformat(when["at"])
    return f"{local:%Y-%m-%d %H:%M} ({age(when['age_seconds'])} ago)"


def _replies(counts: dict[str, int], expired: int = 0) -> str:
    line = ", ".join(f"{counts[k]} {k}" for k in _REPLY_STATES)
    return line + (f", {expired} expired (too old to send)" if expired else "")


def _health_lines(health: dict[str, Any] | None) -> list[str]:
    if health is None:
        return ["  state:         unknown (the daemon has not run with this channel yet)"]
    state = health["state"]
    if state == "stopped":
        lines = [f"  state:         stopped at {_at(health['since'])}: the daemon is not running"]
    elif not health["current"]:
        lines = [
            f"  state:         {state} as last seen at {_at(health['last_seen'])}: the daemon "
            "does not seem to be running"
        ]
    else:
        shown = "FAILED" if state == "failed" else state
        lines = [f"  state:         {shown} since {_at(health['since'])}"]
        if health["instances"] > 1:
            lines[0] += f" (instance {health['instance']}, of {health['instances']} running)"
    if health["problem"]:
        label = "problem:" if health["current"] and state != "connected" else "last problem:"
        lines.append(f"  {label:<14} {health['problem']}")
        if health["remedy"]:
            where = f" ({health['key']})" if health["key"] else ""
            lines.append(f"  what to do:    {health['remedy']}{where}")
    return lines


def _undecided_line(undecided: dict[str, Any]) -> str:
    if not undecided["count"]:
        return "none (every message received has been decided)"
    line = f"{undecided['count']} message(s), oldest since {_at(undecided['oldest'])}"
    worst = undecided["worst"]
    if worst is not None:
        line += (
            f"; {undecided['failing']} failing, e.g. inbound {worst['inbound']} on "
            f"{worst['channel']} after {worst['attempts']} tries: {worst['error']}"
        )
    return line


def describe(status: dict[str, Any], source: str) -> str:
    """The status as plain text for a person."""
    oldest = status["oldest_waiting"]
    timers, surveys = status["sla_timers"], status["surveys"]
    lines = [
        f"responder status of {source}, at {_at(status['now']).split(' (')[0]}",
        f"Open tickets:    {status['open_tickets']}",
        "Oldest waiting:  "
        + (
            f"{oldest['ref']} on {oldest['channel']}, since {_at(oldest['since'])}"
            if oldest
            else "none (every open ticket has an answer)"
        ),
        f"Undecided:       {_undecided_line(status['undecided'])}",
        f"Replies:         {_replies(status['replies'], status['expired'])}",
        f"SLA timers:      {timers['due_next_hour']} due in the next hour, "
        f"{timers['overdue']} overdue",
        f"Surveys:         {surveys['planned_today']} planned today "
        f"({surveys['planned']} planned in all), {surveys['sent_today']} sent today, "
        f"{surveys['skipped']['today']} not sent today",
        *skip_lines(surveys["skipped"]),
    ]
    for name, channel in status["channels"].items():
        lines += ["", f"{name}", *_health_lines(channel.get("health"))]
        lines += [
            f"  open tickets:  {channel['open_tickets']}",
            f"  last inbound:  {_at(channel['last_inbound'])}",
            f"  replies:       {_replies(channel['replies'], channel['expired'])}",
        ]
        for label, key in (("last parked", "last_parked_error"), ("last error", "last_error")):
            error = channel[key]
            if error is not None and (key == "last_parked_error" or error["state"] != "parked"):
                lines.append(
                    f"  {label + ':':<14} reply {error['reply']} ({error['kind']}, "
                    f"{error['state']}, created {_at(error['created'])}): {error['error']}"
                )
        lines += failed_lines(channel.get("failed_deliveries"))
    lines += lease_lines(status["leases"])
    return "\n".join(lines) + "\n"
