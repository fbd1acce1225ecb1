"""`simulate` on a WhatsApp webhook body: its customer messages, each with its channel."""

from __future__ import annotations

import json
from collections.abc import Sequence

from responder.config import Config, WhatsAppChannelConfig
from responder.wire.whatsapp.envelope import EnvelopeError, Incoming, split

KIND = "whatsapp"
TAKES = (
    "an email (.eml), the JSON body Meta posts to a WhatsApp webhook, or a web chat message "
    '(JSON: {"visitor": "budi", "text": "..."})'
)
# Channels that take no file of their own: only their JSON (a webhook, a chat message).
JSON_ONLY = (KIND, "webchat")


class BadMessage(ValueError):
    """The file cannot be simulated on the channel it is for; says why (a usage error)."""


def looks_like_webhook(raw: bytes) -> bool:
    """A JSON object with Graph's `object` field: Meta's webhook shape, never a mail (which
    cannot open with "{") nor a Telegram update (which has no `object`)."""
    if not raw.lstrip().startswith(b"{"):
        return False
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(doc, dict) and "object" in doc


def default_channel(config: Config) -> str:
    """Where a file that is not a webhook is taken to arrive: the first channel that reads
    files of its own (a WhatsApp channel only takes webhooks, a web chat its messages)."""
    for channel in config.channels:
        if channel.type not in JSON_ONLY:
            return channel.name
    raise BadMessage(
        f"this is neither a WhatsApp webhook body nor a web chat message, and the config has "
        f"no email or Telegram channel; simulate takes {TAKES}"
    )


def whatsapp_messages(
    config: Config, raw: bytes, channel: str | None
) -> list[tuple[str, Incoming]] | None:
    """(channel name, message) for each customer message of a webhook body, or None when the
    file is for another channel (named by --channel, else not a webhook)."""
    named = next((c for c in config.channels if c.name == channel), None)
    if named is not None and named.type != KIND:
        return None
    if named is None and not looks_like_webhook(raw):
        return None
    try:
        note = split(raw)
    except EnvelopeError as exc:
        raise BadMessage(
            f"this is not a WhatsApp webhook body: {exc}; simulate takes {TAKES}"
        ) from None
    if not note.messages:
        what = f"{len(note.statuses)} delivery status(es)" if note.statuses else "nothing"
        raise BadMessage(f"the WhatsApp webhook holds no customer message to decide, {what}")
    if isinstance(named, WhatsAppChannelConfig):
        return [(named.name, m) for m in note.messages]
    numbers = [c for c in config.channels if isinstance(c, WhatsAppChannelConfig)]
    return [(_channel_for(m, numbers), m) for m in note.messages]


def _channel_for(message: Incoming, numbers: Sequence[WhatsAppChannelConfig]) -> str:
    """The channel whose phone_number_id the webhook names, else the only WhatsApp one."""
    if not numbers:
        raise BadMessage("this is a WhatsApp webhook body, and the config has no WhatsApp channel")
    matching = [c for c in numbers if c.phone_number_id == message.phone_number_id]
    if len(matching) == 1:
        return matching[0].name
    if len(numbers) == 1:
        return numbers[0].name
    choices = ", ".join(f"{c.name} (phone_number_id {c.phone_number_id})" for c in numbers)
    number = message.phone_number_id or "none"
    raise BadMessage(
        f"the webhook is for phone_number_id {number}, which names no single WhatsApp channel "
        f"of the config; choose one with --channel: {choices}"
    )
