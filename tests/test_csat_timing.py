"""When a survey goes: after resolution or quiet, never at night, in the customer's own zone."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from responder.config.csat import CsatConfig
from responder.core.csat.timing import decent_hour, wanted_at
from responder.domain.calendar import Period
from responder.domain.csat import SurveyTicket

JAKARTA = ZoneInfo("Asia/Jakarta")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = Period(9 * 60, 20 * 60)


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=JAKARTA)


RESOLVED = SurveyTicket(
    ticket_id=1,
    channel="mail",
    customer="budi@example.com",
    status="resolved",
    resolved_at=wib(2030, 1, 7, 10, 0),
    last_staff=wib(2030, 1, 7, 9, 30),
    last_customer=None,
    reply_kinds=frozenset({"acknowledgement"}),  # no canned answer: staff replied at 09:30
    utc_offset=None,
)
QUIET = dataclasses.replace(RESOLVED, status="open", resolved_at=None)


@pytest.mark.parametrize(
    ("at", "window", "zone", "expected"),
    [
        # Inside the window: at once.
        (wib(2030, 1, 7, 10, 0), DAY, JAKARTA, wib(2030, 1, 7, 10, 0)),
        (wib(2030, 1, 7, 9, 0), DAY, JAKARTA, wib(2030, 1, 7, 9, 0)),
        # Before it: this morning at 09:00; after it (20:00 is closed): tomorrow morning.
        (wib(2030, 1, 7, 6, 45), DAY, JAKARTA, wib(2030, 1, 7, 9, 0)),
        (wib(2030, 1, 7, 20, 0), DAY, JAKARTA, wib(2030, 1, 8, 9, 0)),
        (wib(2030, 1, 7, 23, 59), DAY, JAKARTA, wib(2030, 1, 8, 9, 0)),
        # A window past midnight: 01:00 is inside yesterday's 18:00-02:00.
        (wib(2030, 1, 7, 1, 0), Period(18 * 60, 26 * 60), JAKARTA, wib(2030, 1, 7, 1, 0)),
        (wib(2030, 1, 7, 3, 0), Period(18 * 60, 26 * 60), JAKARTA, wib(2030, 1, 7, 18, 0)),
        # Across the spring DST change in Amsterdam: 09:00 local is 07:00 UTC after it.
        (
            datetime(2030, 3, 30, 21, 0, tzinfo=UTC),
            DAY,
            AMSTERDAM,
            datetime(2030, 3, 31, 7, 0, tzinfo=UTC),
        ),
    ],
)
def test_decent_hour(at: datetime, window: Period, zone: ZoneInfo, expected: datetime) -> None:
    assert decent_hour(at, window, zone) == expected


@pytest.mark.parametrize(
    ("facts", "config", "expected"),
    [
        # Resolved at 10:00 with the default hour's wait: 11:00.
        (RESOLVED, CsatConfig(), wib(2030, 1, 7, 11, 0)),
        # Resolved late: the survey waits for the morning.
        (
            dataclasses.replace(RESOLVED, resolved_at=wib(2030, 1, 7, 19, 30)),
            CsatConfig(),
            wib(2030, 1, 8, 9, 0),
        ),
        # The customer's mail said -0500 (New York): 11:00 WIB is 23:00 there, so it waits
        # for 09:00 New York time, 21:00 WIB.
        (
            dataclasses.replace(RESOLVED, utc_offset=-300),
            CsatConfig(),
            wib(2030, 1, 7, 21, 0),
        ),
        # Nobody answered the ticket: there is no service to rate.
        (dataclasses.replace(RESOLVED, last_staff=None), CsatConfig(), None),
        # Another channel's ticket, when only some channels are surveyed.
        (RESOLVED, CsatConfig(channels=("telegram",)), None),
        # Still open: only with after_quiet, counted from the last staff reply.
        (QUIET, CsatConfig(), None),
        (QUIET, CsatConfig(after_quiet=timedelta(days=2)), wib(2030, 1, 9, 9, 30)),
        # The customer wrote after the staff reply: not quiet, they still want something.
        (
            dataclasses.replace(QUIET, last_customer=wib(2030, 1, 7, 9, 45)),
            CsatConfig(after_quiet=timedelta(days=2)),
            None,
        ),
        # A reopened ticket (open again, customer wrote) is not surveyed.
        (
            dataclasses.replace(QUIET, last_customer=wib(2030, 1, 8, 8, 0)),
            CsatConfig(),
            None,
        ),
    ],
)
def test_wanted_at(facts: SurveyTicket, config: CsatConfig, expected: datetime | None) -> None:
    # Planned on the morning of the resolution, before anything is due.
    assert wanted_at(facts, config, JAKARTA, wib(2030, 1, 7, 10, 0)) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Due 11:00 and checked at 11:00:05 (the scheduler woke): now.
        (wib(2030, 1, 7, 11, 0, 5), wib(2030, 1, 7, 11, 0, 5)),
        # The daemon was down from 10:30 and is back at 23:30: not at night, in the morning.
        (wib(2030, 1, 7, 23, 30), wib(2030, 1, 8, 9, 0)),
        # Back six days later at 15:00: still worth asking, at once.
        (wib(2030, 1, 13, 15, 0), wib(2030, 1, 13, 15, 0)),
        # Back after more than a week: too late to ask about it.
        (wib(2030, 1, 14, 12, 0), None),
    ],
)
def test_an_overdue_survey_waits_for_a_decent_hour_and_a_stale_one_is_dropped(
    now: datetime, expected: datetime | None
) -> None:
    assert wanted_at(RESOLVED, CsatConfig(), JAKARTA, now) == expected


@pytest.mark.parametrize(
    "facts",
    [
        # The customer wrote after it was resolved ("it still hasn't arrived").
        dataclasses.replace(RESOLVED, last_customer=wib(2030, 1, 7, 10, 30)),
        # They opened a new ticket that is still open (Telegram after /close, say).
        dataclasses.replace(RESOLVED, waiting_elsewhere=True),
    ],
)
def test_no_survey_while_the_customer_is_still_waiting(facts: SurveyTicket) -> None:
    assert wanted_at(facts, CsatConfig(), JAKARTA, wib(2030, 1, 7, 10, 45)) is None
