"""Rate limits by key (a visitor, an IP address): a token bucket each, in bounded memory."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

# Keys remembered at once; past it the least recently seen is forgotten (it starts full
# again: a flood of new addresses costs memory no more than this).
KEYS = 20_000


class Buckets:
    """`per_minute` requests a minute per key: a burst of as many, then one every
    60/per_minute seconds."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, keys: int = KEYS
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._keys = keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when

    def take(self, key: str) -> int:
        """0 when `key` may go on (one token taken), else the whole seconds to wait."""
        now, rate = self._clock(), self.per_minute / 60.0
        tokens, then = self._buckets.pop(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * rate)
        wait = 0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = max(1, math.ceil((1.0 - tokens) / rate))
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._keys:
            self._buckets.popitem(last=False)
        return wait
