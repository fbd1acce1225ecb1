"""Nearest-rank percentiles and shares, the two sums every figure is made of.

Percentiles are nearest-rank: of n values sorted ascending, the q-th is the one at index
ceil(q * n) - 1, so the median of an even count is the lower middle value, and every
percentile is a value that actually occurred. A share with nothing to divide by is None,
shown as "–", never a division by zero or a misleading 0%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (see the module docstring); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def share(part: int, whole: int) -> float | None:
    """part of whole in percent; None when whole is 0."""
    return 100 * part / whole if whole else None


def rounded(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, exactly (no float ties)."""
    half = (2 * abs(numerator) + denominator) // (2 * denominator)
    return half if numerator >= 0 else -half
