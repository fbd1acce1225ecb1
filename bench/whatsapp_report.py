"""The WhatsApp benchmark's figures: one subject's phase and round, medians, the table."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.ack_latency import percentile

TARGET_P99_OVER = 0.050  # seconds: daemon p99 minus the baseline's p99
TARGET_RSS_MB = 90.0


@dataclass
class Phase:
    """One subject's figures for one way of sending (steady or burst) in one round."""

    messages: int = 0
    p50: float = math.nan
    p99: float = math.nan
    max: float = math.nan
    # Just before the POST to its 200: what Meta waits for.
    answered_p50: float = math.nan
    answered_p99: float = math.nan
    rate: float = math.nan  # replies per second: N over first POST to last reply
    extra_sends: int = 0
    latencies: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)

    def summarise(self, first: float, last: float) -> None:
        self.messages = len(self.latencies)
        self.p50, self.p99 = percentile(self.latencies, 50), percentile(self.latencies, 99)
        self.max = max(self.latencies)
        self.answered_p50 = percentile(self.answered, 50)
        self.answered_p99 = percentile(self.answered, 99)
        self.rate = self.messages / (last - first) if last > first else math.nan


@dataclass
class Round:
    steady: Phase
    burst: Phase | None
    peak_rss_mb: float
    ready_rss_mb: float  # VmRSS once ready, before the first webhook


def median_phase(phases: Sequence[Phase | None]) -> Phase | None:
    """Each figure's median over the rounds; the samples of all rounds together."""
    present = [p for p in phases if p is not None]
    if not present:
        return None
    out = Phase()
    for name in ("messages", "p50", "p99", "max", "answered_p50", "answered_p99", "rate"):
        setattr(out, name, statistics.median(getattr(p, name) for p in present))
    out.extra_sends = sum(p.extra_sends for p in present)
    for p in present:
        out.latencies += p.latencies
        out.answered += p.answered
    return out


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.1f}"


def table(
    rounds: dict[str, list[Round]],
    full: bool,
    *,
    p99_over: float = TARGET_P99_OVER,
    rss_mb: float = TARGET_RSS_MB,
    reply: str = "reply",
    answered: str = "200 answered",
    per_second: str = "replies/s",
    extra: str = "sends",
) -> tuple[str, dict[str, bool]]:
    """The figures side by side, daemon over baseline, against the targets given (the web
    chat benchmark shares it with its own targets and words)."""
    daemon, base = rounds["daemon"], rounds["baseline"]
    rows: list[tuple[str, str, str, str, str, str]] = []
    verdicts: dict[str, bool] = {}

    def add(label: str, ours: float, bare: float, goal: str = "-", ok: bool | None = None) -> None:
        result = "-" if ok is None else ("PASS" if ok else "MISS")
        rows.append((label, _ms(ours), _ms(bare), _ms(ours - bare), goal, result))

    for kind in ("steady", "burst"):
        d = median_phase([getattr(r, kind) for r in daemon])
        b = median_phase([getattr(r, kind) for r in base])
        if d is None or b is None:
            continue
        add(f"{kind}: {reply} p50 (ms)", d.p50, b.p50)
        if kind == "steady":
            ok = d.p99 - b.p99 <= p99_over
            verdicts["p99_over_baseline"] = ok
            add(
                f"{kind}: {reply} p99 (ms)",
                d.p99,
                b.p99,
                f"<= baseline + {p99_over * 1e3:g} ms",
                ok,
            )
        else:
            add(f"{kind}: {reply} p99 (ms)", d.p99, b.p99)
        add(f"{kind}: {reply} max (ms)", d.max, b.max)
        add(f"{kind}:   {answered} p50 (ms)", d.answered_p50, b.answered_p50)
        add(f"{kind}:   {answered} p99 (ms)", d.answered_p99, b.answered_p99)
        rows.append(
            (
                f"{kind}: {per_second}",
                f"{d.rate:.1f}",
                f"{b.rate:.1f}",
                f"{d.rate / b.rate:.2f}x",
                "-",
                "-",
            )
        )
    d_rss = max(r.peak_rss_mb for r in daemon)
    b_rss = max(r.peak_rss_mb for r in base)
    goal, result = "-", "-"
    if full:  # the target is for email, Telegram and WhatsApp configured together
        verdicts["peak_rss"] = d_rss < rss_mb
        goal, result = f"< {rss_mb:g} MB", "PASS" if verdicts["peak_rss"] else "MISS"
    rows.append(
        (
            "peak RSS VmHWM (MB)",
            f"{d_rss:.1f}",
            f"{b_rss:.1f}",
            f"{d_rss - b_rss:.1f}",
            goal,
            result,
        )
    )
    d_ready = statistics.median(r.ready_rss_mb for r in daemon)
    b_ready = statistics.median(r.ready_rss_mb for r in base)
    rows.append(
        (
            "  RSS when ready, idle (MB)",
            f"{d_ready:.1f}",
            f"{b_ready:.1f}",
            f"{d_ready - b_ready:.1f}",
            "-",
            "-",
        )
    )
    lines = [
        f"{'metric':<32}{'daemon':>9}{'baseline':>10}{'over':>9}  {'target':<26}result",
        "-" * 92,
    ]
    lines += [f"{a:<32}{b:>9}{c:>10}{d:>9}  {e:<26}{f}" for a, b, c, d, e, f in rows]
    extras = {
        name: sum(p.extra_sends for r in rs for p in (r.steady, r.burst) if p is not None)
        for name, rs in rounds.items()
    }
    if any(extras.values()):
        lines.append(f"unexpected extra {extra}: {extras}")
    return "\n".join(lines), verdicts


def write_figures(
    path: Path,
    settings: dict[str, Any],
    targets: tuple[float, float],
    verdicts: Any,
    results: dict[str, list[Round]],
) -> None:
    """The run as JSON (`--json`): its settings, the targets (p99 over the baseline in
    seconds, peak RSS in MB), the verdicts and every round's figures."""
    payload = {
        **settings,
        "targets": {"p99_over_baseline_seconds": targets[0], "peak_rss_mb": targets[1]},
        "verdicts": verdicts,
        "results": {name: [asdict(r) for r in rs] for name, rs in results.items()},
    }
    path.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
