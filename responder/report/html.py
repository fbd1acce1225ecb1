"""The report as one self-contained HTML page: inline CSS and SVG, no scripts, no URLs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from responder.report import charts, fmt
from responder.report.figures import Figures
from responder.report.summary import key_figures, sla_rows

# Nothing may load: no scripts, no fonts, no remote images, so the page opens offline and
# a comment a customer wrote can never make it call out.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2937;
  background: #f9fafb; margin: 0; padding: 24px 32px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; }
p.sub { color: #6b7280; margin: 0 0 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px 14px; }
.card .label { font-size: 13px; color: #6b7280; }
.card .value { font-size: 26px; font-weight: 600; margin: 4px 0 2px; }
.card .note { font-size: 12px; color: #6b7280; }
.panel { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 14px;
  overflow-x: auto; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 14px; background: #fff; }
th, td { padding: 6px 12px; border-bottom: 1px solid #e5e7eb; text-align: right; }
th { background: #f3f4f6; font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td.text { max-width: 640px; }
tr.total td { font-weight: 600; }
summary { margin: 12px 0; cursor: pointer; color: #374151; }
footer { margin-top: 28px; color: #6b7280; font-size: 12px; }
"""


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    last = len(headers) - 1
    head = "".join(
        f'<th class="text">{escape(h)}</th>'
        if n == last and cls == "text"
        else f"<th>{escape(h)}</th>"
        for n, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="text">{escape(c)}</td>'
            if n == len(row) - 1 and cls == "text"
            else f"<td>{escape(c)}</td>"
            for n, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cards(f: Figures) -> str:
    out = []
    for k in key_figures(f):
        out.append(
            f'<div class="card" data-key="{escape(k.key)}"><div class="label">{escape(k.label)}'
            f'</div><div class="value">{escape(k.value)}</div>'
            f'<div class="note">{escape(k.note)}</div></div>'
        )
    return f'<div class="cards">{"".join(out)}</div>'


def _channels(f: Figures) -> str:
    rows = [[c.channel, str(c.tickets), str(c.messages_in), str(c.suppressed)] for c in f.channels]
    table = _table(["Channel", "Tickets", "Messages in", "Machine mail suppressed"], rows)
    total = (
        f'<tr class="total"><td>All</td><td>{f.tickets}</td><td>{f.messages_in}</td>'
        f"<td>{f.suppressed}</td></tr></tbody>"
    )
    return table.replace("</tbody>", total)


def _sla(f: Figures) -> str:
    rows = sla_rows(f)
    headers = [
        "Clock",
        "Met",
        "Breached",
        "Running (within target)",
        "Compliance",
        "Breach notices sent",
    ]
    return _table(headers, rows)


def _comments(f: Figures) -> str:
    if not f.csat.lowest:
        return '<p class="sub">No comments in this period.</p>'
    rows = [
        [c.ref, fmt.NONE if c.rating is None else f"{c.rating} / 5", fmt.plain(c.text, 600)]
        for c in f.csat.lowest
    ]
    return _table(["Ticket", "Rating", "Comment"], rows, cls="text")


def _skipped(f: Figures) -> str:
    if not f.csat.skipped:
        return '<p class="sub">No survey was skipped in this period.</p>'
    rows = [[str(count), fmt.plain(reason, 600)] for reason, count in f.csat.skipped]
    return _table(["Surveys", "Reason"], rows, cls="text")


def render_html(f: Figures) -> str:
    p = f.period
    zone = p.zone.key
    days = [(fmt.day(d), n) for d, n in f.days]
    by_day = charts.bar_chart(
        [f"{d:%m-%d}" for d, _ in f.days],
        [n for _, n in f.days],
        x_title="Local day (month-day)",
        y_title="Tickets opened",
        label="Tickets by day",
    )
    histogram = charts.bar_chart(
        [label for label, _ in f.response_buckets],
        [n for _, n in f.response_buckets],
        x_title="First response time, business hours",
        y_title="Tickets",
        label="First response time distribution",
    )
    generated = f.generated_at.astimezone(p.zone).strftime("%Y-%m-%d %H:%M %Z")
    title = f"Customer service report {p.first} – {p.last}"
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">Tickets opened in the period ({escape(zone)}); durations count '
        "business hours only; p90 and median are nearest-rank percentiles.</p>",
        _cards(f),
        "<h2>Tickets by hour of the week</h2>",
        f'<div class="panel">{charts.heatmap(f.week_hours, zone)}</div>',
        "<h2>First response time</h2>",
        f'<div class="panel">{histogram}</div>',
        "<h2>Satisfaction by week</h2>",
        f'<div class="panel">{charts.csat_trend(f.csat.weeks)}</div>',
        "<h2>Lowest ratings</h2>",
        _comments(f),
        "<h2>Surveys not sent</h2>",
        _skipped(f),
        '<div class="row"><div>',
        "<h2>By channel</h2>",
        _channels(f),
        "</div><div>",
        "<h2>SLA</h2>",
        _sla(f),
        "</div></div>",
        "<h2>Tickets by day</h2>",
        f'<div class="panel">{by_day}</div>',
        # Folded: a long period has hundreds of days, and the chart above already shows them.
        "<details><summary>Tickets by day as a table</summary>",
        _table(
            ["Day", *(c.channel for c in f.channels), "Tickets"],
            [
                [d, *map(str, split), str(n)]
                for (d, n), (_, split) in zip(days, f.channel_days, strict=True)
            ],
        ),
        "</details>",
        f"<footer>Generated {escape(generated)} by responder report.</footer>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )
