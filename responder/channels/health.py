"""How each connection of a channel is doing (an IMAP watcher, the SMTP side, a bot), and how
fast to retry what only the admin can fix."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from responder.channels.base import ChannelHealth
from responder.channels.diagnose import Diagnosis, Endpoint, diagnose, name_unknown
from responder.config.yamlload import format_path
from responder.errors import PermanentError

# A failure only the admin can fix (a refused password, a missing folder) is tried again this
# often, not at the 1-60 s pace of a passing fault: the fix is noticed within minutes, and a
# wrong password is not tried so often that the provider locks the account.
SLOW_RETRY = 300.0
# A host name that cannot be found is a DNS hiccup at first; this long, it is a typo.
UNKNOWN_HOST_GRACE = 300.0
# Worst first: a channel reports its worst connection.
RANK = ("failed", "reconnecting", "starting", "connected", "stopped")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Condition:
    """One connection's state, since when, and its last problem. `failed(exc)` sorts the
    failure: "failed" when only the admin can fix it, else "reconnecting"."""

    def __init__(
        self,
        at: Endpoint,
        state: str = "starting",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.at = at
        self._clock = clock
        self.state = state
        self.since = clock()
        self.problem: Diagnosis | None = None
        self.cause: BaseException | None = None
        self._unknown_host_since: float | None = None  # time.monotonic()

    def _enter(self, state: str) -> None:
        if state != self.state:
            self.state, self.since = state, self._clock()

    def connected(self) -> None:
        self.problem, self.cause, self._unknown_host_since = None, None, None
        self._enter("connected")

    def stopped(self) -> None:
        if self.state != "failed":  # a failed channel stays failed: stopping does not fix it
            self._enter("stopped")

    def starting(self) -> None:
        """New settings: forget the old trouble."""
        self.problem, self.cause, self._unknown_host_since = None, None, None
        self._enter("starting")

    def failed(self, exc: BaseException) -> Diagnosis:
        """Record a failure to reach the server; returns its diagnosis."""
        problem = diagnose(exc, self.at)
        if isinstance(exc, PermanentError) and not problem.permanent:
            problem = replace(problem, permanent=True)
        if unknown_host(exc):
            now = time.monotonic()
            if self._unknown_host_since is None:
                self._unknown_host_since = now
            if now - self._unknown_host_since >= UNKNOWN_HOST_GRACE:
                problem = replace(problem, permanent=True)
        else:
            self._unknown_host_since = None
        self.problem, self.cause = problem, exc
        self._enter("failed" if problem.permanent else "reconnecting")
        return problem

    def trouble(self, problem: Diagnosis) -> None:
        """A passing fault that is not the server's (the database is full): reconnecting."""
        self.problem, self.cause = problem, None
        self._enter("reconnecting")

    def health(self, partial: bool = False) -> ChannelHealth:
        return ChannelHealth(
            self.state,
            self.since,
            self.problem,
            partial,
            self.cause,
            self.at if self.cause else None,
        )


def worst(parts: Sequence[tuple[Condition, bool]]) -> ChannelHealth:
    """The channel's health: its worst (condition, partial) part; the first among equals, so
    list the main connection first."""
    # Among equals, a whole failure before a partial one: a broken SMTP sign-in must not hide
    # behind a missing Sent folder.
    part, partial = min(parts, key=lambda p: (RANK.index(p[0].state), p[1]))
    return part.health(partial and part.state != "connected")


def unknown_host(exc: BaseException) -> bool:
    """Whether the server's name could not be resolved (the gaierror under any wrapper)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, socket.gaierror):
            return name_unknown(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def located(health: ChannelHealth, index: int | None, config_file: str) -> ChannelHealth:
    """`health` as the admin reads it: the remedy naming the config file, the key with its
    place in it (channels[0].imap.password_file)."""
    problem = health.problem
    if problem is None:
        return health
    if health.cause is not None and health.at is not None:
        fresh = diagnose(health.cause, replace(health.at, config_file=config_file))
        problem = replace(fresh, permanent=problem.permanent)
    if index is not None and problem.key:
        parts = tuple(p for p in problem.key.split(".") if p)
        problem = replace(problem, key=format_path(("channels", index, *parts)))
    return replace(health, problem=problem)


def explain(problem: Diagnosis) -> str:
    """ "the password ... was refused by imap.gmail.com (channels[0].password_file): remedy"."""
    text = f"{problem.problem} ({problem.key})" if problem.key else problem.problem
    return f"{text}: {problem.remedy}" if problem.remedy else text


def pace(seconds: float) -> str:
    """300 -> "5 minutes", 90 -> "90 seconds"."""
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


class Conditioned:
    """A channel's `state` and `health`, read from the Condition it keeps (`_condition`)."""

    _condition: Condition

    @property
    def state(self) -> str:
        return self._condition.state

    @property
    def health(self) -> ChannelHealth:
        return self._condition.health()
