"""Whether an automatic message may still go to a customer as it is, pure. A channel with a
reply window (WhatsApp's customer service window: 24 hours after the customer's last message,
by WhatsApp's own timestamp of it, issue 16) takes only an approved template after that: the
one the admin named for the message's kind, else nothing, with the reason recorded."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from responder.core.channel import ChannelProfile, Draft, TemplateSend

# Meta refuses an empty body variable; a customer with no profile name is called this.
NAMELESS = {"id": "Pelanggan", "en": "Customer"}


@dataclass(frozen=True)
class Skipped:
    """Nothing is sent, and why, in the admin's words: a fixed sentence with its particulars
    in a trailing parenthesis, so the report can count skips by reason."""

    reason: str


def closed_for(profile: ChannelProfile, last: datetime | None, now: datetime) -> timedelta | None:
    """How long ago the customer last wrote, when that is beyond the channel's reply window;
    None while it is open, on a channel without one, or when the time is not known."""
    window = profile.wire.reply_window
    if window is None or last is None:
        return None
    ago = now - last
    return ago if ago > window else None


def fit(
    draft: Draft,
    profile: ChannelProfile,
    language: str,
    last: datetime | None,
    now: datetime,
    *,
    ref: str = "",
    ratings: Mapping[int, str] | None = None,
) -> Draft | Skipped:
    """The draft as it may go to a customer who last wrote at `last`, in `language`: as it is
    inside the window; outside it, as the template configured for its kind (body variables
    from the customer's name and `ref`; rating buttons answering with `ratings`' data)."""
    ago = closed_for(profile, last, now)
    window = profile.wire.reply_window
    if ago is None or window is None:
        return draft
    template = dict(profile.approved).get(draft.kind)
    if template is None:
        return Skipped(
            f"the {span(window)} reply window had closed and no template is set for "
            f"{draft.kind} (the customer last wrote {ago_words(ago)} ago)"
        )
    values = {"customer_name": draft.to_name or NAMELESS.get(language, NAMELESS["en"]), "ref": ref}
    found = ratings or {}
    send = TemplateSend(
        template.name,
        template.code(language),
        tuple(_one_line(values.get(p, "")) for p in template.parameters),
        tuple(found[r] for r in template.ratings if r in found),
    )
    # An approved template carries no file of ours: the canned files wait for the customer.
    return dataclasses.replace(draft, template=send, buttons=None, attach=())


def span(window: timedelta) -> str:
    """24 hours as "24-hour", for a sentence."""
    hours = int(window.total_seconds() // 3600)
    return f"{hours}-hour"


def ago_words(ago: timedelta) -> str:
    """30 hours, 3 days: hours up to two days, days after."""
    hours = int(ago.total_seconds() // 3600)
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"


def _one_line(value: str) -> str:
    # Meta refuses a variable with a line break, a tab or more than four spaces in a row.
    return " ".join(value.split()) or "-"
