"""How long `responder report` takes on a large database (a busy month and more), end to end
in a subprocess, with and without --html, against reading the same rows with plain sqlite3;
wall time and peak RSS, each the median of a few runs."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.workdir import work_dir
from responder.errors import ResponderError
from responder.storage.store import Store

TARGET_SECONDS = 10.0  # for DEFAULT_TICKETS: the report is interactive
DEFAULT_TICKETS = 20_000
DAYS = 30
JAKARTA = ZoneInfo("Asia/Jakarta")
MAIL, BOT = "support-mail", "shop-bot"
STAFF = "ani@toko-contoh.id"
OPEN_HOUR, CLOSE_HOUR = 8, 17  # Mon-Fri, as CONFIG says
CANNED = ("payment", "shipping", "opening_hours")
COMMENTS = (
    "Lama sekali balasnya",
    "Cepat dan ramah, terima kasih!",
    "Barang sudah sampai, tapi kotaknya rusak.",
    "ok",
    "Pelayanan bagus <3",
    "Saya harus tanya dua kali & baru dijawab",
)

CONFIG = """\
timezone: Asia/Jakarta
state_dir: {state}
business_hours:
  weekly: {{mon: "08:00-17:00", tue: "08:00-17:00", wed: "08:00-17:00",
           thu: "08:00-17:00", fri: "08:00-17:00"}}
sla:
  default: standard
  policies:
    - {{name: standard, first_response: 2h, resolution: 16h}}
    - {{name: vip, first_response: 30m, resolution: 8h}}
channels:
  - name: {mail}
    type: email
    address: support@toko-contoh.id
    imap: {{host: 127.0.0.1, port: 1143, security: none, username: support@toko-contoh.id,
           password_file: {secrets}/imap}}
    smtp: {{host: 127.0.0.1, port: 1025, security: none}}
  - name: {bot}
    type: telegram
    token_file: {secrets}/bot
"""


class BenchError(RuntimeError):
    """Something broke: the database could not be built, a report run failed."""


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _db_time(at: datetime) -> str:
    """How SQLAlchemy's SQLite DateTime stores an aware UTC time (UTCDateTime drops the zone)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def period_days(today: date) -> tuple[date, date]:
    """The last DAYS whole local days before today: the month an owner would look at."""
    return today - timedelta(days=DAYS), today - timedelta(days=1)


def _is_open(t: datetime) -> bool:
    local = t.astimezone(JAKARTA)
    return local.weekday() < 5 and OPEN_HOUR <= local.hour < CLOSE_HOUR


# -- the database ---------------------------------------------------------------------------

FILLER = (
    "Halo kak, saya mau tanya soal pesanan saya. Sudah dibayar tapi statusnya belum berubah. "
    "Mohon dibantu dicek ya, terima kasih banyak. "
) * 80  # ~10 KB of body text to slice from


def raw_mail(n: int, at: datetime, size: int) -> bytes:
    head = (
        f"From: Pelanggan {n} <pelanggan{n}@example.com>\r\n"
        "To: support@toko-contoh.id\r\n"
        f"Subject: Pesanan #{n}\r\n"
        f"Message-ID: <in-{n}@example.com>\r\n"
        f"Date: {at.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    return (head + FILLER[: max(0, size - len(head))]).encode()


@dataclass
class Rows:
    tickets: list[tuple[Any, ...]] = field(default_factory=list)
    inbound: list[tuple[Any, ...]] = field(default_factory=list)
    replies: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    surveys: list[tuple[Any, ...]] = field(default_factory=list)
    suppressions: list[tuple[Any, ...]] = field(default_factory=list)

    def message(self, rng: random.Random, channel: str, at: datetime, ticket: int | None) -> int:
        iid = len(self.inbound) + 1
        # Telegram updates are small JSON; mail is a few KB (quoted text, signatures).
        size = rng.randint(300, 700) if channel == BOT else int(rng.lognormvariate(8.0, 0.5))
        when = _db_time(at)
        self.inbound.append(
            (
                iid,
                channel,
                f"<in-{iid}@example.com>",
                raw_mail(iid, at, size),
                when,
                when,
                f"pelanggan{ticket or iid}@example.com",
                f"Pesanan #{iid}",
                ticket,
            )
        )
        return iid

    def reply(
        self, ticket: int, inbound: int, channel: str, kind: str, at: datetime, to: str = ""
    ) -> None:
        n = len(self.replies) + 1
        when = _db_time(at)
        self.replies.append(
            (
                n,
                inbound,
                ticket,
                channel,
                kind,
                to or f"pelanggan{ticket}@example.com",
                f"<r{n}@toko-contoh.id>",
                FILLER[: 600 + n % 900].encode(),
                when,
                when,
            )
        )

    def event(
        self, ticket: int, kind: str, at: datetime, detail: str | None, inbound: int | None = None
    ) -> None:
        actor = "customer" if kind == "customer_reply" else "staff"
        self.events.append((ticket, inbound, kind, actor, detail, _db_time(at)))


def _later(rng: random.Random, at: datetime, mean_minutes: float) -> datetime:
    return at + timedelta(minutes=min(rng.expovariate(1 / mean_minutes), 6 * 1440))


def generate(count: int, first: date, last: date, seed: int = 20) -> Rows:
    """count tickets opened over [first, last] local days, most in open hours, in id order."""
    rng = random.Random(seed)
    start = datetime.combine(first, datetime.min.time(), tzinfo=JAKARTA)
    minutes = ((last - first).days + 1) * 1440
    opened: list[datetime] = []
    while len(opened) < count:
        t = start + timedelta(minutes=rng.uniform(0, minutes))
        if _is_open(t) or rng.random() < 0.12:  # ~75% arrive in open hours
            opened.append(t)
    opened.sort()
    rows = Rows()
    for tid, created in enumerate(opened, start=1):
        channel = MAIL if rng.random() < 0.65 else BOT
        first_in = rows.message(rng, channel, created, tid)
        rows.reply(tid, first_in, channel, "acknowledgement", created + timedelta(seconds=2))
        if not _is_open(created):
            rows.reply(tid, first_in, channel, "out_of_hours", created + timedelta(seconds=2))
        rows.reply(
            tid, first_in, channel, "staff_notification", created + timedelta(seconds=3), STAFF
        )
        if rng.random() < 0.2:
            canned = rng.choice(CANNED)
            rows.reply(tid, first_in, channel, canned, created + timedelta(seconds=2))
        at = created
        responded = rng.random() < 0.88
        if responded:
            at = _later(rng, at, 180)
            if rng.random() < 0.8:
                text = (
                    "Sudah kami cek, apakah bisa kirim nomor pesanan?"
                    if rng.random() < 0.3
                    else "Sudah kami proses, terima kasih."
                )
                rows.event(tid, "staff_reply", at, text)
                if rng.random() < 0.2:
                    rows.event(tid, "answered", at, None)
            else:
                rows.event(tid, "answered", at, None)
        for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 2))):  # ~1 more message from the customer
            at = _later(rng, at, 240)
            iid = rows.message(rng, channel, at, tid)
            rows.event(tid, "customer_reply", at, None, iid)
            if rng.random() < 0.6:
                at = _later(rng, at, 120)
                rows.event(tid, "staff_reply", at, "Baik, sudah kami teruskan ke gudang.")
        resolved: datetime | None = None
        if rng.random() < (0.8 if responded else 0.1):
            resolved = _later(rng, at, 600)
            rows.event(tid, rng.choice(("closed", "closed", "done")), resolved, None)
            if rng.random() < 0.04:
                rows.event(tid, "reopened", resolved + timedelta(hours=5), None)
                resolved = resolved + timedelta(hours=5 + rng.uniform(1, 24))
                rows.event(tid, "closed", resolved, None)
        for clock, p, hours in (("first_response", 0.12, 2), ("resolution", 0.08, 16)):
            if rng.random() < p:
                rows.event(tid, "sla_breach", created + timedelta(hours=hours), f"{clock} breach")
                alert_at = created + timedelta(hours=hours)
                rows.reply(tid, first_in, channel, "sla_alert", alert_at, f"{clock}.{STAFF}")
        if rng.random() < 0.15:
            rows.event(tid, "sla_reminder", created + timedelta(hours=12), "resolution remind-80%")
        policy = "vip" if rng.random() < 0.1 else None
        when = _db_time(created)
        rows.tickets.append(
            (
                tid,
                f"T{tid:06d}",
                channel,
                f"pelanggan{tid}@example.com",
                f"Pelanggan {tid}",
                f"Pesanan #{tid}",
                "resolved" if resolved else "open",
                policy,
                when,
                _db_time(resolved or at),
                None if resolved is None else _db_time(resolved),
            )
        )
        if resolved is None:
            continue
        # Surveys go out for ~70% of resolved tickets (~50% of all); half come back.
        roll = rng.random()
        if roll < 0.1:
            rows.surveys.append(
                (tid, channel, "skipped", "once per 30 days", None, None, None, None, None, when)
            )
            continue
        if roll > 0.8:
            continue
        sent = resolved + timedelta(hours=1)
        rows.reply(tid, first_in, channel, "csat_survey", sent)
        if rng.random() < 0.5:
            rows.surveys.append(
                (tid, channel, "sent", None, _db_time(sent)) + (None,) * 4 + (when,)
            )
            continue
        rating = rng.choices((1, 2, 3, 4, 5), (5, 5, 10, 30, 50))[0]
        nps = rng.randint(0, 10) if rng.random() < 0.7 else None
        comment = rng.choice(COMMENTS) if rng.random() < 0.4 else None
        answered = sent + timedelta(minutes=rng.expovariate(1 / 600))
        rows.surveys.append(
            (
                tid,
                channel,
                "answered",
                None,
                _db_time(sent),
                rating,
                nps,
                comment,
                _db_time(answered),
                when,
            )
        )
    # Machine mail (bounces, auto-replies) suppressed before any ticket: ~5% of intake.
    for _ in range(count // 20):
        t = start + timedelta(minutes=rng.uniform(0, minutes))
        channel = MAIL
        iid = rows.message(rng, channel, t, None)
        rows.suppressions.append((iid, channel, "bounce", "DSN", "mailer-daemon@x.id", _db_time(t)))
    return rows


def insert(path: Path, rows: Rows) -> None:
    db = sqlite3.connect(path)
    try:
        with db:
            db.executemany(
                "INSERT INTO tickets (id, ref, channel, customer, customer_name, subject, language,"
                " status, sla_policy, created_at, updated_at, resolved_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'id', ?, ?, ?, ?, ?)",
                rows.tickets,
            )
            db.executemany(
                "INSERT INTO inbound (id, channel, external_id, raw, received_at, recorded_at,"
                " state, outcome, sender, subject, ticket_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 'done', 'replied', ?, ?, ?)",
                rows.inbound,
            )
            db.executemany(
                "INSERT INTO replies (id, inbound_id, ticket_id, channel, kind, recipient,"
                " envelope_from, message_id, message, state, attempts, created_at, sent_at)"
                " VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, 'sent', 1, ?, ?)",
                rows.replies,
            )
            db.executemany(
                "INSERT INTO ticket_events (ticket_id, inbound_id, kind, actor, detail, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows.events,
            )
            db.executemany(
                "INSERT INTO surveys (ticket_id, channel, recipient, state, reason, sent_at,"
                " rating, nps, comment, answered_at, created_at, updated_at)"
                " VALUES (?1, ?2, 'pelanggan' || ?1 || '@example.com', ?3, ?4, ?5, ?6, ?7, ?8,"
                " ?9, ?10, ?10)",
                rows.surveys,
            )
            db.executemany(
                "INSERT INTO suppressions (inbound_id, channel, rule, reason, sender, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows.suppressions,
            )
    finally:
        db.close()


def write_config(work: Path) -> Path:
    secrets = work / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "imap").write_text("imap-secret\n")
    (secrets / "bot").write_text("123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcd\n")
    path = work / "config.yaml"
    path.write_text(CONFIG.format(state=work / "state", secrets=secrets, mail=MAIL, bot=BOT))
    return path


def build(work: Path, count: int, first: date, last: date) -> tuple[Path, Path, dict[str, int]]:
    """The config and its database; the Store makes the schema, sqlite3 fills it."""
    config = write_config(work)
    path = work / "state" / "responder.db"
    path.parent.mkdir(parents=True, exist_ok=True)

    async def migrate() -> None:
        store = Store(f"sqlite+aiosqlite:///{path}")
        await store.open()
        await store.close()

    asyncio.run(migrate())
    rows = generate(count, first, last)
    insert(path, rows)
    counts = {name: len(getattr(rows, name)) for name in asdict(rows)}
    counts["database_mb"] = round(path.stat().st_size / 1e6)
    return config, path, counts


# -- the floor: the report's queries, plain sqlite3 -------------------------------------------

IDS = "SELECT id FROM tickets WHERE created_at >= :start AND created_at < :end"
QUERIES = (
    "SELECT id, ref, channel, created_at, resolved_at, sla_policy FROM tickets"
    " WHERE created_at >= :start AND created_at < :end ORDER BY created_at, id",
    f"SELECT ticket_id, kind, created_at, detail FROM ticket_events WHERE ticket_id IN ({IDS})"
    " ORDER BY created_at, id",
    f"SELECT ticket_id, kind FROM replies WHERE ticket_id IN ({IDS}) ORDER BY id",
    "SELECT ticket_id, state, sent_at, rating, nps, comment, answered_at FROM surveys"
    f" WHERE ticket_id IN ({IDS})",
    "SELECT channel, count(*) FROM inbound WHERE received_at >= :start AND received_at < :end"
    " GROUP BY channel",
    "SELECT channel, count(*) FROM suppressions"
    " WHERE created_at >= :start AND created_at < :end GROUP BY channel",
)


def _bounds(first: date, last: date) -> dict[str, str]:
    def midnight(d: date) -> datetime:
        return datetime.combine(d, datetime.min.time(), tzinfo=JAKARTA)

    return {"start": _db_time(midnight(first)), "end": _db_time(midnight(last + timedelta(1)))}


def read_floor(path: Path, first: date, last: date) -> tuple[float, int]:
    """Connect read-only, run the report's six queries, fetchall; seconds and rows."""
    began = time.perf_counter()
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        rows = sum(len(db.execute(q, _bounds(first, last)).fetchall()) for q in QUERIES)
    finally:
        db.close()
    return time.perf_counter() - began, rows


# -- the report, end to end ---------------------------------------------------------------


def run_report(args: list[str], work: Path) -> tuple[float, float]:
    """`responder report ARGS` in a child, stdout to /dev/null: wall seconds, peak RSS MB."""
    err = work / "report.stderr"
    command = [sys.executable, "-m", "responder.cli", "report", *args]
    with open(os.devnull, "wb") as null, err.open("wb") as stderr:
        began = time.perf_counter()
        proc = subprocess.Popen(command, stdout=null, stderr=stderr, cwd=work)
        # wait4: this child's own rusage (RUSAGE_CHILDREN would be the max over all of them).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err.read_text(errors="replace")[-2000:]
        raise BenchError(f"report {' '.join(args)} exited {proc.returncode}:\n{tail}")
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def python_start() -> float:
    """The interpreter alone: what every CLI run pays before any work."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - began


def phases(config: Path, first: date, last: date) -> dict[str, float]:
    """The CLI's steps in this process, each timed: where the end-to-end time goes."""
    began = time.perf_counter()
    from responder.config import load_config
    from responder.config.calendar import build_calendar
    from responder.config.sla import build_policies
    from responder.report.figures import compute
    from responder.report.html import render_html
    from responder.report.load import read_report_data
    from responder.report.period import parse_period
    from responder.report.terminal import print_report

    out: dict[str, float] = {"imports": time.perf_counter() - began}
    t = time.perf_counter()
    cfg = load_config(config)
    calendar = build_calendar(cfg.business_hours, cfg.timezone)
    now = datetime.now(UTC)
    period = parse_period(first.isoformat(), last.isoformat(), calendar.timezone, now)
    policies = build_policies(cfg.sla)
    out["config"] = time.perf_counter() - t
    t = time.perf_counter()
    data = read_report_data(cfg.database_url_resolved, period)
    out["read rows"] = time.perf_counter() - t
    t = time.perf_counter()
    figures = compute(data, period, calendar, policies, now)
    out["compute figures"] = time.perf_counter() - t
    t = time.perf_counter()
    print_report(figures, io.StringIO())
    out["terminal output"] = time.perf_counter() - t
    t = time.perf_counter()
    render_html(figures)
    out["html page"] = time.perf_counter() - t
    return out


def profile(config: Path, first: date, last: date, top: int) -> str:
    """cProfile of the in-process steps (after imports): the top functions by own time and by
    cumulative time."""
    phases(config, first, last)  # imports done, caches warm
    profiler = cProfile.Profile()
    profiler.enable()
    phases(config, first, last)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return text.getvalue()


# -- measuring and output -------------------------------------------------------------------


@dataclass
class Figures:
    tickets: int
    first: str
    last: str
    counts: dict[str, int]
    build_seconds: float
    floor_rows: int = 0
    floor: list[float] = field(default_factory=list)
    terminal: list[float] = field(default_factory=list)
    terminal_rss: list[float] = field(default_factory=list)
    html: list[float] = field(default_factory=list)
    html_rss: list[float] = field(default_factory=list)
    python_start: list[float] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    html_mb: float = math.nan


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def measure(config: Path, db: Path, work: Path, f: Figures, repeat: int) -> None:
    since, until = f.first, f.last
    first, last = date.fromisoformat(since), date.fromisoformat(until)
    cli = ["-c", str(config), "--since", since, "--until", until]
    html = work / "report.html"
    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("floor", lambda: _floor(f, db, first, last)),
        ("report", lambda: _append(f.terminal, f.terminal_rss, run_report(cli, work))),
        (
            "report --html",
            lambda: _append(f.html, f.html_rss, run_report([*cli, "--html", str(html)], work)),
        ),
        ("python -c pass", lambda: f.python_start.append(python_start())),
    )
    for n in range(repeat):
        for _name, step in steps:  # alternately, so drift hits every subject alike
            step()
        progress(
            f"[run {n + 1}/{repeat}] floor {f.floor[-1]:.3f}s, report {f.terminal[-1]:.2f}s "
            f"({f.terminal_rss[-1]:.0f} MB), --html {f.html[-1]:.2f}s ({f.html_rss[-1]:.0f} MB)"
        )
    f.html_mb = html.stat().st_size / 1e6
    f.phases = phases(config, first, last)
    progress("[phases] " + ", ".join(f"{k} {v:.2f}s" for k, v in f.phases.items()))


def _floor(f: Figures, db: Path, first: date, last: date) -> None:
    seconds, f.floor_rows = read_floor(db, first, last)
    f.floor.append(seconds)


def _append(times: list[float], rss: list[float], result: tuple[float, float]) -> None:
    times.append(result[0])
    rss.append(result[1])


def verdicts(f: Figures) -> dict[str, bool]:
    return {
        "report": _median(f.terminal) < TARGET_SECONDS,
        "report_html": _median(f.html) < TARGET_SECONDS,
    }


def _fmt(value: float, fmt: str) -> str:
    return "-" if math.isnan(value) else fmt.format(value)


def table(f: Figures) -> str:
    ok = verdicts(f)
    floor = _median(f.floor)
    nan = math.nan
    target = f"< {TARGET_SECONDS:g} s"
    rows: list[tuple[str, float, float, float, str, str]] = [
        ("floor: plain SELECTs (s)", floor, floor, nan, "-", ""),
        (
            "report, terminal (s)",
            _median(f.terminal),
            floor,
            _median(f.terminal_rss),
            target,
            "report",
        ),
        ("report --html (s)", _median(f.html), floor, _median(f.html_rss), target, "report_html"),
        ("  python -c pass (s)", _median(f.python_start), nan, nan, "-", ""),
    ]
    rows += [(f"  in-process: {k} (s)", v, nan, nan, "-", "") for k, v in f.phases.items()]
    lines = [
        f"{'metric':<36}{'seconds':>9}{'ratio':>10}{'peak RSS MB':>13}  {'target':<10}result",
        "-" * 86,
    ]
    for label, seconds, base, rss, tgt, key in rows:
        ratio = seconds / base if base and not math.isnan(base) else nan
        result = ("PASS" if ok[key] else "FAIL") if key else "-"
        lines.append(
            f"{label:<36}{_fmt(seconds, '{:.3f}'):>9}{_fmt(ratio, '{:.1f}x'):>10}"
            f"{_fmt(rss, '{:.0f}'):>13}  {tgt:<10}{result}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report_speed", description=__doc__)
    parser.add_argument(
        "--tickets", type=int, default=DEFAULT_TICKETS, help=f"tickets over {DAYS} days"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each subject (median)")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="also print cProfile's top N"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (database)")
    args = parser.parse_args(argv)
    if args.tickets < 1 or args.repeat < 1:
        parser.error("--tickets and --repeat must be positive")

    first, last = period_days(datetime.now(JAKARTA).date())
    errors = (BenchError, ResponderError, OSError, sqlite3.Error)
    with work_dir("reportbench-", keep=args.keep, errors=errors) as work:
        began = time.perf_counter()
        config, db, counts = build(work.path, args.tickets, first, last)
        f = Figures(
            args.tickets, first.isoformat(), last.isoformat(), counts, time.perf_counter() - began
        )
        progress(f"[build] {counts} in {f.build_seconds:.1f}s")
        measure(config, db, work.path, f, args.repeat)
        report = profile(config, first, last, args.profile) if args.profile else ""
    if work.failed:
        return 1

    c = f.counts
    print(
        f"\nresponder report benchmark: {f.tickets} tickets opened {f.first} .. {f.last} "
        f"({c['inbound']} inbound, {c['replies']} replies, {c['events']} events, "
        f"{c['surveys']} surveys; {c['database_mb']} MB)\n"
        f"median of {args.repeat}; SQLite {sqlite3.sqlite_version}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"floor reads {f.floor_rows} rows; HTML page {f.html_mb:.2f} MB\n"
    )
    print(table(f))
    if report:
        print(report, file=sys.stderr)
    ok = verdicts(f)
    if args.json is not None:
        payload = {"target_seconds": TARGET_SECONDS, "verdicts": ok, **asdict(f)}
        args.json.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
    return 0 if all(ok.values()) else 2


if __name__ == "__main__":
    raise SystemExit(main())
