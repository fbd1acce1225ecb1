"""Inline SVG charts drawn in Python: no scripts, fonts or images, so the page works offline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from responder.report.csat import CsatWeek

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
INK, MUTED, GRID, BAR, LINE = "#1f2937", "#6b7280", "#e5e7eb", "#2563eb", "#d97706"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def _text(
    x: float,
    y: float,
    s: str,
    *,
    size: int = 11,
    anchor: str = "middle",
    fill: str = INK,
    **attrs: str,
) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
        f' fill="{fill}"{extra}>{escape(s)}</text>'
    )


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    # No xmlns: inline SVG in HTML does not need one, and the page names no URL at all.
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}" role="img" aria-label="{escape(label)}" {FONT}>'
        + "".join(body)
        + "</svg>"
    )


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least top: steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1) if top >= 1 else step
    return [n * step for n in range(math.ceil(top / step) + 1)]


def _tick(value: float) -> str:
    return f"{value:g}"


def heatmap(grid: Sequence[Sequence[int]], zone: str) -> str:
    """Tickets opened by weekday (rows, Monday first) and local hour (columns)."""
    cell_w, cell_h, left, top = 30, 26, 46, 8
    width, height = left + 24 * cell_w + 12, top + 7 * cell_h + 84
    peak = max((n for row in grid for n in row), default=0)
    body = []
    for d, row in enumerate(grid):
        y = top + d * cell_h
        body.append(_text(left - 8, y + cell_h / 2 + 4, DAYS[d], anchor="end"))
        for h, n in enumerate(row):
            x = left + h * cell_w
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" rx="3"'
                f' fill="{_shade(n, peak)}">'
                f"<title>{DAYS[d]} {h:02d}:00 – {n} tickets</title></rect>"
            )
            if n:
                colour = "#ffffff" if n > peak / 2 else INK
                body.append(
                    _text(x + cell_w / 2 - 1, y + cell_h / 2 + 3, str(n), size=10, fill=colour)
                )
    base = top + 7 * cell_h
    for h in range(24):
        body.append(
            _text(left + h * cell_w + cell_w / 2 - 1, base + 14, f"{h:02d}", size=10, fill=MUTED)
        )
    body.append(_text(left + 12 * cell_w, base + 34, f"Hour of day, local time ({zone})", size=12))
    # A legend of five shades with the counts they stand for.
    lx = left
    body.append(_text(lx, base + 62, "Tickets:", anchor="start", size=11, fill=MUTED))
    levels = sorted({round(level * peak) for level in (0, 0.25, 0.5, 0.75, 1.0)})
    for n, value in enumerate(levels):
        x = lx + 60 + n * 56
        body.append(
            f'<rect x="{x}" y="{base + 50}" width="18" height="16" rx="3"'
            f' fill="{_shade(value, peak)}"/>'
        )
        body.append(_text(x + 22, base + 62, str(value), anchor="start", size=11, fill=MUTED))
    return _svg(width, height, "Tickets opened by hour of the week", body)


def _shade(n: int, peak: int) -> str:
    if n == 0 or peak == 0:
        return "#f3f4f6"
    # From a pale to a deep blue; sqrt so a few busy hours do not wash out the rest.
    t = math.sqrt(n / peak)
    pale, deep = (219, 234, 254), (30, 64, 175)
    r, g, b = (round(p + (q - p) * t) for p, q in zip(pale, deep, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def bar_chart(
    labels: Sequence[str], values: Sequence[int], *, x_title: str, y_title: str, label: str
) -> str:
    """Vertical bars with a labelled y axis; every bar's value above it when there is room."""
    width, height, left, right, top, bottom = 720, 280, 56, 14, 18, 62
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max(values, default=0))
    scale = plot_h / ticks[-1]
    slot = plot_w / max(len(values), 1)
    every = max(1, math.ceil(len(labels) * 44 / plot_w))  # a label needs about 44px
    body = _y_axis(ticks, left, top, plot_w, plot_h, y_title, MUTED, side="left")
    for n, (name, value) in enumerate(zip(labels, values, strict=True)):
        x, h = left + n * slot, value * scale
        body.append(
            f'<rect x="{x + slot * 0.12:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.76:.1f}"'
            f' height="{h:.1f}" fill="{BAR}" rx="2"><title>{escape(name)}: {value}</title></rect>'
        )
        if value and slot >= 16:
            body.append(_text(x + slot / 2, top + plot_h - h - 4, str(value), size=10))
        if n % every == 0:
            body.append(_text(x + slot / 2, top + plot_h + 16, name, size=10, fill=MUTED))
    body.append(_text(left + plot_w / 2, height - 14, x_title, size=12))
    return _svg(width, height, label, body)


def _y_axis(
    ticks: list[float],
    left: float,
    top: float,
    plot_w: float,
    plot_h: float,
    title: str,
    colour: str,
    *,
    side: str,
    bottom_value: float = 0,
) -> list[str]:
    body = []
    span = ticks[-1] - bottom_value
    for value in ticks:
        y = top + plot_h - (value - bottom_value) / span * plot_h
        if side == "left":
            body.append(
                f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"'
                f' stroke="{GRID}"/>'
            )
            body.append(_text(left - 6, y + 4, _tick(value), anchor="end", size=10, fill=colour))
        else:
            body.append(
                _text(left + plot_w + 6, y + 4, _tick(value), anchor="start", size=10, fill=colour)
            )
    x = left - 40 if side == "left" else left + plot_w + 40
    cy = top + plot_h / 2
    body.append(_text(x, cy, title, size=12, fill=colour, transform=f"rotate(-90 {x} {cy:.1f})"))
    return body


def csat_trend(weeks: Sequence[CsatWeek]) -> str:
    """Per week of answers: bars for the share rated 4–5, a line for the average rating."""
    width, height, left, right, top, bottom = 720, 290, 56, 56, 34, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    body = _y_axis(
        [0, 20, 40, 60, 80, 100], left, top, plot_w, plot_h, "% rated 4–5", BAR, side="left"
    )
    body += _y_axis(
        [1, 2, 3, 4, 5],
        left,
        top,
        plot_w,
        plot_h,
        "Average rating",
        LINE,
        side="right",
        bottom_value=1,
    )
    body.append(f'<rect x="{left}" y="6" width="12" height="12" fill="{BAR}" rx="2"/>')
    body.append(_text(left + 18, 16, "% rated 4–5", anchor="start"))
    body.append(
        f'<line x1="{left + 120}" x2="{left + 140}" y1="12" y2="12" stroke="{LINE}"'
        ' stroke-width="3"/>'
    )
    body.append(_text(left + 146, 16, "average rating (1–5)", anchor="start"))
    if not weeks:
        body.append(
            _text(
                left + plot_w / 2,
                top + plot_h / 2,
                "No survey answers in this period",
                size=13,
                fill=MUTED,
            )
        )
        return _svg(width, height, "CSAT by week", body)
    slot = plot_w / len(weeks)
    every = max(1, math.ceil(len(weeks) * 52 / plot_w))
    points = []
    for n, week in enumerate(weeks):
        x, pct = left + n * slot, week.csat or 0.0
        h = pct / 100 * plot_h
        tip = f"week of {week.week}: {pct:.0f}% rated 4–5, average {week.average:.2f}"
        tip += f", {week.answered} answers"
        body.append(
            f'<rect x="{x + slot * 0.18:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.64:.1f}"'
            f' height="{h:.1f}" fill="{BAR}" opacity="0.8" rx="2">'
            f"<title>{escape(tip)}</title></rect>"
        )
        points.append((x + slot / 2, top + plot_h - (week.average - 1) / 4 * plot_h))
        if n % every == 0:
            body.append(
                _text(x + slot / 2, top + plot_h + 16, f"{week.week:%b %d}", size=10, fill=MUTED)
            )
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    body.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
    body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{LINE}"/>' for x, y in points]
    body.append(_text(left + plot_w / 2, height - 12, "Week of the answer (Monday)", size=12))
    return _svg(width, height, "CSAT by week", body)
