"""Deciding what staff wrote, pure: in the staff group, or from their own mail client."""

from __future__ import annotations

import re
from collections.abc import Collection

from responder.core import guards
from responder.core.contact_commands import CONTACT_COMMANDS, contact_command
from responder.core.decisions import Decision, StaffCommand, StaffReply, Suppress
from responder.core.forget import is_forgotten
from responder.core.guards import GuardContext
from responder.core.view import View
from responder.domain.message import Message

STAFF_COMMANDS = {"/close": "close", "/reopen": "reopen", "/note": "note"}
# How much of a staff reply a ticket event keeps: enough to see whether it asks something.
EVENT_TEXT = 500
# Where a mail client starts quoting what is being answered.
_QUOTE_HEAD = re.compile(
    r"^(On .{0,200} wrote:|Pada .{0,200} menulis:|-{2,} ?(Original Message|Pesan Asli) ?-{2,})",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^_{10,}$")
_OUTLOOK_FROM = re.compile(r"^\*?(From|Dari|Von|De)\*?:\s", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\*?(Sent|Date|Dikirim|Tanggal|Gesendet|Envoyé)\*?:\s", re.IGNORECASE)


def in_staff_group(msg: Message, view: View) -> Decision:
    """A message in the staff group: an answer to a customer, a command, or chatter."""
    signals = msg.signals
    # The channel asked the app; an anonymous administrator (sent as the group, by
    # GroupAnonymousBot) is staff, any other bot is not.
    if not signals.staff:
        if signals.bot:
            return Suppress("bot", "sent by a bot in the staff group")
        return Suppress("not-staff", "only members of the staff group may answer or use commands")
    ref = _ticket_of(msg, view)
    if (contact := CONTACT_COMMANDS.get(signals.command or "")) is not None:
        return contact_command(msg, view, ref, contact)  # issue 18
    command = STAFF_COMMANDS.get(signals.command or "")
    if command is not None:
        named = signals.args.split(maxsplit=1)
        if named and command != "note":
            wanted = named[0].lstrip("#").upper()
            if wanted not in view.tickets:
                # A typo must not close the ticket being replied to instead.
                return Suppress("staff-no-ticket", f"/{command} names no known ticket")
            ref = view.current(wanted)  # a merged duplicate is its ticket now
        if ref is None:
            return Suppress("staff-no-ticket", f"/{command} outside a ticket's thread")
        if command == "note" and not signals.args:
            return Suppress("staff-empty-note", "/note without text")
        return StaffCommand(ref, command, signals.args if command == "note" else "")
    if signals.command is not None:
        return Suppress("staff-command", f"{signals.command} is not a command responder knows")
    if ref is None:
        return Suppress("staff-chatter", "not an answer to a customer's message")
    if signals.service:
        return Suppress("service-message", "a service message, nobody wrote anything")
    if is_forgotten(view.tickets[ref].customer):
        # Issue 18: erased on request, so there is nobody to send the answer to.
        return Suppress("staff-forgotten", f"#{ref}'s customer was forgotten on request")
    return StaffReply(ref, view.tickets[ref].customer)


def _ticket_of(msg: Message, view: View) -> str | None:
    """A reply to a relayed post names its ticket; in a forum, so does the topic."""
    thread = msg.thread
    if thread.reply_to is not None and thread.reply_to in view.ref_by_post:
        return view.ref_by_post[thread.reply_to]
    if thread.topic is not None:
        return view.ref_by_topic.get(thread.topic)
    return None


def answered_by_staff(
    msg: Message, staff: Collection[str], guard: GuardContext, view: View
) -> str | None:
    """The ticket a staff member's own message answers, if it is one: from a staff address
    or our own, not one of our automatic replies, not machine mail, and in a ticket's thread
    (seen in the Sent folder, or Cc/Bcc to us)."""
    # Config addresses and own_addresses are lowercase already.
    sender = (msg.sender.address or "").lower()
    if sender not in staff and sender not in guard.own_addresses:
        return None
    if msg.thread.message_id in view.ref_by_message_id:
        return None
    verdict = guards.check_message(msg, guard)
    if verdict is not None and verdict.rule != "own-address":
        return None  # an out-of-office from a staff member is not an answer
    for message_id in msg.thread.parents:
        if message_id in view.ref_by_message_id:
            return view.ref_by_message_id[message_id]
    return next((view.current(r) for r in msg.thread.refs if r in view.existing_refs), None)


def new_text(text: str) -> str | None:
    """What a staff member wrote, without the message they quote in answering it."""
    return unquoted(text)[:EVENT_TEXT] or None


def unquoted(text: str) -> str:
    """A mail's own words, whole: the quoted message it answers left out. Written above
    the quote (top posting) or, when nothing is, below it (RFC 3676 section 4.5's ">"
    quoting, or a bottom-posted answer under "On ... wrote:")."""
    lines = text.splitlines()
    head = _quote_start(lines)
    above = "\n".join(x for x in lines[:head] if not x.lstrip().startswith(">")).strip()
    if above or head == len(lines) or _OUTLOOK_RULE.match(lines[head].strip()):
        return above  # Outlook quotes the whole mail unmarked: nothing below is theirs
    return "\n".join(x for x in lines[head + 1 :] if not x.lstrip().startswith(">")).strip()


def _quote_start(lines: list[str]) -> int:
    """Where the quoted message begins: a client's "On ... wrote:" line, or Outlook's rule
    of underscores or its "From:" block (a "Sent:" or "Date:" line follows within four)."""
    for n, line in enumerate(lines):
        line = line.strip()
        if _QUOTE_HEAD.match(line) or _OUTLOOK_RULE.match(line):
            return n
        if _OUTLOOK_FROM.match(line) and any(
            _OUTLOOK_SENT.match(x.strip()) for x in lines[n + 1 : n + 5]
        ):
            return n
    return len(lines)
