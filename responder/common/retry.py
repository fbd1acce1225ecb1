"""Backoff with full jitter, shared by reconnect loops and send retries."""

from __future__ import annotations

import random

# A database fault (disk full, read-only) is retried sooner than a remote server's trouble: a
# disk freed by the admin should not leave mail waiting a minute (issue 13).
STORAGE_RETRY_CAP = 10.0


def backoff(
    attempt: int, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None
) -> float:
    """Seconds to wait before try number `attempt` (1-based): full jitter over base * 2^n.

    Full jitter spreads reconnecting clients apart (AWS architecture blog, "Exponential
    Backoff And Jitter"), so a mail server that restarts is not hit by every client at once.
    """
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(ceiling / 2, ceiling)
