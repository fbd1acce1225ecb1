"""The admin's `sla:` section: response-time policies, validated and built into SlaPolicies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol, Self

from pydantic import (
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from responder.config.rules import Rule
from responder.config.types import (
    ChannelName,
    EmailAddress,
    FrozenModel,
    PositiveDuration,
    fail,
    unique_names,
)
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
    "NotifyConfig",
    "Reminder",
    "SlaConfig",
    "SlaPolicyConfig",
    "build_policies",
    "check_audience",
    "check_references",
]

_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%", re.ASCII)
_BEFORE = re.compile(r"(.+?)\s+before", re.ASCII)
# In the duration grammar "d" only ever follows a number of days.
_DAYS = re.compile(r"\d\s*d", re.ASCII)
_POSITIVE = TypeAdapter(PositiveDuration)
_REMIND_HINT = 'expected a share of the target like "80%", or a time before it like "15m before"'


def _format(value: timedelta) -> str:
    """A duration in the config's own notation, largest units first: 1d2h, 15m, 4s."""
    seconds = value.total_seconds()
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    parts = [f"{n:g}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) + (f"{rest:g}s" if rest or not parts else "")


@dataclass(frozen=True)
class Reminder:
    """One `remind:` point: a share of the target, or a fixed time before it."""

    text: str  # normalised, so stage names stay stable: "50%", "12.5%", "15m before"
    percent: float | None = None
    before: timedelta | None = None

    def at(self, target: float) -> float:
        """The clock minute this reminder falls due for a target of `target` minutes."""
        if self.before is not None:
            return target - self.before.total_seconds() / 60
        return target * (self.percent or 0) / 100


def _reminder(value: object) -> Reminder:
    if isinstance(value, Reminder):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if found := _PERCENT.fullmatch(text):
        number = Decimal(found.group(1))
        if not 0 < number < 100:
            raise fail("remind", "a percentage must be more than 0% and less than 100%")
        return Reminder(f"{format(number.normalize(), 'f')}%", percent=float(number))
    if found := _BEFORE.fullmatch(text):
        try:
            before = _POSITIVE.validate_python(found.group(1))
        except ValidationError as exc:
            raise fail("remind", f"{exc.errors()[0]['msg']} before the target") from None
        return Reminder(f"{_format(before)} before", before=before)
    raise fail("remind", _REMIND_HINT)


RemindPoint = Annotated[Reminder, PlainValidator(_reminder)]


class NotifyConfig(FrozenModel):
    """Who hears of reminders and breaches: staff addresses, Telegram channels' staff groups."""

    email: tuple[EmailAddress, ...] = ()
    telegram: tuple[ChannelName, ...] = ()

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if not self.email and not self.telegram:
            message = "give email or telegram (or both): who should hear of it"
            raise fail("no_audience", message, show_input=False)
        return self

    def audience(self) -> Audience:
        return Audience(self.email, self.telegram)


class EscalateConfig(NotifyConfig):
    """A notice to someone else once the target has been missed by `after`."""

    after: PositiveDuration


class SlaPolicyConfig(FrozenModel):
    """One named promise: how fast a first reply and a resolution are due, and who is told."""

    name: ChannelName
    time: Literal["business", "calendar"] = "business"
    first_response: PositiveDuration | None = None
    resolution: PositiveDuration | None = None
    remind: tuple[RemindPoint, ...] = (_reminder("80%"),)
    notify: NotifyConfig | None = None  # None: the ticket's own channel's staff
    breach: bool = Field(default=True, strict=True)
    escalate: tuple[EscalateConfig, ...] = ()
    wait_on: WaitOn = "question"

    @model_validator(mode="before")
    @classmethod
    def _no_days_in_business_time(cls, data: object) -> object:
        # Parsed, "1d" is 24 hours; an admin writing it in business time means a working day.
        if not isinstance(data, dict) or data.get("time", "business") != "business":
            return data
        for at, value in _raw_durations(data):
            if isinstance(value, str) and _DAYS.search(value):
                message = (
                    f'in business time "{value.strip()}" is ambiguous; write open hours, '
                    "e.g. 8h for one 8-hour working day"
                )
                raise fail("business_days", message, at, show_input=False)
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
                    message += f" ({_format(target)}): a reminder must come before it"
                    raise fail("remind", message, ("remind", index), show_input=False)
                # Two reminders at one moment would send the same notice twice.
                if (other := seen.setdefault(round(at, 6), point.text)) != point.text:
                    message = f'"{point.text}" falls at the same time as "{other}"'
                    message += f" for the {clock} target ({_format(target)})"
                    raise fail("remind", message, ("remind", index), show_input=False)
        return self

    def targets(self) -> dict[Clock, timedelta]:
        """The promised times given, first response first."""
        found: dict[Clock, timedelta | None] = {
            "first_response": self.first_response,
            "resolution": self.resolution,
        }
        return {clock: value for clock, value in found.items() if value is not None}


def _raw_durations(data: Mapping[Any, Any]) -> Iterator[tuple[KeyPath, object]]:
    """The policy's durations as written, with where each sits in the policy."""
    for key in ("first_response", "resolution"):
        yield (key,), data.get(key)
    remind = data.get("remind")
    for index, point in enumerate(remind if isinstance(remind, list) else ()):
        if isinstance(point, str) and (found := _BEFORE.fullmatch(point.strip())):
            yield ("remind", index), found.group(1)
    escalate = data.get("escalate")
    for index, entry in enumerate(escalate if isinstance(escalate, list) else ()):
        if isinstance(entry, dict):
            yield ("escalate", index, "after"), entry.get("after")


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


class ChannelLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...


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


def check_audience(audience: NotifyConfig, at: KeyPath, channels: Sequence[ChannelLike]) -> None:
    """The people a notice goes to can be reached: by an email channel, in staff groups."""
    if audience.email and not any(c.type == "email" for c in channels):
        message = "email notices are sent through an email channel's SMTP server: "
        message += "add an email channel, or use telegram"
        raise fail("no_email_channel", message, (*at, "email"), show_input=False)
    by_name = {channel.name: channel for channel in channels}
    for n, name in enumerate(audience.telegram):
        _staff_group(by_name.get(name), name, (*at, "telegram", n))


def _staff_group(channel: ChannelLike | None, name: str, at: KeyPath) -> None:
    if channel is None or channel.type != "telegram":
        what = "no channel" if channel is None else "not a telegram channel"
        raise fail("telegram_channel", f'"{name}" is {what}', at, show_input=False)
    if getattr(channel, "staff_chat_id", None) is None:
        message = f'telegram channel "{name}" has no staff_chat_id: there is no group to tell'
        raise fail("telegram_channel", message, at, show_input=False)


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
