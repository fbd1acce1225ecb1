"""Auto-close and the reopen window (issue 18 item 5): the admin's `tickets:` section, built."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# The timers table keeps a ticket's pending close as one more clock beside its SLA clocks
# (one row per ticket, ever: re-armed each time the ticket waits on the customer again).
CLOSE_CLOCK = "close"
CLOSE_STAGE = "waiting"
AUTO_CLOSED = "auto_closed"  # the closing message's template, and the reply's kind
# Who closed it, in ticket_events.actor: the event itself is "closed", as /close writes, so
# the SLA clocks, the survey and the report's resolutions treat both alike.
AUTO_ACTOR = "auto-close"


@dataclass(frozen=True)
class WaitSpan:
    """How long a ticket may wait on the customer: whole days as written ("3d"), which in
    business time are open days, and the rest ("4h"), which in business time is open time."""

    text: str  # as the admin wrote it, normalised: "3d", "1d4h", "36h"
    days: int = 0
    rest: timedelta = timedelta(0)

    @property
    def total(self) -> timedelta:
        return timedelta(days=self.days) + self.rest


@dataclass(frozen=True)
class ClosePolicy:
    """The `tickets:` section: None of it configured means nothing closes or reopens itself."""

    close_after: WaitSpan | None = None
    business_time: bool = True
    closing_message: bool = True
    reopen_within: timedelta | None = None
