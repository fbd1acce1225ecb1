"""Building the Settings deciding uses from a validated Config, every template checked."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

from responder.channels import registry
from responder.config import Config, library_limits
from responder.config.calendar import build_calendar
from responder.config.desk import desks
from responder.config.sla import build_policies
from responder.config.tickets import close_policy
from responder.config.webchat import email_channels
from responder.core.channel import ChannelProfile
from responder.core.contexts import sample_context
from responder.core.settings import ReplyCap, Settings
from responder.core.templates import Templates
from responder.errors import ConfigError
from responder.services.canned_files import canned_files


def channel_profiles(config: Config) -> dict[str, ChannelProfile]:
    """Each channel's profile, with the staff group that hears its tickets."""
    desk, by_email = desks(config.channels), email_channels(config.channels)
    return {
        channel.name: dataclasses.replace(
            registry.profile(channel), desk=desk[channel.name], by_email=by_email.get(channel.name)
        )
        for channel in config.channels
    }


def _fingerprint(config: Config) -> str:
    parts = [
        config.timezone,
        # repr: these models hold values (Period, ZoneInfo) JSON does not serialise.
        repr(config.sla),
        repr(config.business_hours),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _links(config: Config) -> str | None:
    if config.csat is None or not config.csat.links or config.http is None:
        return None
    return config.http.public_url


def build_settings(config: Config) -> Settings:
    """Everything `responder check` verifies, before anything connects: library limits, and
    every template any rule can use rendered against a sample, so a typo stops the start (or
    the reload), not a reply."""
    problems = library_limits(config)
    profiles = channel_profiles(config)
    canned, unfit = canned_files(config, profiles.values())
    if problems or unfit:
        raise ConfigError([*problems, *unfit])
    cap = config.guards.reply_cap
    settings = Settings(
        templates=Templates(config.templates_dir),
        profiles=profiles,
        cap=ReplyCap(cap.max_replies, cap.window),
        rules=config.rules,
        vip=tuple(config.vip),
        calendar=build_calendar(config.business_hours, config.timezone),
        sla=build_policies(config.sla),
        sla_fingerprint=_fingerprint(config),
        csat=config.csat,
        survey_links=_links(config),
        canned=canned,
        closing=close_policy(config.tickets),
    )
    now = datetime.now(UTC)
    for profile in settings.profiles.values():
        settings.templates.require(
            sorted(settings.template_names),
            sample_context(profile, settings.calendar, now),
            registry.template_parts(),
        )
    return settings
