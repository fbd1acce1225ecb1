"""Deciding, pure: after a failed try, when a reply goes again, or whether it is given up;
before a try, whether an acknowledgement has grown too old to send. Time is passed in."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from responder.common.retry import backoff

# Replies that only say "we got your message": hours late, they confuse more than they help
# (the customer may have had a staff answer since). Everything else a person needs: staff
# replies and relays, notices and SLA alerts to staff, survey messages, and a rule's own
# answer (a template such as "payment" carries what the customer asked for).
ACKNOWLEDGEMENTS = frozenset({"acknowledgement", "out_of_hours", "welcome"})


@dataclass(frozen=True)
class RetryPolicy:
    """How temporary failures are retried (delivery: in the config)."""

    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=30)
    # RFC 5321 section 4.5.4.1: a sender keeps trying a temporary failure for days (4-5 is
    # suggested for an MTA); two are plenty for replies a person is waiting for.
    lifetime: timedelta = timedelta(days=2)
    ack_max_age: timedelta | None = timedelta(hours=6)  # None: acknowledgements never expire
    max_attempts: int | None = None  # an optional cap on tries, besides the lifetime
    # The longest pause between two probes of a channel that is down.
    probe_interval: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class ReplyFacts:
    """What deciding needs to know about a reply beyond its tries."""

    kind: str | None  # None: not known yet (never expires)
    created_at: datetime


@dataclass(frozen=True)
class Retry:
    delay: float  # seconds


@dataclass(frozen=True)
class Park:
    why: str


@dataclass(frozen=True)
class Expire:
    why: str


def expires(kind: str | None) -> bool:
    """Whether a reply of this kind is dropped once older than ack_max_age."""
    return kind in ACKNOWLEDGEMENTS


def stale(policy: RetryPolicy, facts: ReplyFacts, now: datetime) -> Expire | None:
    """Expire when `facts` is an acknowledgement that would go out too late."""
    limit = policy.ack_max_age
    if limit is None or not expires(facts.kind):
        return None
    if now - facts.created_at <= limit:
        return None
    return Expire(
        f"not sent: this {facts.kind} reply could not go out within delivery.ack_max_age "
        f"({span(limit)}), so it would come too late"
    )


def after_failure(
    policy: RetryPolicy,
    facts: ReplyFacts,
    now: datetime,
    attempts: int,
    error: str,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> Retry | Park | Expire:
    """What to do after try number `attempts` failed temporarily with `error`.

    The wait is the server's own retry_after if it gave one, else backoff with jitter; it
    never runs past the moment an acknowledgement goes stale (so it is marked expired on
    time) or past the lifetime (one last try is made as it ends, as an MTA does).
    """
    expired = stale(policy, facts, now)
    if expired is not None:
        return expired
    age = now - facts.created_at
    if policy.max_attempts is not None and attempts >= policy.max_attempts:
        return Park(f"gave up after {attempts} attempts: {error}")
    if age >= policy.lifetime:
        return Park(
            f"gave up after {span(age)} of temporary failures "
            f"({attempts} attempts; delivery.lifetime is {span(policy.lifetime)}): {error}"
        )
    if retry_after is not None:
        delay = retry_after
    else:
        delay = backoff(attempts, policy.base.total_seconds(), policy.cap.total_seconds(), rng)
        delay = min(delay, (policy.lifetime - age).total_seconds())
    if policy.ack_max_age is not None and expires(facts.kind):
        delay = min(delay, (policy.ack_max_age - age).total_seconds())
    return Retry(max(delay, 0.0))


def span(delta: timedelta) -> str:
    """2d 3h, 6h, 45m 10s, 1.5s: the two largest units, for log lines and last_error."""
    seconds = delta.total_seconds()
    if seconds < 60:
        return f"{seconds:.3g}s"
    parts: list[str] = []
    rest = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
        if len(parts) == 2:
            break
    return " ".join(parts)
