"""The staff group's contact commands read, pure (issue 18): /link REF REF, /merge REF REF,
/history REF."""

from __future__ import annotations

from responder.core.decisions import Decision, StaffCommand, Suppress
from responder.core.view import View
from responder.domain.message import Message

CONTACT_COMMANDS = {"/link": "link", "/merge": "merge", "/history": "history"}


def contact_command(msg: Message, view: View, ref: str | None, command: str) -> Decision:
    """/link and /merge name two tickets, or one when they answer another ticket's post;
    /history one, or the ticket it answers."""
    named = [w.lstrip("#").upper() for w in msg.signals.args.split()[:2]]
    if command in ("link", "merge"):
        refs = named if len(named) == 2 else []
        if ref is not None and len(named) == 1:
            refs = [ref, named[0]]
        if len(refs) != 2 or any(r not in view.tickets for r in refs):
            return Suppress(f"staff-{command}-usage", f"/{command} names two known tickets")
        return StaffCommand(refs[0], command, refs[1])
    wanted = named[0] if named else ref
    if wanted is None or wanted not in view.tickets:
        return Suppress("staff-no-ticket", "/history names no known ticket")
    return StaffCommand(wanted, "history")
