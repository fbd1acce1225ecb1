"""Which survey rows to add, move or cancel so tickets' surveys match their timing: pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo

from responder.config.csat import CsatConfig
from responder.core.csat.timing import wanted_at
from responder.core.forget import is_forgotten
from responder.domain.csat import (
    MOVABLE,
    NewSurvey,
    SurveyChange,
    SurveyPlan,
    SurveyRow,
    SurveyTicket,
)

NOT_NOW = "no longer due: reopened, the customer wrote again, or too late to ask"


def replan_surveys(
    tickets: Mapping[int, SurveyTicket],
    existing: Mapping[int, SurveyRow],
    csat: CsatConfig,
    zone: tzinfo,
    now: datetime,
) -> SurveyPlan:
    """One survey per ticket, ever: planned when it should go, cancelled while it should
    not; a sent or skipped one never changes."""
    changes: list[SurveyChange] = []
    inserts: list[NewSurvey] = []
    for ticket_id, ticket in tickets.items():
        row = existing.get(ticket_id)
        if row is not None and row.state not in MOVABLE:
            continue
        # A customer forgotten on request (issue 18) is never asked again.
        due = None if is_forgotten(ticket.customer) else wanted_at(ticket, csat, zone, now)
        if row is None:
            if due is not None:
                inserts.append(NewSurvey(ticket_id, ticket.channel, ticket.customer, due))
            continue
        state = "planned" if due is not None else "cancelled"
        if (state, due) != (row.state, row.due_at):
            changes.append(SurveyChange(row.id, state, due, None if due is not None else NOT_NOW))
    return SurveyPlan(changes, inserts)
