"""`responder simulate`: what the daemon would do with one message, sending nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from responder.config import Config
from responder.core.decisions import ACKNOWLEDGEMENT, OUT_OF_HOURS, Acknowledge, Record, Suppress
from responder.core.verdict import judge
from responder.core.view import View
from responder.ops.simulate_time import TimeSource, describe_time, parse_at
from responder.services.settings import build_settings


def parse_when(text: str | None, config: Config, now: datetime | None = None) -> datetime | None:
    """--at (see simulate_time.ACCEPTED_FORMS), None without it; ValueError if unreadable."""
    if text is None:
        return None
    from responder.config.calendar import build_calendar

    zone = build_calendar(config.business_hours, config.timezone).timezone
    return parse_at(text, zone, now or datetime.now(UTC))


def simulate(
    config: Config,
    raw: bytes,
    at: datetime | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """The decision as a dict with the keys `--json` promises, at `at`, else when the message
    says it was written (its Date header), else now. The sender is taken to have no
    history: no open ticket, no earlier automatic reply."""
    settings = build_settings(config)
    name = channel or config.channels[0].name
    profile = settings.profiles[name]
    mail = profile.wire.parse(raw)
    source: TimeSource = "at" if at is not None else "date_header" if mail.date else "now"
    at = at or mail.date or datetime.now(UTC)
    zone = settings.calendar.timezone
    verdict = judge(mail, settings, profile, View(), at)
    decision = verdict.decision
    result: dict[str, Any] = {
        "action": "none",
        "rule": getattr(decision, "rule", None),
        "template": None,
        "language": verdict.detected or profile.language,
        "detected_language": verdict.detected,
        "open": verdict.moment.is_open,
        "holiday": verdict.moment.holiday,
        "next_open": verdict.next_open.isoformat() if verdict.next_open else None,
        "guard": None,
        "reason": None,
        "subject": None,
        "text": None,
        "channel": name,
        "assumed_time": at.astimezone(zone).isoformat(),
        "assumed_from": source,  # at (--at), date_header or now
        "timezone": zone.key,
    }
    if isinstance(decision, Suppress):
        result.update(action="suppress", guard=decision.rule, reason=decision.reason)
    elif isinstance(decision, Record):
        result.update(reason=decision.reason)
    elif isinstance(decision, Acknowledge) and verdict.rendered is not None:
        rendered = verdict.rendered
        action = {ACKNOWLEDGEMENT: "acknowledge", OUT_OF_HOURS: "out_of_hours"}
        result.update(
            action=action.get(decision.template, "answer"),
            template=decision.template,
            language=rendered.language,
            subject=rendered.subject,
            text=rendered.text,
        )
    return result


def describe(result: dict[str, Any]) -> str:
    """The human reading of a simulation."""
    zone = ZoneInfo(result["timezone"])
    moment = datetime.fromisoformat(result["assumed_time"])
    lines = [f"Assumed time: {describe_time(moment, zone, result['assumed_from'])}", ""]
    for key in (
        "action",
        "rule",
        "guard",
        "reason",
        "template",
        "language",
        "detected_language",
        "open",
        "holiday",
        "next_open",
        "channel",
        "subject",
    ):
        if result.get(key) is not None:
            lines.append(f"{key + ':':<19}{result[key]}")
    if result.get("text"):
        lines += ["", result["text"].rstrip()]
    return "\n".join(lines)
