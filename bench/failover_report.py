"""The failover benchmark's figures: per kill, the takeover and the first acknowledgements
after it; over the run, customers answered twice or never; the table against ttl + heartbeat."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench.ack_latency import percentile

K = TypeVar("K")
IN_FLIGHT = 1.0  # seconds: a first acknowledgement this close before a kill may go again


@dataclass
class Kill:
    """One kill -9 of the intake holder; the times are seconds after it."""

    holder: str
    at: float  # time.monotonic() just before SIGKILL
    takeover: float  # both intake leases held by another instance (the leases table)
    mail_ack: float = math.nan  # the first acknowledgement of a mail sent after the kill
    telegram_ack: float = math.nan  # the same for a Telegram message


@dataclass
class Outcome:
    kills: list[Kill] = field(default_factory=list)
    mails: int = 0
    chats: int = 0
    twice: int = 0  # customers acknowledged more than once
    twice_in_flight: int = 0  # of them, first acknowledged just before a kill
    missing: int = 0  # customers never acknowledged
    conflicts: int = 0  # getUpdates refused with 409: two pollers at once


def acks_by(pairs: list[tuple[K, float]]) -> dict[K, list[float]]:
    found: dict[K, list[float]] = {}
    for key, at in pairs:
        found.setdefault(key, []).append(at)
    return found


def first_after(kill: float, sent: Mapping[K, float], acks: Mapping[K, list[float]]) -> float:
    """Kill to the earliest acknowledgement of a message sent after it."""
    times = [min(acks[k]) for k, at in sent.items() if at > kill and k in acks]
    return min(times) - kill if times else math.nan


def tally(outcome: Outcome, sent: Mapping[K, float], acks: Mapping[K, list[float]]) -> None:
    """Add one channel's customers: answered twice (and whether a kill came right after the
    first answer: the in-flight window, docs/design.md) or not at all."""
    kills = [k.at for k in outcome.kills]
    for key in sent:
        got = sorted(acks.get(key, []))
        if not got:
            outcome.missing += 1
        elif len(got) > 1:
            outcome.twice += 1
            if any(0 <= k - got[0] < IN_FLIGHT for k in kills):
                outcome.twice_in_flight += 1


def _s(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def table(outcome: Outcome, ttl: float, beat: float) -> tuple[str, dict[str, bool]]:
    """p50 and max of each per-kill figure, as a ratio of the bound ttl + heartbeat: a lease
    runs out at most ttl after the kill (it was renewed just before), and a standby tries at
    its next heartbeat after that."""
    bound = ttl + beat
    verdicts: dict[str, bool] = {}
    lines = [
        f"{'metric':<36}{'p50':>7}{'max':>7}{'bound':>7}{'max/bound':>11}  {'target':<22}result",
        "-" * 98,
    ]
    rows = (
        ("intake taken over (s)", "takeover", "<= ttl + heartbeat"),
        ("first mail ack after kill (s)", "mail_ack", "-"),
        ("first Telegram ack after kill (s)", "telegram_ack", "-"),
    )
    for label, name, goal in rows:
        values = [getattr(k, name) for k in outcome.kills]
        known = [v for v in values if not math.isnan(v)]
        p50, top = percentile(known, 50), max(known, default=math.nan)
        result = "-"
        if goal != "-":
            verdicts[name] = len(known) == len(values) and top <= bound
            result = "PASS" if verdicts[name] else "MISS"
        ratio = f"{top / bound:.2f}x" if known else "-"
        lines.append(
            f"{label:<36}{_s(p50):>7}{_s(top):>7}{bound:>7.1f}{ratio:>11}  {goal:<22}{result}"
        )
    verdicts["none_missing"] = outcome.missing == 0
    verdicts["one_poller"] = outcome.conflicts == 0
    counts = (
        ("customers never acknowledged", outcome.missing, "0", verdicts["none_missing"]),
        ("customers acknowledged twice", outcome.twice, "0 (see below)", None),
        ("  first ack < 1 s before a kill", outcome.twice_in_flight, "-", None),
        ("Telegram 409 (two pollers)", outcome.conflicts, "0", verdicts["one_poller"]),
    )
    for label, count, goal, ok in counts:
        result = "-" if ok is None else ("PASS" if ok else "MISS")
        lines.append(f"{label:<36}{count:>7}{'':>7}{'':>7}{'':>11}  {goal:<22}{result}")
    return "\n".join(lines), verdicts


def write_figures(
    path: Path, settings: dict[str, Any], outcome: Outcome, verdicts: dict[str, bool]
) -> None:
    """`--json`: the settings, the verdicts, every kill's figures and the counts."""
    payload = {**settings, "verdicts": verdicts, **asdict(outcome)}
    path.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
