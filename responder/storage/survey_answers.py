"""Reading a survey as its answers need it, and recording answers and low-rating notices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update

from responder.domain.csat import SurveyAnswer, SurveyInfo
from responder.storage import schema

COMMENT_CHARS = 2000


def load(
    conn: Connection,
    *,
    ids: Iterable[int] = (),
    refs: Iterable[str] = (),
    posts: Iterable[str] = (),
    channel: str = "",
) -> dict[int, SurveyInfo]:
    """Surveys by id, by their tickets' refs, or by the Telegram message they went out as
    (in `channel`); only those sent (answerable)."""
    s, t, r = schema.surveys, schema.tickets, schema.replies
    ids, refs, posts = list(ids), list(refs), list(posts)
    if not ids and not refs and not posts:
        return {}
    query = (
        select(
            s,
            t.c.ref,
            t.c.language,
            t.c.customer_name,
            t.c.subject,
            r.c.external_id.label("post"),
        )
        .join(t, t.c.id == s.c.ticket_id)
        .outerjoin(r, r.c.id == s.c.reply_id)
        .where(s.c.state.in_(("sent", "answered")))
    )
    if ids:
        query = query.where(s.c.id.in_(ids))
    elif refs:
        query = query.where(t.c.ref.in_(refs))
    else:
        query = query.where(r.c.external_id.in_(posts), r.c.channel == channel)
    out = {}
    for row in conn.execute(query):
        post = str(row.post or "")
        out[row.id] = SurveyInfo(
            id=row.id,
            ticket_id=row.ticket_id,
            ref=row.ref,
            channel=row.channel,
            recipient=row.recipient,
            state=row.state,
            sent_at=row.sent_at,
            rating=row.rating,
            nps=row.nps,
            comment=row.comment or "",
            via=row.answered_via,
            notified=row.notified_at is not None,
            language=row.language,
            customer_name=row.customer_name or "",
            subject=row.subject or "",
            post=int(post) if post.isdigit() else None,
        )
    return out


def record(
    conn: Connection, answers: Sequence[SurveyAnswer], now: datetime
) -> list[tuple[int, str]]:
    """Store answers in order (a later one corrects an earlier one); returns (survey id,
    channel) of those that changed. Only a sent survey can be answered: a forged or stale id
    changes nothing."""
    s = schema.surveys
    changed = []
    for answer in answers:
        values: dict[str, object] = {
            "state": "answered",
            "answered_at": now,
            "answered_via": answer.via,
            "updated_at": now,
        }
        if answer.rating is not None:
            values["rating"] = answer.rating
        if answer.nps is not None:
            values["nps"] = answer.nps
        if answer.comment:
            values["comment"] = answer.comment[:COMMENT_CHARS]
            # Staff told of a low rating before the comment came hear of it again, with it.
            values["notified_at"] = None
        result = conn.execute(
            update(s)
            .where(s.c.id == answer.survey_id, s.c.state.in_(("sent", "answered")))
            .values(values)
            .returning(s.c.channel)
        )
        changed += [(answer.survey_id, row.channel) for row in result]
    return changed


def unnotified_low(
    conn: Connection, low: int, ticket_ids: Iterable[int] | None = None
) -> list[int]:
    """Answered surveys rated `low` or less whose staff have not been told yet."""
    s = schema.surveys
    query = select(s.c.id).where(
        s.c.state == "answered",
        s.c.rating.is_not(None),
        s.c.rating <= low,
        s.c.notified_at.is_(None),
    )
    if ticket_ids is not None:
        query = query.where(s.c.ticket_id.in_(list(ticket_ids)))
    return [row.id for row in conn.execute(query.order_by(s.c.id))]


def mark_notified(conn: Connection, survey_ids: Sequence[int], now: datetime) -> set[int]:
    """Claim the surveys for one notice each; returns those not claimed before (idempotent)."""
    s = schema.surveys
    if not survey_ids:
        return set()
    rows = conn.execute(
        update(s)
        .where(s.c.id.in_(list(survey_ids)), s.c.notified_at.is_(None))
        .values(notified_at=now, updated_at=now)
        .returning(s.c.id)
    )
    return {row.id for row in rows}
