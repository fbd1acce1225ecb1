"""Replies the platform reported it could not deliver (WhatsApp's failed status), for
`responder status`: how many, the latest with their error code, and what it means."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from responder.storage import delivery
from responder.wire.whatsapp.failures import why

LATEST = 3  # failures shown by name; the count says how many there are in all


def read_failed(conn: Connection, channel: str, zone: ZoneInfo) -> dict[str, Any] | None:
    """{count, latest: [{reply, kind, recipient, at, code, error, why}]}, or None if none."""
    count, rows = delivery.failed(conn, channel, LATEST)
    if not count:
        return None
    latest = []
    for row in rows:
        error = row["delivery_error"] or ""
        head = error.split(" ", 1)[0]
        code = int(head) if head.isascii() and head.isdigit() else None
        at: datetime | None = row["delivery_at"]
        latest.append(
            {
                "reply": row["id"],
                "kind": row["kind"],
                "recipient": row["recipient"],
                "at": None if at is None else at.astimezone(zone).isoformat(),
                "code": code,
                "error": error,
                "why": why(code),
            }
        )
    return {"count": count, "latest": latest}


def failed_lines(failed: dict[str, Any] | None) -> list[str]:
    """The channel's lines in the text status: nothing when every report was good."""
    if failed is None:
        return []
    count, shown = failed["count"], len(failed["latest"])
    lines = [f"  not delivered: {count} repl{'y' if count == 1 else 'ies'}"]
    if count > shown:
        lines[0] += f", the latest {shown}:"
    for item in failed["latest"]:
        at = f"{datetime.fromisoformat(item['at']):%Y-%m-%d %H:%M}" if item["at"] else "unknown"
        lines.append(
            f"    reply {item['reply']} ({item['kind']}) to {item['recipient']} at {at}: "
            f"error {item['error']}"
        )
        if item["why"]:
            lines.append(f"      why: {item['why']}")
    return lines
