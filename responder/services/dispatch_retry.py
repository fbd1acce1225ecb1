"""Inbound messages that could not be decided or recorded, tried again in-process with backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from responder.common.retry import backoff
from responder.domain.models import Failing
from responder.errors import StorageUnavailable, TransientError

log = logging.getLogger(__name__)

# A database fault passes (the admin frees the disk): tried again within seconds, so a message
# is answered soon after the fault clears, never left for a restart that may come weeks later
# (issue 13).
PASSING_BASE, PASSING_CAP = 1.0, 30.0
# Anything else is a bug or a message the code cannot take: tried again less often, while the
# other messages go on.
BUG_BASE, BUG_CAP = 5.0, 900.0
# After this many failed tries a message shows in `responder status`.
REPORT_AFTER = 3


@dataclass
class _Try:
    attempts: int
    due: float
    error: str


def passing(exc: BaseException) -> bool:
    """Whether the fault is the database's or a server's passing condition, not a bug."""
    return isinstance(exc, StorageUnavailable | TransientError)


class Retries:
    """Which messages wait for another try, and when; the dispatcher asks for the due ones."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        passing: tuple[float, float] = (PASSING_BASE, PASSING_CAP),
        bug: tuple[float, float] = (BUG_BASE, BUG_CAP),
    ) -> None:
        self._clock = clock
        self._passing, self._bug = passing, bug
        self._tries: dict[int, _Try] = {}

    def __len__(self) -> int:
        return len(self._tries)

    def failed(self, ids: Iterable[int], exc: BaseException) -> tuple[float, list[Failing]]:
        """Schedule the next try of `ids`; returns the delay and the messages to report."""
        now, error = self._clock(), _reason(exc)
        base, cap = self._passing if passing(exc) else self._bug
        delay, report = 0.0, []
        for inbound_id in ids:
            attempts = self._tries[inbound_id].attempts + 1 if inbound_id in self._tries else 1
            delay = backoff(attempts, base, cap)
            self._tries[inbound_id] = _Try(attempts, now + delay, error)
            if attempts >= REPORT_AFTER:
                report.append(Failing(inbound_id, attempts, error))
        return delay, report

    def attempts(self, inbound_id: int) -> int:
        found = self._tries.get(inbound_id)
        return found.attempts if found else 0

    def settled(self, ids: Iterable[int]) -> None:
        """A batch went through: its messages that did not fail again wait no more."""
        for inbound_id in ids:
            found = self._tries.get(inbound_id)
            if found is not None and found.due == float("inf"):
                del self._tries[inbound_id]
                log.info("inbound %d decided after %d failed tries", inbound_id, found.attempts)

    def due(self) -> list[int]:
        """The messages whose time has come, oldest first; they leave the waiting list's
        schedule until they fail again (their count of tries is kept)."""
        now = self._clock()
        ready = sorted(i for i, t in self._tries.items() if t.due <= now)
        for inbound_id in ready:
            self._tries[inbound_id].due = float("inf")
        return ready

    def wait(self) -> float | None:
        """Seconds until the next try is due; None when nothing waits."""
        dues = [t.due for t in self._tries.values() if t.due != float("inf")]
        return max(0.0, min(dues) - self._clock()) if dues else None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__
