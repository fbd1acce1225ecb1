"""Tests for the pure SLA clock: marks from ticket events, running/paused/stopped, due times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from responder.core.sla.clock import (
    BusinessSpan,
    CalendarSpan,
    Mark,
    MarkKind,
    Span,
    clock_state,
    marks_from_events,
    span_for,
)
from responder.domain.calendar import BusinessCalendar, DateRange, HolidayLookup, Period
from responder.domain.sla_policy import Clock, Policy, WaitOn

JAKARTA = ZoneInfo("Asia/Jakarta")
BERLIN = ZoneInfo("Europe/Berlin")
WORKDAY = (Period(8 * 60, 17 * 60),)
# Monday to Friday 08:00-17:00. 2026-03-09 is a Monday.
OFFICE = (WORKDAY,) * 5 + ((), ())


def local(text: str, zone: ZoneInfo = JAKARTA) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def office(closed: Sequence[DateRange] = (), holidays: HolidayLookup | None = None) -> BusinessSpan:
    return BusinessSpan(BusinessCalendar(JAKARTA, OFFICE, closed=closed, holidays=holidays))


def marks(*entries: str) -> list[Mark]:
    """ "2026-03-09T10:00 waiting" -> a Mark."""
    out = []
    for entry in entries:
        when, kind = entry.split()
        out.append(Mark(local(when), kind))  # type: ignore[arg-type]
    return out


def due_from(opened: str, minutes: float, span: Span) -> datetime | None:
    start = local(opened)
    return clock_state("resolution", start, [], start, span).due(minutes, span)


@pytest.mark.parametrize(
    ("span", "opened", "due"),
    [
        pytest.param(office(), "2026-03-09T16:30", "2026-03-10T08:30", id="end-of-day"),
        pytest.param(office(), "2026-03-06T16:30", "2026-03-09T08:30", id="weekend"),
        pytest.param(
            office(closed=[DateRange(date(2026, 3, 9), date(2026, 3, 9), "Stocktaking")]),
            "2026-03-06T16:30",
            "2026-03-10T08:30",
            id="closed-monday",
        ),
        pytest.param(
            office(holidays=lambda day: "Nyepi" if day == date(2026, 3, 9) else None),
            "2026-03-06T16:30",
            "2026-03-10T08:30",
            id="holiday-monday",
        ),
        pytest.param(office(), "2026-03-07T10:00", "2026-03-09T09:00", id="opened-when-closed"),
        pytest.param(CalendarSpan(), "2026-03-09T23:30", "2026-03-10T00:30", id="calendar-night"),
    ],
)
def test_sixty_minute_target(span: Span, opened: str, due: str) -> None:
    assert due_from(opened, 60, span) == local(due)


def test_calendar_time_counts_real_minutes_across_dst() -> None:
    # Clocks in Berlin jump 02:00 -> 03:00 on 29 March 2026: four hours later reads 04:00.
    span = CalendarSpan()
    opened = local("2026-03-28T23:00", BERLIN)
    state = clock_state("resolution", opened, [], local("2026-03-29T04:00", BERLIN), span)
    assert state.elapsed == 240
    assert state.due(240, span) == local("2026-03-29T04:00", BERLIN)


OPENED = "2026-03-09T09:00"  # a Monday


@pytest.mark.parametrize(
    ("clock", "events", "now", "elapsed", "due"),
    [
        pytest.param(
            "resolution",
            ("2026-03-09T10:00 waiting", "2026-03-09T14:00 customer"),
            "2026-03-09T15:00",
            120,
            "2026-03-09T17:00",  # 60 counted before the pause, 180 more from 14:00
            id="pause-then-resume",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T10:00 waiting", "2026-03-09T14:00 customer"),
            "2026-03-09T11:00",
            60,
            None,
            id="paused-nothing-due",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T10:00 waiting", "2026-03-09T11:00 waiting"),
            "2026-03-09T12:00",
            60,
            None,
            id="waiting-twice",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T10:00 waiting", "2026-03-09T11:00 reopened"),
            "2026-03-09T12:00",
            120,
            "2026-03-09T14:00",
            id="reopen-ends-pause",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T10:00 resolved",),
            "2026-03-10T12:00",
            60,
            None,
            id="resolved",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T10:00 waiting", "2026-03-09T11:00 resolved"),
            "2026-03-09T12:00",
            60,
            None,
            id="resolved-while-paused",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T10:00 resolved", "2026-03-09T11:00 customer"),
            "2026-03-09T12:00",
            60,
            None,
            id="customer-does-not-reopen",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T10:00 resolved", "2026-03-10T09:00 reopened"),
            "2026-03-10T10:00",
            120,
            "2026-03-10T12:00",
            id="reopen-keeps-counted-minutes",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T10:00 responded",),
            "2026-03-09T12:00",
            180,
            "2026-03-09T13:00",
            id="response-does-not-stop-resolution",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T13:00 resolved",),
            "2026-03-09T12:00",
            180,
            "2026-03-09T13:00",
            id="marks-after-now-ignored",
        ),
        pytest.param(
            "resolution",
            ("2026-03-09T08:00 waiting", "2026-03-09T10:00 customer"),
            "2026-03-09T11:00",
            60,
            "2026-03-09T14:00",
            id="marks-before-opened-count-at-opened",
        ),
        pytest.param(
            "resolution", (), "2026-03-10T09:00", 480 + 60, "2026-03-09T13:00", id="overnight"
        ),
        pytest.param(
            "first_response",
            ("2026-03-09T10:00 responded",),
            "2026-03-09T12:00",
            60,
            None,
            id="first-response-responded",
        ),
        pytest.param(
            "first_response",
            ("2026-03-09T10:30 resolved",),
            "2026-03-09T12:00",
            90,
            None,
            id="first-response-resolved",
        ),
        pytest.param(
            "first_response",
            ("2026-03-09T10:00 waiting", "2026-03-09T11:00 customer"),
            "2026-03-09T12:00",
            180,
            "2026-03-09T13:00",
            id="first-response-never-pauses",
        ),
        pytest.param(
            "first_response",
            ("2026-03-09T10:00 responded", "2026-03-09T11:00 reopened"),
            "2026-03-09T12:00",
            60,
            None,
            id="first-response-not-restarted",
        ),
    ],
)
def test_clock_state(
    clock: Clock, events: tuple[str, ...], now: str, elapsed: float, due: str | None
) -> None:
    span = office()
    state = clock_state(clock, local(OPENED), marks(*events), local(now), span)
    assert state.elapsed == pytest.approx(elapsed)
    assert state.due(240, span) == (None if due is None else local(due))
    assert state.running is (state.since is not None)
    if not state.running:
        assert state.base == state.elapsed


@pytest.mark.parametrize(
    ("events", "running", "stopped"),
    [
        pytest.param((), True, False, id="running"),
        pytest.param(("2026-03-09T10:00 waiting",), False, False, id="paused"),
        pytest.param(("2026-03-09T10:00 resolved",), False, True, id="resolved"),
        pytest.param(
            ("2026-03-09T10:00 resolved", "2026-03-09T11:00 reopened"), True, False, id="reopened"
        ),
    ],
)
def test_running_paused_stopped(events: tuple[str, ...], running: bool, stopped: bool) -> None:
    span, now = office(), local("2026-03-09T12:00")
    state = clock_state("resolution", local(OPENED), marks(*events), now, span)
    assert (state.running, state.stopped) == (running, stopped)


@pytest.mark.parametrize(
    ("reopened", "at", "due"),
    [
        # 240 minutes were counted before the reopen; a stage at 120 is overdue.
        pytest.param("2026-03-10T10:00", 120, "2026-03-10T10:00", id="overdue-open-reopen"),
        pytest.param("2026-03-14T10:00", 120, "2026-03-14T10:00", id="overdue-saturday-reopen"),
        pytest.param("2026-03-14T10:00", 240, "2026-03-14T10:00", id="exactly-at-base"),
        pytest.param("2026-03-14T10:00", 300, "2026-03-16T09:00", id="still-ahead"),
    ],
)
def test_stage_passed_before_since_is_due_at_since(reopened: str, at: float, due: str) -> None:
    span = office()
    events = marks("2026-03-09T13:00 resolved", f"{reopened} reopened")
    now = local(reopened).replace(minute=30)
    state = clock_state("resolution", local(OPENED), events, now, span)
    assert state.base == 240 and state.since == local(reopened)
    assert state.due(at, span) == local(due)


def test_due_does_not_move_with_now() -> None:
    span = office()
    events = marks("2026-03-09T10:00 waiting", "2026-03-09T14:00 customer")
    dues = {
        clock_state("resolution", local(OPENED), events, local(now), span).due(240, span)
        for now in ("2026-03-09T14:00", "2026-03-09T15:30", "2026-03-09T16:59")
    }
    assert dues == {local("2026-03-09T17:00")}


@pytest.mark.parametrize(("business_time", "kind"), [(True, BusinessSpan), (False, CalendarSpan)])
def test_span_for(business_time: bool, kind: type[object]) -> None:
    policy = Policy("standard", business_time, "question", ())
    assert isinstance(span_for(policy, BusinessCalendar(JAKARTA, OFFICE)), kind)


ASK = "Could you send a screenshot?"
TELL = "Fixed, thanks."
T1, T2, T3 = "2026-03-09T10:00", "2026-03-09T11:00", "2026-03-09T12:00"


@pytest.mark.parametrize(
    ("events", "wait_on", "expected"),
    [
        pytest.param([("staff_reply", T1, ASK)], "question", [(T1, "responded"), (T1, "waiting")]),
        pytest.param([("staff_reply", T1, ASK)], "reply", [(T1, "responded"), (T1, "waiting")]),
        pytest.param([("staff_reply", T1, ASK)], "never", [(T1, "responded")]),
        pytest.param([("staff_reply", T1, TELL)], "question", [(T1, "responded")]),
        pytest.param([("staff_reply", T1, TELL)], "reply", [(T1, "responded"), (T1, "waiting")]),
        pytest.param([("staff_reply", T1, TELL)], "never", [(T1, "responded")]),
        pytest.param([("staff_reply", T1, None)], "question", [(T1, "responded")], id="no-text"),
        pytest.param([("answered", T1, ASK)], "reply", [(T1, "responded")], id="answered"),
        pytest.param([("answered", T1, None)], "question", [(T1, "responded")], id="answered-q"),
        pytest.param(
            [
                ("customer_reply", T1, "hi"),
                ("closed", T2, None),
                ("reopened", T2, None),
                ("done", T3, None),
            ],
            "never",
            [(T1, "customer"), (T2, "resolved"), (T2, "reopened"), (T3, "resolved")],
            id="kinds-and-ties",
        ),
        pytest.param(
            [("note", T1, "?"), ("sla_breach", T2, None), ("assigned", T3, None)],
            "reply",
            [],
            id="ignored",
        ),
        pytest.param(
            [("customer_reply", T3, None), ("staff_reply", T2, "ok?"), ("customer_reply", T1, "")],
            "question",
            [(T1, "customer"), (T2, "responded"), (T2, "waiting"), (T3, "customer")],
            id="sorted-by-time",
        ),
    ],
)
def test_marks_from_events(
    events: list[tuple[str, str, str | None]],
    wait_on: WaitOn,
    expected: list[tuple[str, MarkKind]],
) -> None:
    got = marks_from_events([(k, local(t), d) for k, t, d in events], wait_on)
    assert got == [Mark(local(t), kind) for t, kind in expected]


def test_question_reply_pauses_resolution_until_customer_writes() -> None:
    span = office()
    events = [
        ("staff_reply", local("2026-03-09T10:00"), "Which order number?"),
        ("customer_reply", local("2026-03-09T14:00"), "#1234"),
    ]
    found = marks_from_events(events, "question")
    now = local("2026-03-09T15:00")
    first = clock_state("first_response", local(OPENED), found, now, span)
    resolution = clock_state("resolution", local(OPENED), found, now, span)
    assert (first.stopped, first.elapsed) == (True, 60)
    assert resolution.elapsed == 120
    assert resolution.due(240, span) == local("2026-03-09T17:00")


def test_naive_mark_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        Mark(datetime(2026, 3, 9, 10, 0), "responded")
