"""/merge, pure (issue 18 item 4): what staff typed, which ticket is kept, what refuses a
merge, what it records, and the SLA clock of the ticket kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from responder.core.decisions import StaffCommand, Suppress
from responder.core.history import History
from responder.core.merging import ordered, planned, refusal
from responder.core.sla.clock import CalendarSpan, clock_state, marks_from_events
from responder.core.staff import in_staff_group
from responder.core.view import TicketInfo, View, lookup_keys
from responder.domain.message import Message, Sender, Signals, Thread
from responder.domain.records import NewEvent
from responder.domain.sla_policy import Clock

STAFF_CHAT, POST = -100999, 41


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 1, 7, hour, minute, tzinfo=UTC)


def info(
    ref: str,
    minute: int,
    customer: str = "budi@example.com",
    status: str = "open",
    merged_into: str | None = None,
) -> TicketInfo:
    return TicketInfo(
        ref,
        customer,
        status,
        "id",
        "Budi",
        "mail",
        created_at=at(10, minute),
        merged_into=merged_into,
    )


OLD, DUP = info("OLD234", 0), info("DUP567", 30)


def view(*tickets: TicketInfo, contacts: dict[str, int] | None = None) -> View:
    found = View(tickets={t.ref: t for t in tickets}, ref_by_post={POST: DUP.ref})
    found.histories = {f"#{r}": History(c, 1, ()) for r, c in (contacts or {}).items()}
    return found


def staff(text: str, reply_to: int | None = POST) -> Message:
    command, _, args = text.partition(" ")
    return Message(
        Sender("777", actor="Sari"),
        Thread(chat=STAFF_CHAT, post=50, reply_to=reply_to),
        text=text,
        signals=Signals(staff=True, command=command, args=args),
    )


USAGE = Suppress("staff-merge-usage", "/merge names two known tickets")


@pytest.mark.parametrize(
    "text, reply_to, decision",
    [
        ("/merge OLD234", POST, StaffCommand("DUP567", "merge", "OLD234")),
        ("/merge #old234", POST, StaffCommand("DUP567", "merge", "OLD234")),
        ("/merge OLD234 DUP567", None, StaffCommand("OLD234", "merge", "DUP567")),
        ("/merge OLD234 DUP567", POST, StaffCommand("OLD234", "merge", "DUP567")),
        ("/merge OLD234", None, USAGE),  # one ticket, and no post answered
        ("/merge", POST, USAGE),
        ("/merge ZZZ999", POST, USAGE),  # a typo merges nothing
        ("/merge OLD234 ZZZ999", None, USAGE),
    ],
)
def test_merge_names_two_tickets_or_one_in_answer_to_a_post(
    text: str, reply_to: int | None, decision: object
) -> None:
    assert in_staff_group(staff(text, reply_to), view(OLD, DUP)) == decision


def test_the_batch_reads_both_tickets_a_merge_names_and_counts_messages() -> None:
    keys = lookup_keys([staff("/merge OLD234 DUP567")], [], "bot", STAFF_CHAT)
    assert {"OLD234", "DUP567"} <= keys.refs and keys.merging
    assert not lookup_keys([staff("/close OLD234 DUP567")], [], "bot", STAFF_CHAT).merging


@pytest.mark.parametrize(
    "first, second, contacts, refused",
    [
        (OLD, DUP, {}, None),  # one customer on one channel
        (OLD, info("TG2345", 30, "5001"), {"OLD234": 1, "TG2345": 1}, None),  # linked
        (
            OLD,
            info("TG2345", 30, "5001"),
            {"OLD234": 1, "TG2345": 2},
            ("merge_link_first", {"ref": "OLD234", "other": "TG2345"}),
        ),
        (
            OLD,
            info("SAR234", 30, "sari@example.com"),
            {},
            ("merge_link_first", {"ref": "OLD234", "other": "SAR234"}),
        ),
        (OLD, OLD, {}, ("merge_same", {"ref": "OLD234"})),
        (
            OLD,
            info("DUP567", 30, status="merged", merged_into="AAA234"),
            {},
            ("merge_already", {"ref": "DUP567", "into": "AAA234"}),
        ),
    ],
)
def test_only_one_customers_tickets_merge_and_only_once(
    first: TicketInfo,
    second: TicketInfo,
    contacts: dict[str, int],
    refused: object,
) -> None:
    assert refusal(first, second, view(first, second, contacts=contacts)) == refused


def test_the_older_ticket_is_kept_whichever_staff_name_first() -> None:
    assert ordered(DUP, OLD) == (OLD, DUP) and ordered(OLD, DUP) == (OLD, DUP)


@pytest.mark.parametrize(
    "target_status, dup_status, reopens",
    [("resolved", "open", True), ("open", "open", False), ("resolved", "resolved", False)],
)
def test_an_open_duplicate_reopens_a_resolved_ticket(
    target_status: str, dup_status: str, reopens: bool
) -> None:
    merge = planned(
        info("OLD234", 0, status=target_status), info("DUP567", 30, status=dup_status), "Sari"
    )
    assert merge.reopen is reopens
    assert merge.on_duplicate == (NewEvent("merged_into", "Sari", "#OLD234"),)
    kinds = [(e.kind, e.detail, e.at) for e in merge.on_target]
    assert kinds[:2] == [("merged_from", "#DUP567", at(10, 30)), ("merged", "#DUP567", None)]
    assert (("reopened", "#DUP567 merged", None) in kinds) is reopens


FIRST: Clock = "first_response"


@pytest.mark.parametrize(
    "events, due",
    [
        # Answered at 10:10; the merged message of 10:30 was not: due an hour after it.
        ([("staff_reply", at(10, 10)), ("merged_from", at(10, 30))], at(11, 30)),
        # Nobody answered either: from the first message still.
        ([("merged_from", at(10, 30))], at(11, 0)),
        # The duplicate was answered before it was merged: nothing falls due.
        (
            [("staff_reply", at(10, 10)), ("merged_from", at(10, 30)), ("staff_reply", at(10, 35))],
            None,
        ),
        # A staff reply without the merge: the first response was given for good.
        ([("staff_reply", at(10, 10)), ("customer_reply", at(10, 30))], None),
    ],
)
def test_the_kept_tickets_first_response_counts_from_the_earliest_unanswered_message(
    events: list[tuple[str, datetime]], due: datetime | None
) -> None:
    marks = marks_from_events([(kind, when, None) for kind, when in events], "never")
    state = clock_state(FIRST, at(10), marks, at(10, 40), CalendarSpan())
    assert state.due(60, CalendarSpan()) == due


def test_a_merged_duplicates_clocks_stop() -> None:
    marks = marks_from_events([("merged_into", at(10, 40), "#OLD234")], "never")
    clocks: tuple[Clock, ...] = ("first_response", "resolution")
    for clock in clocks:
        state = clock_state(clock, at(10, 30), marks, at(11), CalendarSpan())
        assert state.stopped and not state.running
