"""A contact's history as staff see it with a new ticket and on /history (issue 18), pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from responder.core.channel import Desk
from responder.core.contacts import Identity
from responder.core.contacts import shown as typed
from responder.core.rules import is_vip

HISTORY_TICKETS = 5  # shown by /history; the history line names only the last one


@dataclass(frozen=True)
class PastTicket:
    ref: str
    channel: str  # its name; staff read its kind ("by email"), from the settings
    subject: str
    created_at: datetime
    status: str
    rating: int | None  # the survey's 1-5, if answered


@dataclass(frozen=True)
class History:
    """A contact as the database knew it when the batch was loaded: its tickets, newest
    first (at most HISTORY_TICKETS + 1), how many it has in all, and its identities."""

    contact: int
    count: int
    tickets: tuple[PastTicket, ...]
    identities: tuple[Identity, ...] = ()


@dataclass(frozen=True)
class Shown:
    """How staff read a history: each channel's kind ("by email") by its name, and dates in
    the business's zone (a ticket opened at 23:30 WIB is that day's, not the day before)."""

    kinds: Mapping[str, str]
    zone: tzinfo

    def day(self, at: datetime) -> str:
        return f"{at.astimezone(self.zone):%Y-%m-%d}"


def history_line(
    desk: Desk,
    language: str,
    history: History | None,
    vip: tuple[str, ...],
    ref: str,
    shown: Shown,
    customer: str = "",
) -> str:
    """`🗂 2 earlier conversations · last: "Late parcel" 2026-11-02, resolved, rated 4/5 ·
    open too: #DEF567 by email · VIP`, as markup; empty when there is nothing to say."""
    earlier = [t for t in history.tickets if t.ref != ref] if history else []
    count = (history.count - (len(history.tickets) - len(earlier))) if history else 0
    parts = []
    if earlier:
        last = earlier[0]
        parts.append(desk.say(language, "history_count", n=str(count)))
        parts.append(
            desk.say(
                language,
                "history_last",
                subject=_short(last.subject),
                date=shown.day(last.created_at),
                status=_status(desk, language, last.status),
                via=_via(desk, language, last, shown.kinds),
            )
            + (desk.say(language, "history_rated", n=str(last.rating)) if last.rating else "")
        )
        opened = [t for t in earlier if t.status == "open"]
        if opened:
            also = ", ".join(
                f"#{t.ref} ({_via(desk, language, t, shown.kinds)})" for t in opened[:3]
            )
            parts.append(desk.say(language, "history_open", tickets=also))
    known = [i.value for i in history.identities] if history else []
    if any(is_vip(vip, value) for value in [customer, *known]):
        parts.append("VIP")
    if not parts:
        return ""
    return "🗂 " + " · ".join(parts)


def history_answer(
    desk: Desk,
    language: str,
    ref: str,
    history: History | None,
    vip: tuple[str, ...],
    shown: Shown,
) -> str:
    """What /history REF answers: the contact's identities and last tickets, one a line."""
    if history is None or not history.tickets:
        return desk.say(language, "history_none", ref=ref)
    who = ", ".join(typed(i) for i in history.identities)
    lines = [desk.say(language, "history_head", ref=ref, n=str(history.count), who=who)]
    if any(is_vip(vip, i.value) for i in history.identities):
        lines[0] += " · VIP"
    for t in history.tickets[:HISTORY_TICKETS]:
        status = _status(desk, language, t.status)
        rated = desk.say(language, "history_rated", n=str(t.rating)) if t.rating else ""
        lines.append(
            desk.say(
                language,
                "history_row",
                ref=t.ref,
                date=shown.day(t.created_at),
                via=_via(desk, language, t, shown.kinds),
                subject=_short(t.subject),
                status=status,
            )
            + rated
        )
    return "\n".join(lines)


def _via(desk: Desk, language: str, ticket: PastTicket, kinds: Mapping[str, str]) -> str:
    kind = kinds.get(ticket.channel)
    return desk.word(language, f"via_{kind}") if kind else ticket.channel


def _status(desk: Desk, language: str, status: str) -> str:
    return (
        desk.word(language, f"status_{status}")
        if status in ("open", "resolved", "merged")
        else status
    )


def _short(subject: str) -> str:
    subject = " ".join(subject.split())
    return subject if len(subject) <= 60 else subject[:59] + "…"


def history_context(
    history: History | None, ref: str, vip: tuple[str, ...], customer: str, shown: Shown
) -> dict[str, Any]:
    """`history` in the staff notification's template: earlier conversations, the last one,
    other open tickets (with their channel's name), VIP."""
    earlier = [t for t in history.tickets if t.ref != ref] if history else []
    count = (history.count - (len(history.tickets) - len(earlier))) if history else 0
    known = [i.value for i in history.identities] if history else []
    last = earlier[0] if earlier else None
    return {
        "earlier": count,
        "last": {
            "ref": last.ref,
            "subject": last.subject,
            "date": shown.day(last.created_at),
            "channel": last.channel,
            "kind": shown.kinds.get(last.channel, ""),
            "status": last.status,
            "rating": last.rating,
        }
        if last is not None
        else None,
        "open": [f"{t.ref} ({t.channel})" for t in earlier if t.status == "open"],
        "vip": any(is_vip(vip, value) for value in [customer, *known]),
    }
