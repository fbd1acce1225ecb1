"""The verdict on one message: its decision, the language and hours it was decided in, and
for an acknowledgement the reply rendered; shared by the daemon and `simulate`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from responder.core import tickets
from responder.core.channel import ChannelProfile
from responder.core.contexts import calendar_context, moment_at, render_context
from responder.core.decide import Policy, decide
from responder.core.decisions import Acknowledge, Decision, Moment
from responder.core.language import detect_language
from responder.core.settings import Settings
from responder.core.templates import Rendered
from responder.core.view import View
from responder.domain.message import Message


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    detected: str | None  # the language found in the message, if any
    moment: Moment
    next_open: datetime | None
    rendered: Rendered | None  # with Acknowledge


def policy_for(settings: Settings, profile: ChannelProfile) -> Policy:
    return Policy(
        profile.name,
        profile.guard,
        settings.cap.max_replies,
        settings.rules,
        settings.vip,
        profile.staff,
        profile.staff_chat,
        settings.closing,
    )


def detect(msg: Message) -> str | None:
    """The language the customer wrote in, if the words tell."""
    return detect_language(f"{msg.subject}\n{msg.text}" if msg.subject else msg.text)


def judge(
    msg: Message,
    settings: Settings,
    profile: ChannelProfile,
    view: View,
    now: datetime,
    new_ref: Callable[[], str] = tickets.new_ref,
    hours: tuple[Moment, datetime | None] | None = None,
) -> Verdict:
    """`hours` is moment_at(calendar, now), which a batch sharing one `now` reads once."""
    detected = detect(msg)
    moment, next_open = hours or moment_at(settings.calendar, now)
    policy = policy_for(settings, profile)
    decision = decide(msg, policy, view, moment, detected or msg.language, new_ref, now)
    if not isinstance(decision, Acknowledge):
        return Verdict(decision, detected, moment, next_open, None)
    # A rule's language, else the customer's (what they wrote in, else their app's setting),
    # else the channel's; English is always shipped.
    wanted = decision.action.language or detected or msg.language or profile.language
    chain = list(dict.fromkeys([wanted, profile.language, "en"]))
    language = settings.templates.languages_for(decision.template, chain) or wanted
    context = render_context(profile, msg, decision.ref, msg.title)
    context.update(
        calendar_context(settings.calendar, language, now, moment, next_open), language=language
    )
    rendered = profile.wire.content(settings.templates, decision.template, chain, context)
    return Verdict(decision, detected, moment, next_open, rendered)
