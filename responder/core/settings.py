"""Everything deciding needs, built from the config once, checked, and swapped whole on reload."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from responder.config.csat import CsatConfig
from responder.config.rules import RulesConfig, templates_used
from responder.core.channel import ChannelProfile, FileRef
from responder.core.decisions import ACKNOWLEDGEMENT, OUT_OF_HOURS, STAFF_NOTIFICATION
from responder.core.templates import Templates
from responder.domain.calendar import BusinessCalendar
from responder.domain.closing import AUTO_CLOSED, ClosePolicy
from responder.domain.sla_policy import NO_SLA, SLA_ALERT, SlaPolicies

CSAT_SURVEY = "csat_survey"  # the survey to the customer, and its Telegram confirmations
CSAT_LOW = "csat_low"  # the notice to staff of a low rating


@dataclass(frozen=True)
class ReplyCap:
    max_replies: int
    window: timedelta


@dataclass(frozen=True)
class Settings:
    templates: Templates
    profiles: dict[str, ChannelProfile]
    cap: ReplyCap
    rules: RulesConfig
    vip: tuple[str, ...]
    calendar: BusinessCalendar
    sla: SlaPolicies = NO_SLA
    # Changes when anything an SLA due time depends on changes (policies, hours, zone): a
    # start with a different fingerprint re-plans every open ticket's timers.
    sla_fingerprint: str = ""
    csat: CsatConfig | None = None  # None: no satisfaction surveys
    # Where survey links point (the http section's public_url), when csat.links is on.
    survey_links: str | None = None
    # The rules' canned files by name, as `check` found them (core/canned.py, issue 18).
    canned: dict[str, FileRef] = field(default_factory=dict)

    def attachments(self, names: tuple[str, ...]) -> tuple[FileRef, ...]:
        return tuple(self.canned[name] for name in names if name in self.canned)

    closing: ClosePolicy | None = None  # the tickets section: auto-close, reopen window

    @property
    def template_names(self) -> set[str]:
        names = {ACKNOWLEDGEMENT, OUT_OF_HOURS, STAFF_NOTIFICATION} | templates_used(self.rules)
        names |= {CSAT_SURVEY, CSAT_LOW} if self.csat is not None else set()
        closing = self.closing
        if closing is not None and closing.close_after is not None and closing.closing_message:
            names.add(AUTO_CLOSED)
        return names | ({SLA_ALERT} if self.sla.policies else set())
