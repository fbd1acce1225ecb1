"""`responder simulate`: what the daemon would do with one message, sending nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from responder.config import Config
from responder.core.decisions import ACKNOWLEDGEMENT, OUT_OF_HOURS, Acknowledge, Record, Suppress
from responder.core.settings import Settings
from responder.core.verdict import judge
from responder.core.view import View
from responder.ops.simulate_time import TimeSource, describe_time, parse_at
from responder.ops.simulate_webchat import webchat_messages
from responder.ops.simulate_whatsapp import KIND, default_channel, whatsapp_messages
from responder.services.settings import build_settings

# Where a channel's messages say when they were written, if not in a Date header; and what
# `describe` says a message without it lacks.
STAMPED: dict[str, TimeSource] = {KIND: "timestamp", "webchat": "stated"}
LACKS = {KIND: "timestamp", "webchat": '"at"'}


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
) -> list[dict[str, Any]]:
    """Each message of the file decided, as dicts with the keys `--json` promises: an email
    (or a Telegram update, with --channel), or every customer message of a WhatsApp webhook
    body on the channel of its number. At `at`, else when the message says it was written
    (a mail's Date header, WhatsApp's timestamp), else now. The sender is taken to have no
    history: no open ticket, no earlier automatic reply. BadMessage if the file does not fit."""
    settings = build_settings(config)
    chats = webchat_messages(config, raw, channel)
    if chats is not None:
        return [_decide(settings, name, record, at, dated) for name, record, dated in chats]
    messages = whatsapp_messages(config, raw, channel)
    if messages is None:
        return [_decide(settings, channel or default_channel(config), raw, at)]
    return [_decide(settings, name, message.raw, at) for name, message in messages]


def _decide(
    settings: Settings, name: str, raw: bytes, at: datetime | None, dated: bool = True
) -> dict[str, Any]:
    """`dated`: the message says when it was written (a web chat message made here from a
    file without "at" carries the time it was made: now)."""
    profile = settings.profiles[name]
    mail = profile.wire.parse(raw)
    stamped = STAMPED.get(profile.wire.kind, "date_header")
    source: TimeSource = "at" if at is not None else stamped if mail.date and dated else "now"
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
        "channel_type": profile.wire.kind,
        "message_id": mail.thread.message_id,
        "assumed_time": at.astimezone(zone).isoformat(),
        # at (--at), date_header, timestamp (WhatsApp), stated (a web chat's "at") or now
        "assumed_from": source,
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
            subject=rendered.subject or None,  # chats have none
            text=rendered.text,
        )
    return result


def describe(results: list[dict[str, Any]]) -> str:
    """The human reading of a simulation; a webhook's several messages each under its id."""
    if len(results) == 1:
        return describe_one(results[0])
    return "\n\n".join(
        f"Message {n} of {len(results)}: {result['message_id']}\n{describe_one(result)}"
        for n, result in enumerate(results, 1)
    )


def describe_one(result: dict[str, Any]) -> str:
    """The human reading of one message's simulation."""
    zone = ZoneInfo(result["timezone"])
    moment = datetime.fromisoformat(result["assumed_time"])
    stamp = LACKS.get(result["channel_type"], "valid Date header")
    lines = [f"Assumed time: {describe_time(moment, zone, result['assumed_from'], stamp)}", ""]
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
