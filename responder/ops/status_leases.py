"""Leases for `responder status` (issue 19): which instance holds each intake and the timers,
for how much longer, and which instances are running."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from responder.core.leases import PRESENCE, expires_in, held_by
from responder.storage.leases import leases


def read_leases(conn: Connection, now: datetime) -> dict[str, Any]:
    """{leases: [{name, holder, info, left}], instances: [{id, info, left}]}; left in
    seconds (negative: run out), holder None when released or run out."""
    held: list[dict[str, Any]] = []
    instances: list[dict[str, Any]] = []
    for lease in leases(conn):
        holder = held_by(lease, now)
        left = round(expires_in(lease, now).total_seconds())
        if lease.name.startswith(PRESENCE):
            if holder is not None:
                instances.append({"id": holder, "info": lease.info, "left": left})
            continue
        info = lease.info if holder is not None else None
        held.append({"name": lease.name, "holder": holder, "info": info, "left": left})
    return {"leases": held, "instances": instances}


def lease_lines(found: dict[str, Any]) -> list[str]:
    """The Leases section: one line a lease, then the instances running."""
    if not found["leases"] and not found["instances"]:
        return []
    width = max((len(lease["name"]) for lease in found["leases"]), default=0)
    lines = ["", "Leases (who runs each intake and the timers)"]
    for lease in found["leases"]:
        if lease["holder"] is None:
            state = "free: the next instance to renew takes it"
        else:
            state = f"held by {lease['holder']} ({lease['info']}), {lease['left']} s left"
        lines.append(f"  {lease['name']:<{width}}  {state}")
    running = found["instances"]
    lines.append(f"  instances running: {len(running)}")
    lines += [f"    {i['id']} ({i['info']})" for i in running]
    return lines
