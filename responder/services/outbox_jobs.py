"""The outbox's units of work: a reply and its tries, what a failed try says, and what a
previous run left to send."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from responder.domain.models import OutboundReply
from responder.errors import (
    ChannelDown,
    ChannelError,
    PermanentError,
    RecipientBlocked,
    TransientError,
)
from responder.services.delivery_policy import ReplyFacts
from responder.storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    reply: OutboundReply
    attempts: int  # tries made before this one
    facts: ReplyFacts
    released: bool = False  # woken early by its channel's recovery, not by its own timer


@dataclass(frozen=True)
class Failure:
    """A failed try, sorted: what it means for the reply and for its channel."""

    outcome: Literal["blocked", "permanent", "transient"]
    reason: str  # for last_error and the log
    retry_after: float | None = None  # the server's own wish
    down: bool = False  # the server is out of reach, not just this reply refused
    unexpected: bool = False  # not a ChannelError: a bug, retried like a passing fault


def classify(exc: Exception) -> Failure:
    if isinstance(exc, RecipientBlocked):
        return Failure("blocked", f"blocked: {exc}")
    if isinstance(exc, PermanentError):
        return Failure("permanent", f"permanent failure: {exc}")
    if isinstance(exc, TransientError):
        return Failure("transient", str(exc), exc.retry_after, isinstance(exc, ChannelDown))
    reason = str(exc) if isinstance(exc, ChannelError) else f"{type(exc).__name__}: {exc}"
    return Failure("transient", reason, unexpected=True)


async def leftovers(
    store: Store, channels: set[str], clock: Callable[[], datetime], dead: Collection[str] = ()
) -> tuple[list[tuple[Job, float]], int]:
    """A batch of pending replies no live instance sends (a previous run's, or an instance's
    that died: storage.claims), now this one's, each with the seconds until its next try;
    and how many were taken (some may belong to channels no longer configured)."""
    rows = await store.claim_replies(dead)
    if not rows:
        return [], 0
    facts = await store.reply_facts([row.id for row in rows])
    now = clock()
    jobs = []
    for row in rows:
        if row.channel not in channels:
            log.error(
                "reply %d belongs to channel %r, which is not configured; left unsent",
                row.id,
                row.channel,
            )
            continue
        kind, created_at = facts.get(row.id, (None, now))
        reply = OutboundReply(
            row.id, row.channel, row.envelope_from, (row.recipient,), row.message, row.message_id
        )
        delay = 0.0
        if row.next_attempt_at is not None:
            delay = (row.next_attempt_at - now).total_seconds()
        jobs.append((Job(reply, row.attempts, ReplyFacts(kind, created_at)), delay))
    return jobs, len(rows)


async def known_facts(store: Store, job: Job) -> ReplyFacts:
    """The reply's kind and age from the database, which its first failure needs; without
    them (the database refused) it is retried as if fresh and never expires."""
    if job.facts.kind is not None:
        return job.facts
    reply_id = job.reply.reply_id
    try:
        found = await store.reply_facts([reply_id])
    except Exception as exc:
        log.debug("reply %d: kind not read (%s); retried as if fresh", reply_id, exc)
        return job.facts
    if reply_id not in found:
        return job.facts
    kind, created_at = found[reply_id]
    return ReplyFacts(kind, created_at)
