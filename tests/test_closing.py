"""Auto-close and the reopen window, pure and table-driven (issue 18 item 5): the `tickets:`
section, when a ticket waits on the customer, when it closes in business or calendar time,
its timer row, and what deciding does with a message to a resolved ticket."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from responder.config.calendar import BusinessHoursConfig, build_calendar
from responder.config.rules import DEFAULT_RULES
from responder.config.tickets import close_policy
from responder.core.closing import (
    close_at,
    close_due,
    follows_up,
    reopens,
    replan_close,
    wait_words,
    waiting_since,
)
from responder.core.decide import Policy, decide
from responder.core.decisions import Acknowledge, FollowUp
from responder.core.view import TicketInfo, View
from responder.domain.calendar import BusinessCalendar
from responder.domain.closing import ClosePolicy, WaitSpan
from responder.domain.timers import NewTimer, TicketEvent, TimerChange, TimerRow
from responder.wire.email.message import parse as parse_mail
from tests.harness import JAKARTA, local
from tests.test_config_csat import base_dir, load, problems  # noqa: F401 (a fixture)
from tests.test_decide import GUARD, mail, refs

T0 = local(2030, 1, 7, 10, 0)  # a Monday


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ev(kind: str, hours: float, detail: str | None = None) -> TicketEvent:
    return (kind, at(hours), detail)


@pytest.mark.parametrize(
    "events, wait_on, since",
    [
        ([], "reply", None),
        ([ev("staff_reply", 1, "Sudah dikirim.")], "reply", at(1)),
        # By the SLA policy's wait_on: only a question makes the ticket wait.
        ([ev("staff_reply", 1, "Sudah dikirim.")], "question", None),
        ([ev("staff_reply", 1, "Nomornya berapa?")], "question", at(1)),
        # The customer wrote since: not waiting; staff asked again: waiting from then.
        ([ev("staff_reply", 1), ev("customer_reply", 2)], "reply", None),
        ([ev("staff_reply", 1), ev("customer_reply", 2), ev("staff_reply", 3)], "reply", at(3)),
        # Staff wrote again while it waited: the customer was just spoken to.
        ([ev("staff_reply", 1, "Berapa?"), ev("staff_reply", 5, "Oke.")], "question", at(5)),
        # A mail client's \\Answered flag has no text: it never makes a ticket wait.
        ([ev("answered", 1)], "reply", None),
        ([ev("staff_reply", 1), ev("closed", 2)], "reply", None),
        ([ev("staff_reply", 1), ev("closed", 2), ev("reopened", 3)], "reply", None),
        ([ev("staff_reply", 1), ev("note", 2, "internal")], "reply", at(1)),
    ],
)
def test_waiting_since(events: list[TicketEvent], wait_on: str, since: datetime | None) -> None:
    assert waiting_since(events, wait_on) == since  # type: ignore[arg-type]


DAY = "08:00-17:00"
OFFICE = build_calendar(
    BusinessHoursConfig.model_validate(
        {
            "weekly": {d: DAY for d in ("mon", "tue", "wed", "thu", "fri")},
            "closed": [{"from": "2030-01-09", "to": "2030-01-09", "name": "Libur"}],
        }
    ),
    "Asia/Jakarta",
)
ALWAYS = BusinessCalendar.always_open(JAKARTA)


@pytest.mark.parametrize(
    "since, wait, business, calendar, due",
    [
        # Calendar time: all of it.
        (T0, WaitSpan("3d", 3), False, OFFICE, local(2030, 1, 10, 10, 0)),
        (T0, WaitSpan("36h", 0, timedelta(hours=36)), False, OFFICE, local(2030, 1, 8, 22, 0)),
        # Business time: open days (Wednesday 9th is closed), same time of day.
        (T0, WaitSpan("1d", 1), True, OFFICE, local(2030, 1, 8, 10, 0)),
        (T0, WaitSpan("2d", 2), True, OFFICE, local(2030, 1, 10, 10, 0)),
        # Friday 10:00 + 3 open days: Monday, Tuesday, Thursday.
        (local(2030, 1, 4, 10, 0), WaitSpan("3d", 3), True, OFFICE, local(2030, 1, 10, 10, 0)),
        # Answered in the evening: that time on the open day is closed, so its next opening.
        (local(2030, 1, 7, 20, 0), WaitSpan("1d", 1), True, OFFICE, local(2030, 1, 10, 8, 0)),
        # Hours in business time are open hours: Monday 16:00 + 4h is Tuesday 11:00.
        (
            local(2030, 1, 7, 16, 0),
            WaitSpan("4h", 0, timedelta(hours=4)),
            True,
            OFFICE,
            local(2030, 1, 8, 11, 0),
        ),
        (T0, WaitSpan("1d2h", 1, timedelta(hours=2)), True, OFFICE, local(2030, 1, 8, 12, 0)),
        # No business_hours: business time is calendar time.
        (T0, WaitSpan("3d", 3), True, ALWAYS, local(2030, 1, 10, 10, 0)),
    ],
)
def test_close_due(
    since: datetime, wait: WaitSpan, business: bool, calendar: BusinessCalendar, due: datetime
) -> None:
    assert close_due(since, wait, business, calendar) == due


THREE_DAYS = ClosePolicy(WaitSpan("3d", 3), business_time=False, reopen_within=timedelta(days=7))


@pytest.mark.parametrize(
    "policy, status, events, due",
    [
        (None, "open", [ev("staff_reply", 0)], None),
        (ClosePolicy(None, reopen_within=timedelta(days=1)), "open", [ev("staff_reply", 0)], None),
        (THREE_DAYS, "open", [ev("staff_reply", 0)], at(72)),
        (THREE_DAYS, "resolved", [ev("staff_reply", 0)], None),
        (THREE_DAYS, "open", [], None),
    ],
)
def test_close_at(
    policy: ClosePolicy | None, status: str, events: list[TicketEvent], due: datetime | None
) -> None:
    assert close_at(policy, status, events, "reply", ALWAYS) == due


def row(state: str, due: datetime | None) -> TimerRow:
    return TimerRow(9, 1, "close", "waiting", state, due)


@pytest.mark.parametrize(
    "due, existing, change",
    [
        (None, None, None),
        (at(72), None, NewTimer(1, "close", "waiting", "pending", at(72))),
        (at(72), row("pending", at(72)), None),
        (at(80), row("pending", at(72)), TimerChange(9, "pending", at(80))),
        # The customer wrote: cancelled.
        (None, row("pending", at(72)), TimerChange(9, "stopped", None)),
        (None, row("stopped", None), None),
        # Fired: stays so, until the ticket waits again (reopened and answered).
        (None, row("done", at(72)), None),
        (at(200), row("done", at(72)), TimerChange(9, "pending", at(200))),
    ],
)
def test_replan_close(
    due: datetime | None, existing: TimerRow | None, change: TimerChange | NewTimer | None
) -> None:
    assert replan_close(1, due, existing) == change


WEEK = ClosePolicy(None, reopen_within=timedelta(days=7))


@pytest.mark.parametrize(
    "policy, resolved, now, reopen, follow",
    [
        (None, T0, at(1), False, False),
        (WEEK, None, at(1), False, False),
        (WEEK, T0, at(1), True, False),
        (WEEK, T0, at(7 * 24), True, False),
        (WEEK, T0, at(7 * 24 + 0.01), False, True),
    ],
)
def test_reopen_window(
    policy: ClosePolicy | None, resolved: datetime | None, now: datetime, reopen: bool, follow: bool
) -> None:
    assert (reopens(policy, resolved, now), follows_up(policy, resolved, now)) == (reopen, follow)


def test_wait_words() -> None:
    assert wait_words(WaitSpan("3d", 3), True, "id") == "3 hari kerja"
    assert wait_words(WaitSpan("1d", 1), True, "en") == "1 working day"
    assert wait_words(WaitSpan("1d4h", 1, timedelta(hours=4)), False, "en") == "1 day 4 h"


# Deciding a customer's message to a resolved ticket: by mail (its reference) and by chat.
RESOLVED = TicketInfo("KMWN22", "budi@example.com", "resolved", "id", "Budi", resolved_at=T0)
OPEN_ONE = TicketInfo("KMWN22", "budi@example.com", "open", "id", "Budi")


def mail_view(info: TicketInfo) -> View:
    return View(existing_refs={"KMWN22"}, tickets={"KMWN22": info})


@pytest.mark.parametrize(
    "policy, info, now, expected",
    [
        # No tickets section: a mail joins the ticket as always, resolved or not.
        (None, RESOLVED, at(1000), FollowUp("KMWN22")),
        (WEEK, OPEN_ONE, at(1000), FollowUp("KMWN22")),
        (WEEK, RESOLVED, at(24), FollowUp("KMWN22", reopen=True)),
        (WEEK, RESOLVED, at(8 * 24), "new, follows KMWN22"),
    ],
)
def test_a_mail_to_a_resolved_ticket(
    policy: ClosePolicy | None, info: TicketInfo, now: datetime, expected: object
) -> None:
    raw = mail(subject="Re: Pesanan [#KMWN22]")
    rules = Policy("support-mail", GUARD, 3, DEFAULT_RULES, closing=policy)
    decision = decide(parse_mail(raw), rules, mail_view(info), new_ref=refs("AAA222"), now=now)
    if isinstance(expected, str):
        assert isinstance(decision, Acknowledge)
        assert (decision.ref, decision.follows) == ("AAA222", "KMWN22")
    else:
        assert decision == expected


def test_a_late_mail_joins_the_ticket_that_already_follows_up_the_old_one() -> None:
    view = mail_view(RESOLVED)
    view.followed_by = {"KMWN22": "NEW567"}
    raw = mail(subject="Re: Pesanan [#KMWN22]")
    rules = Policy("support-mail", GUARD, 3, DEFAULT_RULES, closing=WEEK)
    assert decide(parse_mail(raw), rules, view, now=at(9 * 24)) == FollowUp("NEW567")


def test_a_late_rating_for_the_survey_still_joins_its_ticket() -> None:
    from responder.domain.csat import SurveyInfo

    survey = SurveyInfo(
        1,
        7,
        "KMWN22",
        "support-mail",
        "budi@example.com",
        "sent",
        at(30),
        None,
        None,
        "",
        None,
        False,
        "id",
        "Budi",
        "Pesanan",
        None,
    )
    view = mail_view(RESOLVED)
    view.surveys_by_ref = {"KMWN22": survey}
    raw = mail(subject="Re: Bagaimana? [#KMWN22]").replace(b"Halo", b"5, mantap")
    rules = Policy("support-mail", GUARD, 3, DEFAULT_RULES, closing=WEEK)
    assert decide(parse_mail(raw), rules, view, now=at(9 * 24)) == FollowUp("KMWN22")


def test_the_section_is_checked_with_its_position(base_dir: Path) -> None:  # noqa: F811
    config = load("tickets:\n  close_after: 3d\n  reopen_within: 7d\n", base_dir)
    built = close_policy(config.tickets)
    assert built == ClosePolicy(WaitSpan("3d", 3), True, True, timedelta(days=7))
    mixed = close_policy(load("tickets:\n  close_after: 1d12h\n", base_dir).tickets)
    assert mixed is not None and mixed.close_after == WaitSpan("1d12h", 1, timedelta(hours=12))
    assert load("", base_dir).tickets is None
    assert problems("tickets:\n  close_after: soon\n", base_dir) == [
        "config.yaml:14:16: tickets.close_after: expected a duration like 30s, 5m, 2h, 1d, "
        '1h30m or 0, got "soon"'
    ]
    assert problems("tickets:\n  close_time: weekdays\n  close_after: 1d\n", base_dir)[
        0
    ].startswith("config.yaml:14:15: tickets.close_time:")
    assert problems("tickets: {closing_message: true}\n", base_dir)[0].startswith("config.yaml:13:")
