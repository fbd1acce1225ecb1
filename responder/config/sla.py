"""The admin's `sla:` section: response-time policies, validated and built into SlaPolicies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from responder.config.notify import ChannelLike, NotifyConfig, check_audience
from responder.config.rules import Rule
from responder.config.sla_durations import (
    RemindPoint,
    format_duration,
    no_days_in_business_time,
    reminder,
)
from responder.config.types import ChannelName, FrozenModel, PositiveDuration, fail, unique_names
from responder.config.yamlload import KeyPath
from responder.domain.sla_policy import (
    NO_SLA,
    Audience,
    Clock,
    Policy,
    SlaPolicies,
    Stage,
    Target,
    WaitOn,
)

__all__ = [
    "EscalateConfig",
    "SlaConfig",
    "SlaPolicyConfig",
    "build_policies",
    "check_references",
]


class EscalateConfig(NotifyConfig):
    """A notice to someone else once the target has been missed by `after`."""

    after: PositiveDuration


class SlaPolicyConfig(FrozenModel):
    """One named promise: how fast a first reply and a resolution are due, and who is told."""

    name: ChannelName
    time: Literal["business", "calendar"] = "business"
    first_response: PositiveDuration | None = None
    resolution: PositiveDuration | None = None
    remind: tuple[RemindPoint, ...] = (reminder("80%"),)
    notify: NotifyConfig | None = None  # None: the ticket's own channel's staff
    breach: bool = Field(default=True, strict=True)
    escalate: tuple[EscalateConfig, ...] = ()
    wait_on: WaitOn = "question"

    @model_validator(mode="before")
    @classmethod
    def _no_days_in_business_time(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("time", "business") == "business":
            no_days_in_business_time(data)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        targets = self.targets()
        if not targets:
            message = "give first_response, resolution or both: the times this policy promises"
            raise fail("no_target", message, show_input=False)
        for index, point in enumerate(self.remind):
            if point in self.remind[:index]:
                message = f'"{point.text}" is listed twice'
                raise fail("remind", message, ("remind", index), show_input=False)
        for clock, target in targets.items():
            seen: dict[float, str] = {}
            for index, point in enumerate(self.remind):
                at = point.at(target.total_seconds() / 60)
                if at <= 0:
                    message = f'"{point.text}" is not shorter than the {clock} target'
                    message += f" ({format_duration(target)}): a reminder must come before it"
                    raise fail("remind", message, ("remind", index), show_input=False)
                # Two reminders at one moment would send the same notice twice.
                if (other := seen.setdefault(round(at, 6), point.text)) != point.text:
                    message = f'"{point.text}" falls at the same time as "{other}"'
                    message += f" for the {clock} target ({format_duration(target)})"
                    raise fail("remind", message, ("remind", index), show_input=False)
        return self

    def targets(self) -> dict[Clock, timedelta]:
        """The promised times given, first response first."""
        found: dict[Clock, timedelta | None] = {
            "first_response": self.first_response,
            "resolution": self.resolution,
        }
        return {clock: value for clock, value in found.items() if value is not None}


class SlaConfig(FrozenModel):
    """The `sla:` section: named policies and the one tickets get when no rule names one."""

    default: ChannelName | None = None  # None: tickets no rule gives a policy have no SLA
    policies: tuple[SlaPolicyConfig, ...] = Field(min_length=1)

    @field_validator("policies")
    @classmethod
    def _unique(cls, policies: tuple[SlaPolicyConfig, ...]) -> tuple[SlaPolicyConfig, ...]:
        unique_names(policies, "sla.policies", "SLA policy")
        return policies

    @model_validator(mode="after")
    def _known_default(self) -> Self:
        if self.default is not None:
            _known_policy(self, self.default, ("default",))
        return self


def _known_policy(section: SlaConfig, name: str, at: KeyPath) -> None:
    names = [policy.name for policy in section.policies]
    if name not in names:
        message = f'unknown SLA policy "{name}"; the policies are: {", ".join(names)}'
        raise fail("unknown_sla", message, at, show_input=False)


def check_references(
    section: SlaConfig | None, rules: Sequence[Rule], channels: Sequence[ChannelLike]
) -> None:
    """What the section names elsewhere in the config exists; errors are at Config's root."""
    for index, rule in enumerate(rules):
        if rule.then.sla is None:
            continue
        key: KeyPath = ("rules", index, "then", "sla")
        if section is None:
            message = f'there is no `sla:` section defining the policy "{rule.then.sla}"'
            raise fail("unknown_sla", message, key, show_input=False)
        _known_policy(section, rule.then.sla, key)
    if section is None:
        return
    for index, policy in enumerate(section.policies):
        where: KeyPath = ("sla", "policies", index)
        lists: list[tuple[KeyPath, NotifyConfig]] = []
        if policy.notify is not None:
            lists.append(((*where, "notify"), policy.notify))
        lists += [((*where, "escalate", n), entry) for n, entry in enumerate(policy.escalate)]
        for at, audience in lists:
            check_audience(audience, at, channels)


def build_policies(section: SlaConfig | None) -> SlaPolicies:
    """The runtime policies the section describes; None: no SLA at all."""
    if section is None:
        return NO_SLA
    return SlaPolicies({p.name: _policy(p) for p in section.policies}, section.default)


def _policy(cfg: SlaPolicyConfig) -> Policy:
    notify = cfg.notify.audience() if cfg.notify is not None else Audience()
    targets = []
    for clock, target in cfg.targets().items():
        minutes = target.total_seconds() / 60
        stages = [
            Stage(f"remind-{p.text.replace(' ', '-')}", "reminder", p.at(minutes), notify)
            for p in cfg.remind
        ]
        if cfg.breach:
            stages.append(Stage("breach", "breach", minutes, notify))
        stages += [
            Stage(
                f"escalate-{n}", "escalation", minutes + e.after.total_seconds() / 60, e.audience()
            )
            for n, e in enumerate(cfg.escalate, 1)
        ]
        # Stable: escalations due at the same minute keep their listed order.
        targets.append(Target(clock, minutes, tuple(sorted(stages, key=lambda s: s.at))))
    return Policy(cfg.name, cfg.time == "business", cfg.wait_on, tuple(targets))
