"""The pipeline: a recorded inbound message becomes a suppression, a follow-up or a reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from responder import guards, tickets
from responder.mail.compose import ReplySpec, build_reply, new_message_id
from responder.mail.parse import ParsedMail, parse_message
from responder.storage.records import InboundRow, NewReply, NewTicket
from responder.storage.store import Store
from responder.templates import Templates

log = logging.getLogger(__name__)

ACKNOWLEDGEMENT = "acknowledgement"
EXCERPT_CHARS = 300


@dataclass(frozen=True)
class ChannelProfile:
    """What deciding needs to know about a channel, derived once from its config."""

    name: str
    address: str
    display_name: str | None
    language: str
    envelope_from: str
    guard: guards.GuardContext

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class ReplyCap:
    max_replies: int
    window: timedelta


class Dispatcher:
    """Consumes inbound ids from the one bounded queue, one at a time, in arrival order.

    One consumer keeps threading exact: a follow-up is always decided after the message
    that opened its ticket. Sending happens elsewhere (the outbox), so slow SMTP never
    holds up deciding.
    """

    def __init__(
        self,
        store: Store,
        templates: Templates,
        profiles: Mapping[str, ChannelProfile],
        cap: ReplyCap,
        submit: Callable[[int, str], None],
        clock: Callable[[], datetime],
        queue_size: int = 1000,
    ) -> None:
        self._store = store
        self._templates = templates
        self._profiles = profiles
        self._cap = cap
        self._submit = submit
        self._clock = clock
        # Bounded: when deciding falls behind, intake waits instead of memory growing.
        self.queue: asyncio.Queue[int] = asyncio.Queue(queue_size)

    async def run(self) -> None:
        while True:
            inbound_id = await self.queue.get()
            try:
                await self.handle(inbound_id)
            except Exception:
                # Left in state "new": decided again at the next start, never dropped.
                log.exception(
                    "inbound message %d could not be handled; will retry at restart", inbound_id
                )
            finally:
                self.queue.task_done()

    async def handle(self, inbound_id: int) -> str:
        row = await self._store.inbound(inbound_id)
        if row is None or row.state != "new":
            return "already-done"
        # Parsing is CPU work, and a crafted message can make it slow: off the event loop.
        mail = await asyncio.to_thread(parse_message, row.raw)
        profile = self._profiles.get(row.channel)
        if profile is None:
            return await self._suppress(
                row, mail, "unknown-channel", f"channel {row.channel!r} is no longer configured"
            )
        verdict = guards.check(mail, profile.guard)
        if verdict is not None:
            return await self._suppress(row, mail, verdict.rule, verdict.reason)
        ticket = await self._store.ticket_for_thread(tickets.thread_message_ids(mail))
        for ref in tickets.refs_in_subject(mail.subject) if ticket is None else ():
            ticket = await self._store.ticket_by_ref(ref)
            if ticket is not None:
                break
        if ticket is not None:
            await self._store.finish_followup(
                row.id, ticket.id, mail.message_id, mail.from_addr, mail.subject
            )
            log.info(
                "inbound %d from %s joins ticket %s (no second acknowledgement)",
                row.id,
                mail.from_addr,
                ticket.ref,
            )
            return "follow-up"
        target = tickets.reply_target(mail)
        if target is None:
            return await self._suppress(row, mail, "no-reply-address", "no usable address")
        since = self._clock() - self._cap.window
        recent = await self._store.recent_replies_to(target, since)
        if recent >= self._cap.max_replies:
            return await self._suppress(
                row,
                mail,
                "reply-cap",
                f"{recent} automatic replies to {target} within {self._cap.window}",
            )
        await self._acknowledge(row, mail, profile, target)
        return "replied"

    async def _acknowledge(
        self, row: InboundRow, mail: ParsedMail, profile: ChannelProfile, target: str
    ) -> None:
        ref = tickets.new_ref()
        while await self._store.ref_exists(ref):
            ref = tickets.new_ref()
        subject = tickets.base_subject(mail.subject)
        rendered = self._templates.render(
            ACKNOWLEDGEMENT, [profile.language, "en"], render_context(profile, mail, ref, subject)
        )
        message_id = new_message_id(profile.domain)
        message = build_reply(
            ReplySpec(
                from_addr=profile.address,
                from_name=profile.display_name,
                to_addr=target,
                to_name=mail.from_name if target == mail.from_addr else "",
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                message_id=message_id,
                date=self._clock(),
                parent_id=mail.message_id,
                parent_references=mail.references,
                parent_in_reply_to=mail.in_reply_to,
            )
        )
        _, reply_id = await self._store.finish_replied(
            row.id,
            row.channel,
            NewTicket(ref, row.channel, target, mail.from_name, subject, rendered.language),
            [mail.message_id, row.external_id],
            NewReply(ACKNOWLEDGEMENT, target, profile.envelope_from, message_id, message),
        )
        log.info(
            "inbound %d from %s: ticket %s opened, acknowledgement %d queued (%s)",
            row.id,
            target,
            ref,
            reply_id,
            rendered.language,
        )
        self._submit(reply_id, row.channel)

    async def _suppress(self, row: InboundRow, mail: ParsedMail, rule: str, reason: str) -> str:
        await self._store.finish_suppressed(row.id, row.channel, rule, reason, mail.from_addr)
        log.info(
            "inbound %d from %s not answered: %s (%s)", row.id, mail.from_addr or "?", rule, reason
        )
        return "suppressed"


def render_context(
    profile: ChannelProfile, mail: ParsedMail | None, ref: str, subject: str
) -> dict[str, Any]:
    """The data a template sees. Customer text is only ever a value here, never source."""
    return {
        "ticket": {"ref": ref},
        "customer": {
            "name": mail.from_name if mail else "",
            "address": mail.from_addr if mail else "",
        },
        "message": {
            "subject": subject,
            "excerpt": (mail.text[:EXCERPT_CHARS] if mail else ""),
        },
        "business": {"name": profile.display_name or profile.address, "address": profile.address},
        "channel": {"name": profile.name, "address": profile.address},
    }
