"""What an SLA policy promises, as the daemon uses it (built from the `sla:` config section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SLA_ALERT = "sla_alert"  # the template of reminders, breach notices and escalations

Clock = Literal["first_response", "resolution"]
StageKind = Literal["reminder", "breach", "escalation"]
# When a staff reply puts the ticket in "waiting on the customer", which pauses the
# resolution clock until the customer writes again (issue 5).
WaitOn = Literal["question", "reply", "never"]


@dataclass(frozen=True)
class Audience:
    """Who hears of a stage: staff addresses by email, Telegram channels' staff groups.

    An empty audience means the ticket's own channel's staff: an email channel's `staff`
    list, a Telegram channel's staff group.
    """

    emails: tuple[str, ...] = ()
    telegram: tuple[str, ...] = ()  # names of Telegram channels; their staff_chat_id hears

    @property
    def is_default(self) -> bool:
        return not self.emails and not self.telegram


@dataclass(frozen=True)
class Stage:
    """One due action of a clock: it falls due when the clock has counted `at` minutes."""

    name: str  # unique in its clock, stable across reloads: "remind-50%", "breach", "escalate-1"
    kind: StageKind
    at: float  # clock minutes (business minutes unless the policy counts calendar time)
    audience: Audience = Audience()


@dataclass(frozen=True)
class Target:
    """One promised time and the stages leading up to it and past it, in `at` order."""

    clock: Clock
    minutes: float
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class Policy:
    name: str
    business_time: bool  # False: the clock counts calendar time, nights and holidays included
    wait_on: WaitOn
    targets: tuple[Target, ...]  # at most one per clock


@dataclass(frozen=True)
class SlaPolicies:
    """Every policy by name, and the one tickets get when no rule names one (None: no SLA)."""

    policies: dict[str, Policy]
    default: str | None = None

    def for_ticket(self, name: str | None) -> Policy | None:
        return self.policies.get(name or self.default or "")


NO_SLA = SlaPolicies({})
