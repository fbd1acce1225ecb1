"""The pipeline: a recorded inbound message becomes a suppression, a follow-up or a reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from responder import guards, tickets
from responder.decide import (
    MAX_MESSAGE_ID,
    Acknowledge,
    Decision,
    FollowUp,
    Policy,
    Suppress,
    View,
    decide,
    lookup_keys,
)
from responder.mail.compose import ReplySpec, build_reply, new_message_id
from responder.mail.parse import ParsedMail, parse_message
from responder.models import OutboundReply
from responder.storage.decisions import Outcome
from responder.storage.records import InboundRow, NewReply, NewTicket
from responder.storage.store import Store
from responder.templates import Templates

log = logging.getLogger(__name__)

ACKNOWLEDGEMENT = "acknowledgement"
BATCH = 100
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
    """Consumes inbound ids from the one bounded queue and decides them in arrival order.

    One consumer keeps threading exact: a follow-up is always decided after the message that
    opened its ticket, even within one batch. Whatever is queued is taken as a batch (up to
    BATCH): one read and one write transaction serve the whole batch, which is what lets a
    backlog go quickly. Sending happens in the outbox, so slow SMTP never holds up deciding.
    """

    def __init__(
        self,
        store: Store,
        templates: Templates,
        profiles: Mapping[str, ChannelProfile],
        cap: ReplyCap,
        submit: Callable[[OutboundReply], None],
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
            batch = [await self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._handle_or_split(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _handle_or_split(self, batch: list[int]) -> None:
        """One message that cannot be recorded must not hold up the others in its batch."""
        try:
            await self.handle(batch)
            return
        except Exception:
            if len(batch) == 1:
                # Left in state "new": decided again at the next start, never dropped.
                log.exception("inbound %d could not be handled; left for the next start", batch[0])
                return
            log.exception("a batch of %d failed; deciding its messages one by one", len(batch))
        for inbound_id in batch:
            await self._handle_or_split([inbound_id])

    async def handle(self, ids: Sequence[int]) -> dict[int, str]:
        """Decide and record a batch; returns {inbound id: outcome} for those decided now."""
        rows = await self._store.inbound_many(ids)
        if not rows:
            return {}
        # Parsing is CPU work, and a crafted message can make it slow: off the event loop.
        mails = await asyncio.to_thread(lambda: [parse_message(row.raw) for row in rows])
        message_ids, refs, targets = lookup_keys(mails)
        candidates = [tickets.new_ref() for _ in range(2 * len(rows) + 4)]
        view = await self._store.view(
            message_ids, refs | set(candidates), targets, self._clock() - self._cap.window
        )
        fresh = iter([c for c in candidates if c not in view.existing_refs])
        outcomes = []
        for row, mail in zip(rows, mails, strict=True):
            try:
                outcomes.append(
                    self._decide(row, mail, view, lambda: next(fresh, tickets.new_ref()))
                )
            except Exception:
                log.exception("inbound %d could not be decided; left for the next start", row.id)
        reply_ids = await self._store.apply(outcomes)
        for outcome in outcomes:
            self._log(outcome, reply_ids.get(outcome.inbound_id))
            reply = outcome.reply
            if reply is not None:
                self._submit(
                    OutboundReply(
                        reply_ids[outcome.inbound_id],
                        outcome.channel,
                        reply.envelope_from,
                        (reply.recipient,),
                        reply.message,
                        reply.message_id,
                    )
                )
        return {o.inbound_id: _word(o.decision) for o in outcomes}

    def _decide(
        self, row: InboundRow, mail: ParsedMail, view: View, new_ref: Callable[[], str]
    ) -> Outcome:
        own_ids = tuple(
            i for i in (mail.message_id, row.external_id) if i and len(i) <= MAX_MESSAGE_ID
        )

        def outcome(decision: Decision, **extra: Any) -> Outcome:
            return Outcome(
                row.id, row.channel, mail.from_addr, mail.subject, own_ids, decision, **extra
            )

        profile = self._profiles.get(row.channel)
        if profile is None:
            return outcome(Suppress("unknown-channel", f"channel {row.channel!r} is gone"))
        decision = decide(mail, Policy(profile.guard, self._cap.max_replies), view, new_ref)
        if isinstance(decision, FollowUp):
            view.joined(decision.ref, mail.message_id)
        if not isinstance(decision, Acknowledge):
            return outcome(decision)
        ticket, reply = self._acknowledgement(mail, profile, decision)
        view.opened(decision.ref, [*own_ids, reply.message_id], decision.target)
        return outcome(decision, ticket=ticket, reply=reply)

    def _acknowledgement(
        self, mail: ParsedMail, profile: ChannelProfile, decision: Acknowledge
    ) -> tuple[NewTicket, NewReply]:
        subject = tickets.base_subject(mail.subject)
        rendered = self._templates.render(
            ACKNOWLEDGEMENT,
            [profile.language, "en"],
            render_context(profile, mail, decision.ref, subject),
        )
        message_id = new_message_id(profile.domain)
        message = build_reply(
            ReplySpec(
                from_addr=profile.address,
                from_name=profile.display_name,
                to_addr=decision.target,
                to_name=mail.from_name if decision.target == mail.from_addr else "",
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
        ticket = NewTicket(
            decision.ref, profile.name, decision.target, mail.from_name, subject, rendered.language
        )
        reply = NewReply(
            ACKNOWLEDGEMENT, decision.target, profile.envelope_from, message_id, message
        )
        return ticket, reply

    @staticmethod
    def _log(outcome: Outcome, reply_id: int | None) -> None:
        decision = outcome.decision
        who = outcome.sender or "?"
        if isinstance(decision, Suppress):
            log.info(
                "inbound %d from %s not answered: %s (%s)",
                outcome.inbound_id,
                who,
                decision.rule,
                decision.reason,
            )
        elif isinstance(decision, FollowUp):
            log.info(
                "inbound %d from %s joins ticket %s (no second acknowledgement)",
                outcome.inbound_id,
                who,
                decision.ref,
            )
        else:
            log.info(
                "inbound %d from %s: ticket %s opened, acknowledgement %s queued",
                outcome.inbound_id,
                who,
                decision.ref,
                reply_id,
            )


def _word(decision: Decision) -> str:
    if isinstance(decision, Suppress):
        return "suppressed"
    return "follow-up" if isinstance(decision, FollowUp) else "replied"


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
