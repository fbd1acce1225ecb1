"""Telegram's send limits as a pure schedule: when the next message to a chat may go."""

from __future__ import annotations

import math
import time
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

ChatId = int | str

# The Bots FAQ ("My bot is hitting limits") counts group messages per minute.
GROUP_WINDOW = 60.0
# Slots computed by repeated float addition land a hair short of an exact spacing; without
# this slack such a slot would be pushed back by a whole further spacing.
_EPSILON = 1e-9
_PRUNE_EVERY = 256


@dataclass(frozen=True)
class Limits:
    """The Bots FAQ's figures: ~1 msg/s per chat, ~30 msg/s overall, 20 msg/min per group."""

    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    global_per_second: float = 30.0
    group_per_minute: int = 20

    def __post_init__(self) -> None:
        for name in ("per_chat_interval", "global_per_second", "group_per_minute"):
            value = getattr(self, name)
            # `not value > 0` also rejects NaN; infinity would make a spacing of zero or forever.
            if not value > 0 or not math.isfinite(value):
                raise ValueError(f"Limits.{name} must be a positive finite number, got {value!r}")


class SendSchedule:
    """Books future send slots; the caller sleeps for the returned delay, then sends."""

    def __init__(
        self, limits: Limits = Limits(), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._spacing = 1.0 / limits.global_per_second
        # Booked slots across all chats, sorted. Kept as a set of slots rather than one
        # "next free" cursor so a chat that must wait (its own 1 s, a group's minute, a 429)
        # does not hold up messages to every other chat behind it.
        self._global: list[float] = []
        self._chat_next: dict[ChatId, float] = {}
        self._group_slots: dict[ChatId, deque[float]] = {}
        self._paused_until = -math.inf
        self._reservations = 0

    @property
    def tracked_chats(self) -> int:
        """How many chats the schedule still remembers (bounded by pruning)."""
        return len(self._chat_next)

    def reserve(self, chat_id: ChatId, *, group: bool) -> float:
        """Reserve the earliest slot for one message to chat_id and return how many seconds
        from now the caller must wait (0.0 if it may send at once)."""
        now = self._clock()
        key = _key(chat_id)
        self._reservations += 1
        if self._reservations % _PRUNE_EVERY == 0:
            self._prune(now)
        # Slots older than one spacing cannot collide with anything booked from now on.
        del self._global[: bisect_left(self._global, now - self._spacing)]

        slot = max(now, self._paused_until, self._chat_next.get(key, now))
        window = self._group_slots.get(key) if group else None
        if window is not None and len(window) == self.limits.group_per_minute:
            slot = max(slot, window[0] + GROUP_WINDOW)
        slot = self._free_global_slot(slot)

        insort(self._global, slot)
        self._chat_next[key] = slot + self.limits.per_chat_interval
        if group:
            if window is None:
                window = self._group_slots[key] = deque(maxlen=self.limits.group_per_minute)
            window.append(slot)  # a chat's slots only ever increase, so the deque stays sorted
        return max(0.0, slot - now)

    def pause(self, seconds: float, chat_id: ChatId | None = None) -> None:
        """A 429 said wait `seconds`: no message (to chat_id, or to anyone when None) before
        now+seconds. Slots already reserved later than that are unaffected; earlier ones are not
        retroactively moved (callers re-reserve on retry)."""
        if not seconds >= 0 or not math.isfinite(seconds):
            raise ValueError(f"pause needs non-negative finite seconds, got {seconds!r}")
        until = self._clock() + seconds
        if chat_id is None:
            self._paused_until = max(self._paused_until, until)
        else:
            key = _key(chat_id)
            self._chat_next[key] = max(self._chat_next.get(key, until), until)

    @staticmethod
    def is_group(chat_id: ChatId) -> bool:
        """Groups, supergroups and channels have negative ids; channels may be '@name'."""
        key = _key(chat_id)
        return isinstance(key, str) or key < 0

    def _free_global_slot(self, slot: float) -> float:
        """The earliest time >= slot at least one global spacing from every booked slot."""
        gap = self._spacing - _EPSILON
        i = bisect_left(self._global, slot - gap)
        while i < len(self._global) and self._global[i] < slot + gap:
            slot = self._global[i] + self._spacing
            i += 1
        return slot

    def _prune(self, now: float) -> None:
        # A chat is forgettable once its interval (or 429 pause) has run out and, for a group,
        # every slot has left the one-minute window: re-learning it then changes nothing.
        for key in [k for k, free in self._chat_next.items() if free <= now]:
            window = self._group_slots.get(key)
            if window is None or window[-1] <= now - GROUP_WINDOW:
                del self._chat_next[key]
                self._group_slots.pop(key, None)


def _key(chat_id: ChatId) -> ChatId:
    """The same chat as "-100123" (from config) and -100123 (from an update) is one chat."""
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        return int(chat_id)
    return chat_id
