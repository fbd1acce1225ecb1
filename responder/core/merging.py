"""/merge in the staff group, pure (issue 18 item 4): the newer of two tickets of one
customer is a duplicate and joins the older, which keeps one history, one SLA clock counted
from the earliest message, and one survey at the end."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from responder.core.channel import ChannelProfile
from responder.core.decisions import StaffCommand
from responder.core.outcome import Outcome
from responder.core.relay import to_staff
from responder.core.view import TicketInfo, View
from responder.domain.message import Message
from responder.domain.records import MERGED, MERGED_FROM, MERGED_INTO, NewEvent, TicketMerge

# What staff read in the group when a merge cannot be done: (desk word, its values).
Refusal = tuple[str, dict[str, str]]


def refusal(first: TicketInfo, second: TicketInfo, view: View) -> Refusal | None:
    """Why these two tickets cannot be merged, or None: the same ticket, one already
    merged, or two customers nobody has said are one person (/link first)."""
    if first.ref == second.ref:
        return "merge_same", {"ref": first.ref}
    for info in (first, second):
        if info.merged_into:
            return "merge_already", {"ref": info.ref, "into": info.merged_into}
    same = (first.channel, first.customer) == (second.channel, second.customer)
    a, b = view.histories.get(f"#{first.ref}"), view.histories.get(f"#{second.ref}")
    if not same and (a is None or b is None or a.contact != b.contact):
        return "merge_link_first", {"ref": first.ref, "other": second.ref}
    return None


def ordered(first: TicketInfo, second: TicketInfo) -> tuple[TicketInfo, TicketInfo]:
    """(target, duplicate): the older ticket is kept; the newer is the duplicate."""
    never = datetime.max.replace(tzinfo=UTC)
    if (second.created_at or never) < (first.created_at or never):
        return second, first
    return first, second


def planned(target: TicketInfo, duplicate: TicketInfo, actor: str) -> TicketMerge:
    """The merge to record: an event on each ticket, and on the target the duplicate's first
    message (its SLA clock counts from it if nobody answered it); an open duplicate reopens a
    resolved target, as the customer still waits."""
    reopen = duplicate.status == "open" and target.status != "open"
    on_target = [
        NewEvent(MERGED_FROM, actor, f"#{duplicate.ref}", duplicate.created_at),
        NewEvent(MERGED, actor, f"#{duplicate.ref}"),
    ]
    if reopen:
        on_target.append(NewEvent("reopened", actor, f"#{duplicate.ref} merged"))
    return TicketMerge(
        duplicate.ref,
        target.ref,
        reopen,
        (NewEvent(MERGED_INTO, actor, f"#{target.ref}"),),
        tuple(on_target),
    )


def merge_outcome(
    base: Outcome,
    msg: Message,
    profile: ChannelProfile,
    decision: StaffCommand,
    view: View,
    now: datetime,
) -> Outcome:
    """The merge and its line in the group ("#DUP merged into #OLD (n messages)"), or the
    reason it was not done."""
    desk = profile.wire.desk
    assert desk is not None
    first, second = view.tickets[decision.ref], view.tickets[decision.text]
    refused = refusal(first, second, view)
    if refused is not None:
        said = desk.say(profile.language, refused[0], **refused[1])
        return dataclasses.replace(base, notices=(to_staff(profile, said, msg, now),))
    target, duplicate = ordered(first, second)
    merge = planned(target, duplicate, msg.sender.actor)
    count = view.messages.get(duplicate.ref, 0)
    said = desk.say(profile.language, "merged", ref=duplicate.ref, into=target.ref, n=str(count))
    _seen(view, merge, count)
    return dataclasses.replace(
        base,
        decision=StaffCommand(target.ref, decision.command, duplicate.ref),
        notices=(to_staff(profile, said, msg, now),),
        merge=merge,
    )


def _seen(view: View, merge: TicketMerge, count: int) -> None:
    """The rest of the batch sees the merge: the duplicate's posts answer the target."""
    dup, target = merge.duplicate, merge.target
    if merge.reopen:
        view.status(target, "open")
    view.status(dup, MERGED)
    view.tickets[dup] = dataclasses.replace(view.tickets[dup], merged_into=target)
    view.messages[target] = view.messages.get(target, 0) + count
    for post, ref in list(view.ref_by_post.items()):
        if ref == dup:
            view.ref_by_post[post] = target
    for topic, ref in list(view.ref_by_topic.items()):
        if ref == dup:
            view.ref_by_topic[topic] = target
