"""Where a ticket's SLA timers should stand now: pure, from its policy, events and calendar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from responder.core.sla.clock import ClockState, clock_state, marks_from_events, span_for
from responder.domain.calendar import BusinessCalendar
from responder.domain.sla_policy import Clock, Policy, Stage, Target

# Final states: a timer that fired (or was passed over for a later stage) never fires again.
FINAL = frozenset({"done", "skipped"})

Event = tuple[str, datetime, str | None]  # (kind, when, detail) from ticket_events


@dataclass(frozen=True)
class Want:
    """The state one timer row should have: pending with a due time, paused or stopped."""

    clock: str
    stage: Stage
    state: str
    due_at: datetime | None


@dataclass(frozen=True)
class ClockView:
    """A clock of one ticket as of now, for the notices: its target and where it stands."""

    target: Target
    state: ClockState
    due_at: datetime | None  # when the target itself passes, while running


def clock_views(
    policy: Policy,
    opened: datetime,
    events: Iterable[Event],
    now: datetime,
    calendar: BusinessCalendar,
) -> dict[Clock, ClockView]:
    span = span_for(policy, calendar)
    marks = marks_from_events(events, policy.wait_on)
    views: dict[Clock, ClockView] = {}
    for target in policy.targets:
        state = clock_state(target.clock, opened, marks, now, span)
        views[target.clock] = ClockView(target, state, state.due(target.minutes, span))
    return views


def plan_ticket(
    policy: Policy | None,
    opened: datetime,
    events: Iterable[Event],
    now: datetime,
    calendar: BusinessCalendar,
) -> dict[tuple[str, str], Want]:
    """Every stage of every clock of the ticket's policy, keyed (clock, stage name)."""
    if policy is None:
        return {}
    span = span_for(policy, calendar)
    wants: dict[tuple[str, str], Want] = {}
    for clock, view in clock_views(policy, opened, events, now, calendar).items():
        for stage in view.target.stages:
            if view.state.running:
                want = Want(clock, stage, "pending", view.state.due(stage.at, span))
            else:
                want = Want(clock, stage, "stopped" if view.state.stopped else "paused", None)
            wants[clock, stage.name] = want
    return wants
