"""A batch as deciding sees it: rows read by their channel's wire, grouped by their view."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from responder.core.decisions import Moment
from responder.core.settings import Settings
from responder.core.view import View, ViewKeys, lookup_keys
from responder.domain.message import Message
from responder.domain.records import InboundRow
from responder.storage.chat_view import ChatKeys
from responder.storage.store import Store


def parse(settings: Settings, rows: Sequence[InboundRow]) -> list[Message | None]:
    """Each row read by its own channel's wire; None for a channel since removed."""
    out: list[Message | None] = []
    for row in rows:
        profile = settings.profiles.get(row.channel)
        wire = profile.wire if profile is not None else None
        out.append(wire.parse(row.raw, row.received_at, row.external_id) if wire else None)
    return out


def scopes(settings: Settings, rows: Sequence[InboundRow]) -> list[list[int]]:
    """Row positions grouped by what they are decided against: one view for every mailbox
    (an address or a Message-ID is the same in each), one per chat channel (a chat id means
    something only to its own bot), in order of first appearance."""
    scopes: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        profile = settings.profiles.get(row.channel)
        if profile is None:
            key = f"gone:{row.channel}"
        elif profile.wire.threading == "conversation":
            key = f"channel:{profile.name}"
        else:
            key = f"wire:{profile.wire.kind}"
        scopes.setdefault(key, []).append(index)
    return list(scopes.values())


def _read_last(settings: Settings, view: View) -> dict[str, Message]:
    """Each answered ticket's last customer message, read by its own channel's wire."""
    out: dict[str, Message] = {}
    for ref, (channel, raw) in view.last_raw.items():
        profile = settings.profiles.get(channel)
        if profile is not None:
            out[ref] = profile.wire.parse(raw)
    return out


def _chat_keys(keys: ViewKeys) -> ChatKeys:
    assert keys.channel is not None
    return ChatKeys(
        channel=keys.channel,
        staff_chat=keys.staff_chat,
        customers=keys.customers,
        posts=keys.posts,
        threads=keys.threads,
        refs=keys.refs,
        surveys=keys.surveys,
        replied=keys.replied,
        merging=keys.merging,
    )


async def load_view(
    store: Store,
    settings: Settings,
    rows: Sequence[InboundRow],
    msgs: Sequence[Message | None],
    candidates: list[str],
    now: datetime,
    hours: tuple[Moment, datetime | None],
) -> View:
    """One read for what a scope's messages name. A chat's customers and posts mean
    something only in their own channel; mail's addresses and ids in every mailbox."""
    profile = settings.profiles.get(rows[0].channel)
    if profile is None:
        return View()  # a channel since removed: nothing to look up
    own = profile.wire.threading == "conversation"
    keys = lookup_keys(
        [m for m in msgs if m is not None],
        candidates,
        profile.name if own else None,
        profile.staff_chat if own else None,
    )
    since, period = now - settings.cap.window, hours[0].period
    periods = [period] if period else []
    if keys.channel is not None:
        view = await store.chat_view(_chat_keys(keys), since, periods)
        if view.last_raw:
            # Parsing is CPU work: off the event loop, as for the batch itself.
            view.last_message = await asyncio.to_thread(_read_last, settings, view)
        return view
    return await store.view(keys.message_ids, keys.refs, keys.targets, since, periods)
