"""Which timer rows to add, move, pause or stop so tickets' timers match their plan: pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from responder.core.sla.plan import FINAL, plan_ticket
from responder.domain.calendar import BusinessCalendar
from responder.domain.sla_policy import SlaPolicies
from responder.domain.timers import NewTimer, TicketFacts, TimerChange, TimerPlan, TimerRow

TimerKey = tuple[str, str]  # (clock, stage name)


def replan_timers(
    tickets: Mapping[int, TicketFacts],
    existing: Mapping[int, Mapping[TimerKey, TimerRow]],
    policies: SlaPolicies,
    calendar: BusinessCalendar,
    now: datetime,
) -> TimerPlan:
    """Bring the tickets' timer rows in line with their policies and events as of now. A
    fired (final) row never changes; a stage the policy no longer has is stopped."""
    changes: list[TimerChange] = []
    inserts: list[NewTimer] = []
    for ticket in tickets.values():
        policy = policies.for_ticket(ticket.policy)
        wants = plan_ticket(policy, ticket.opened, ticket.events, now, calendar)
        mine = existing.get(ticket.id, {})
        for key, row in mine.items():
            if key not in wants and row.state not in FINAL and row.state != "stopped":
                changes.append(TimerChange(row.id, "stopped", None))
        for key, want in wants.items():
            found = mine.get(key)
            if found is None:
                inserts.append(
                    NewTimer(ticket.id, want.clock, want.stage.name, want.state, want.due_at)
                )
            elif found.state not in FINAL and (found.state, found.due_at) != (
                want.state,
                want.due_at,
            ):
                changes.append(TimerChange(found.id, want.state, want.due_at))
    return TimerPlan(changes, inserts)
