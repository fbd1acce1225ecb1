"""The report as plain tables on stdout (rich; no colour or width tricks needed off a TTY)."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table

from responder.report import fmt
from responder.report.figures import Figures
from responder.report.summary import key_figures, sla_rows

BAR = "█"


def _table(title: str, *columns: str, text_last: bool = False) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for n, name in enumerate(columns):
        left = n == 0 or (text_last and n == len(columns) - 1)
        table.add_column(name, justify="left" if left else "right", overflow="fold")
    return table


def print_report(f: Figures, out: TextIO) -> None:
    # An explicit width: off a TTY rich would assume 80 columns and could fold a row. Markup
    # and emoji off: comments, refs and channel names are text, never rich markup.
    console = Console(
        file=out, width=100, highlight=False, soft_wrap=False, markup=False, emoji=False
    )
    p = f.period
    console.print(f"Tickets opened {p.first} – {p.last} ({p.zone.key})")
    console.print("Durations count business hours only; percentiles are nearest-rank.\n")
    tables = (_keys(f), _channels(f), _sla(f), _buckets(f), _lowest(f), _skipped(f), _days(f))
    for table in tables:
        if table.row_count:
            console.print(table)


def _keys(f: Figures) -> Table:
    table = _table("Key figures", "Figure", "Value", "", text_last=True)
    for k in key_figures(f):
        table.add_row(k.label, k.value, k.note)
    return table


def _channels(f: Figures) -> Table:
    table = _table("By channel", "Channel", "Tickets", "Messages in", "Suppressed")
    for c in f.channels:
        table.add_row(fmt.plain(c.channel), str(c.tickets), str(c.messages_in), str(c.suppressed))
    table.add_row("All", str(f.tickets), str(f.messages_in), str(f.suppressed), style="bold")
    return table


def _sla(f: Figures) -> Table:
    table = _table("SLA", "Clock", "Met", "Breached", "Running", "Compliance", "Breach notices")
    for row in sla_rows(f):
        table.add_row(*row)
    return table


def _buckets(f: Figures) -> Table:
    table = _table("First response time", "Business time", "Tickets")
    for label, count in f.response_buckets:
        table.add_row(label, str(count))
    return table


def _lowest(f: Figures) -> Table:
    table = _table("Lowest ratings", "Ticket", "Rating", "Comment", text_last=True)
    for c in f.csat.lowest:
        rating = fmt.NONE if c.rating is None else str(c.rating)
        table.add_row(fmt.plain(c.ref), rating, fmt.plain(c.text))
    return table


def _skipped(f: Figures) -> Table:
    table = _table("Surveys not sent", "Surveys", "Reason", text_last=True)
    for reason, count in f.csat.skipped:
        table.add_row(str(count), fmt.plain(reason))
    return table


def _days(f: Figures) -> Table:
    names = [c.channel for c in f.channels]
    table = _table("Tickets by day", "Day", *names, "Tickets", "", text_last=True)
    top = max((n for _, n in f.days), default=0)
    for (day, count), (_, split) in zip(f.days, f.channel_days, strict=True):
        bar = BAR * round(40 * count / top) if top else ""
        table.add_row(fmt.day(day), *map(str, split), str(count), bar)
    return table
