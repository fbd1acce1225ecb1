"""`responder report`: figures a person can check by hand, and a large random database."""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import testdb
from sqlalchemy import Connection, create_engine, text

from responder.cli import main
from responder.config import load_config
from responder.config.calendar import build_calendar
from responder.config.sla import build_policies
from responder.report.csat import skip_reasons
from responder.report.figures import Figures, compute
from responder.report.load import read_report_data
from responder.report.period import parse_period
from responder.report.rows import SurveyRow
from responder.report.stats import percentile, rounded
from responder.storage import schema
from responder.storage.migrations import LATEST, MIGRATIONS
from responder.storage.store import Store

JAKARTA = ZoneInfo("Asia/Jakarta")
MAIL, BOT = "support-mail", "shop-bot"
# Business minutes promised by the two policies of CONFIG: (first response, resolution).
TARGETS = {"standard": (120, 960), "vip": (30, 480)}

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
  - name: support-mail
    type: email
    address: support@toko-contoh.id
    imap: {{host: 127.0.0.1, port: 1143, security: none, username: support@toko-contoh.id,
           password_file: {secrets}/imap}}
    smtp: {{host: 127.0.0.1, port: 1025, security: none}}
  - name: shop-bot
    type: telegram
    token_file: {secrets}/bot
"""


def write_config(root: Path) -> Path:
    secrets = root / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "imap").write_text("imap-secret")
    (secrets / "bot").write_text("123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcd")
    path = root / "config.yaml"
    path.write_text(CONFIG.format(state=root / "state", secrets=secrets))
    return path


def db_path(config: Path) -> Path:
    return config.parent / "state" / "responder.db"


def jkt(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=JAKARTA)


@dataclass
class Rows:
    """Rows to insert, with the ids the foreign keys need."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    inbound: list[dict[str, Any]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    surveys: list[dict[str, Any]] = field(default_factory=list)
    suppressions: list[dict[str, Any]] = field(default_factory=list)
    first_inbound: dict[int, int] = field(default_factory=dict)

    def ticket(
        self,
        channel: str,
        created: datetime,
        *,
        resolved: datetime | None = None,
        policy: str | None = None,
    ) -> int:
        tid = len(self.tickets) + 1
        self.tickets.append(
            {
                "id": tid,
                "ref": f"TKT-{tid:04d}",
                "channel": channel,
                "customer": f"customer{tid}@example.com",
                "language": "en",
                "status": "resolved" if resolved else "open",
                "sla_policy": policy,
                "created_at": created,
                "updated_at": resolved or created,
                "resolved_at": resolved,
            }
        )
        self.first_inbound[tid] = self.message(channel, created, tid)
        return tid

    def message(self, channel: str, when: datetime, ticket: int | None = None) -> int:
        iid = len(self.inbound) + 1
        self.inbound.append(
            {
                "id": iid,
                "channel": channel,
                "external_id": f"<m{iid}@example.com>",
                "raw": b"Subject: hi\r\n\r\nhello\r\n",
                "received_at": when,
                "recorded_at": when,
                "state": "done",
                "ticket_id": ticket,
            }
        )
        return iid

    def suppressed(self, channel: str, when: datetime) -> None:
        iid = self.message(channel, when)
        self.suppressions.append(
            {
                "inbound_id": iid,
                "channel": channel,
                "rule": "bounce",
                "reason": "DSN",
                "created_at": when,
            }
        )

    def event(self, ticket: int, kind: str, when: datetime, detail: str | None = None) -> None:
        self.events.append(
            {
                "ticket_id": ticket,
                "kind": kind,
                "created_at": when,
                "detail": detail,
                "actor": "staff",
            }
        )

    def reply(self, ticket: int, kind: str, when: datetime) -> None:
        n = len(self.replies) + 1
        row = self.tickets[ticket - 1]
        self.replies.append(
            {
                "inbound_id": self.first_inbound[ticket],
                "ticket_id": ticket,
                "channel": row["channel"],
                "kind": kind,
                "recipient": f"{row['customer']}#{n}",
                "envelope_from": "",
                "message_id": f"<r{n}@toko-contoh.id>",
                "message": b"...",
                "state": "sent",
                "created_at": when,
                "sent_at": when,
            }
        )

    def survey(self, ticket: int, state: str, sent: datetime | None, **answer: Any) -> None:
        row = self.tickets[ticket - 1]
        self.surveys.append(
            {
                "ticket_id": ticket,
                "channel": row["channel"],
                "recipient": row["customer"],
                "state": state,
                "sent_at": sent,
                "created_at": sent or row["created_at"],
                "updated_at": sent or row["created_at"],
                **answer,
            }
        )

    def write(self, url: str) -> None:
        asyncio.run(self._write(url))

    def _insert(self, conn: Connection) -> None:
        for table, values in (
            (schema.tickets, self.tickets),
            (schema.inbound, self.inbound),
            (schema.replies, self.replies),
            (schema.ticket_events, self.events),
            (schema.surveys, self.surveys),
            (schema.suppressions, self.suppressions),
        ):
            # One executemany needs the same keys in every row.
            keys = {k for row in values for k in row}
            uniform = [{k: row.get(k) for k in keys} for row in values]
            if uniform:
                conn.execute(table.insert(), uniform)

    async def _write(self, url: str) -> None:
        store = Store(url)
        await store.open()  # creates the database and runs the migrations
        try:
            await store.run(self._insert)
        finally:
            await store.close()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def cell(out: str, label: str, column: int = 1) -> str:
    """The value in the terminal table row whose first cell is label."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] == label:
            return cells[column]
    raise AssertionError(f"no row {label!r} in:\n{out}")


def test_nearest_rank_and_rounding() -> None:
    assert percentile([4, 1, 3, 2], 0.5) == 2  # the lower middle of an even count
    assert percentile(list(range(1, 11)), 0.9) == 9 and percentile([7], 0.9) == 7
    assert percentile([], 0.5) is None
    assert (rounded(25, 2), rounded(-25, 2), rounded(100, 3), rounded(-200, 3)) == (
        13,
        -13,
        33,
        -67,
    )


# -- a small database whose figures were worked out by hand ---------------------------------
# Business hours: Asia/Jakarta (UTC+7, no DST), Monday to Friday 08:00-17:00. The period is
# Mon 2026-06-01 .. Sun 2026-06-14; the SLA clocks are read at Mon 2026-06-15 09:00.
HAND_NOW = jkt("2026-06-15", "09:00")


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    config = write_config(tmp_path)
    rows = Rows()
    # T1 Fri 16:30, reply Mon 08:30: 30 + 30 = 60 business minutes; closed Mon 09:00: 90.
    t1 = rows.ticket(MAIL, jkt("2026-06-05", "16:30"), resolved=jkt("2026-06-08", "09:00"))
    rows.event(t1, "staff_reply", jkt("2026-06-08", "08:30"), "Fixed, sorry for the wait.")
    rows.event(t1, "closed", jkt("2026-06-08", "09:00"))
    rows.survey(t1, "skipped", None, reason="once per 30 days")
    # T2 Mon 09:00, \Answered at 09:20 (20 min); never closed: the resolution clock runs on.
    t2 = rows.ticket(MAIL, jkt("2026-06-01", "09:00"))
    rows.event(t2, "answered", jkt("2026-06-01", "09:20"))
    rows.event(t2, "sla_breach", jkt("2026-06-03", "09:00"), "resolution breach")
    rows.reply(t2, "payment", jkt("2026-06-01", "09:00"))  # a canned answer, but staff replied
    # T3 (vip) Tue 20:00, closed: first reply Wed 09:15 = 75 (30 promised: breached). It asks
    # a question, so the resolution clock pauses 09:15-10:00: 75 + 90 = 165 of 480, met;
    # its resolution time is 08:00-11:30 = 210.
    t3 = rows.ticket(
        BOT, jkt("2026-06-02", "20:00"), resolved=jkt("2026-06-03", "11:30"), policy="vip"
    )
    rows.event(t3, "sla_reminder", jkt("2026-06-03", "08:24"), "first_response remind-80%")
    rows.event(t3, "sla_breach", jkt("2026-06-03", "08:30"), "first_response breach")
    rows.event(t3, "staff_reply", jkt("2026-06-03", "09:15"), "Can you send a photo?")
    rows.event(t3, "customer_reply", jkt("2026-06-03", "10:00"))
    rows.event(t3, "staff_reply", jkt("2026-06-03", "11:00"), "A replacement is on its way.")
    rows.event(t3, "closed", jkt("2026-06-03", "11:30"))
    rows.message(BOT, jkt("2026-06-03", "10:00"), t3)
    rows.survey(
        t3,
        "answered",
        jkt("2026-06-04", "09:00"),
        rating=4,
        nps=9,
        answered_at=jkt("2026-06-04", "10:00"),
        answered_via="telegram",
    )
    # T4 Sat 10:00: only a rule's canned "payment" answer; no response, both clocks breached.
    t4 = rows.ticket(MAIL, jkt("2026-06-06", "10:00"))
    rows.reply(t4, "acknowledgement", jkt("2026-06-06", "10:00"))
    rows.reply(t4, "payment", jkt("2026-06-06", "10:00"))
    rows.event(t4, "sla_breach", jkt("2026-06-08", "10:00"), "first_response breach")
    rows.event(t4, "sla_breach", jkt("2026-06-10", "08:00"), "resolution breach")
    # T5 Sun 23:30, the period's last day: by Mon 09:00 its clocks have run 60 minutes.
    t5 = rows.ticket(MAIL, jkt("2026-06-14", "23:30"))
    rows.reply(t5, "acknowledgement", jkt("2026-06-14", "23:30"))
    rows.reply(t5, "sla_alert", jkt("2026-06-14", "23:31"))
    # T6 Thu 14:00, two replies (10 min), closed 15:00 (60 min).
    t6 = rows.ticket(BOT, jkt("2026-06-11", "14:00"), resolved=jkt("2026-06-11", "15:00"))
    rows.event(t6, "staff_reply", jkt("2026-06-11", "14:10"), "Done.")
    rows.event(t6, "staff_reply", jkt("2026-06-11", "14:20"), "Refunded too.")
    rows.event(t6, "closed", jkt("2026-06-11", "15:00"))
    rows.survey(
        t6,
        "answered",
        jkt("2026-06-12", "09:00"),
        rating=2,
        nps=3,
        comment="<b>Slow</b> & rude",
        answered_at=jkt("2026-06-12", "10:00"),
    )
    # T7 Tue 08:00, one reply at 08:05, closed 08:10.
    t7 = rows.ticket(MAIL, jkt("2026-06-09", "08:00"), resolved=jkt("2026-06-09", "08:10"))
    rows.event(t7, "staff_reply", jkt("2026-06-09", "08:05"), "Fixed.")
    rows.event(t7, "closed", jkt("2026-06-09", "08:10"))
    rows.survey(
        t7,
        "answered",
        jkt("2026-06-09", "09:00"),
        rating=5,
        nps=10,
        comment="[red]Great[/red]\x1b[2J",
        answered_at=jkt("2026-06-09", "12:00"),
    )
    # T8 (vip) Wed 12:00, \Answered 13:00 (60 of 30: breached), done 13:30 (90 of 480).
    t8 = rows.ticket(
        MAIL, jkt("2026-06-10", "12:00"), resolved=jkt("2026-06-10", "13:30"), policy="vip"
    )
    rows.event(t8, "answered", jkt("2026-06-10", "13:00"))
    rows.event(t8, "done", jkt("2026-06-10", "13:30"))
    rows.survey(t8, "sent", jkt("2026-06-11", "09:00"))
    # Before the period (Sun 23:00 local is still May 31): none of it counts.
    t0 = rows.ticket(MAIL, jkt("2026-05-31", "23:00"), resolved=jkt("2026-06-01", "09:00"))
    rows.event(t0, "staff_reply", jkt("2026-06-01", "08:10"), "ok")
    rows.survey(
        t0,
        "answered",
        jkt("2026-06-01", "10:00"),
        rating=1,
        comment="old",
        answered_at=jkt("2026-06-01", "11:00"),
    )
    # After it: Mon 02:00 local, though still Sunday 06-14 in UTC.
    rows.ticket(BOT, jkt("2026-06-15", "02:00"))
    for n in range(3):
        rows.suppressed(MAIL, jkt("2026-06-02", f"1{n}:00"))
    rows.suppressed(MAIL, jkt("2026-05-20", "10:00"))
    rows.write(load_config(config).database_url_resolved)
    return config


def hand_figures(config_path: Path, now: datetime = HAND_NOW) -> Figures:
    config = load_config(config_path)
    calendar = build_calendar(config.business_hours, config.timezone)
    period = parse_period("2026-06-01", "2026-06-14", calendar.timezone, now)
    data = read_report_data(config.database_url_resolved, period)
    return compute(data, period, calendar, build_policies(config.sla), now)


def test_figures_worked_out_by_hand(hand: Path) -> None:
    f = hand_figures(hand)
    assert f.tickets == 8
    assert [(c.channel, c.tickets, c.messages_in, c.suppressed) for c in f.channels] == [
        (BOT, 2, 3, 0),  # T3 wrote twice
        (MAIL, 6, 9, 3),  # six tickets and three bounces; the May bounce is outside
    ]
    days = dict(f.days)
    assert len(days) == 14 and sum(days.values()) == 8
    assert days[date(2026, 6, 2)] == 1 and days[date(2026, 6, 14)] == 1
    # By channel and day: each day's split adds up to its total; the bot's two tickets.
    split = dict(f.channel_days)
    assert all(sum(split[d]) == n for d, n in f.days)
    assert sum(counts[0] for counts in split.values()) == 2
    assert f.week_hours[4][16] == 1  # T1: Friday, 16:xx local
    assert f.week_hours[6][23] == 1  # T5: Sunday, 23:xx local
    # First responses 60, 20, 75, 10, 5, 60 -> sorted 5 10 20 60 60 75: the nearest-rank
    # median is the 3rd (20) and p90 the 6th (75). T4 and T5 have none.
    assert (f.first_response.median, f.first_response.p90) == (20, 75)
    assert (f.first_response.measured, f.first_response.pending) == (6, 2)
    assert dict(f.response_buckets)["<15m"] == 2
    assert dict(f.response_buckets)["15–30m"] == 1
    assert dict(f.response_buckets)["1–2h"] == 3
    # Resolutions 90, 210, 60, 10, 90 -> median 90, p90 210; T2, T4, T5 still open.
    assert (f.resolution.median, f.resolution.p90, f.resolution.pending) == (90, 210, 3)
    sla = {c.clock: c for c in f.sla}
    # First response: met T1 T2 T6 T7; breached T3 (vip) T4 T8 (vip); T5 within 60 of 120.
    fr = sla["first_response"]
    assert (fr.met, fr.breached, fr.running, fr.notices) == (4, 3, 1, 2)
    # Resolution: met T1 T3 T6 T7 T8; breached T2 and T4 (open for days); T5 running.
    res = sla["resolution"]
    assert (res.met, res.breached, res.running, res.notices) == (5, 2, 1, 2)
    assert round(fr.compliance or 0, 1) == 57.1 and round(res.compliance or 0, 1) == 71.4
    # Surveys: sent for T3 T6 T7 T8, answered by T3 (4) T6 (2) T7 (5); T1's was skipped.
    c = f.csat
    assert (c.sent, c.answered, c.rated, c.satisfied) == (4, 3, 3, 2)
    assert c.response_rate == 75.0 and round(c.average or 0, 2) == 3.67
    assert c.nps == 33  # promoters T3 T7, detractor T6: (2 - 1) / 3 = 33.3%
    assert [(x.ref, x.rating, x.text) for x in c.lowest] == [
        ("TKT-0006", 2, "<b>Slow</b> & rude"),
        ("TKT-0007", 5, "[red]Great[/red]\x1b[2J"),
    ]
    assert [(w.week, w.answered, w.average) for w in c.weeks] == [
        (date(2026, 6, 1), 1, 4.0),
        (date(2026, 6, 8), 2, 3.5),
    ]
    # Resolved: T1 (1 reply), T3 (2), T6 (2), T7 (1), T8 (one \Answered): 3 of 5.
    assert (f.resolved, f.first_contact) == (5, 3)
    assert f.rules_alone == 1  # T4; T2's canned answer came before a staff reply


def test_cli_prints_the_hand_figures(hand: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "-c", str(hand), "--since", "2026-06-01", "--until", "2026-06-14"
    )
    assert code == 0, err
    assert "2026-06-01 – 2026-06-14 (Asia/Jakarta)" in out
    assert cell(out, "Tickets opened") == "8"
    assert cell(out, "Messages in") == "12"
    assert cell(out, "Machine mail suppressed") == "3"
    assert cell(out, "First response, median") == "20m"
    assert cell(out, "First response, p90") == "1h 15m"
    assert cell(out, "No response yet") == "2"
    assert cell(out, "Resolution, median") == "1h 30m"
    assert cell(out, "Resolution, p90") == "3h 30m"
    assert cell(out, "Still open") == "3"
    assert cell(out, "First-contact resolution") == "60.0%"
    assert cell(out, "Answered by rules alone") == "1"
    assert cell(out, "Answered by rules alone", 2) == "12.5% of tickets"
    assert cell(out, "Surveys answered", 2) == "75.0% response rate"
    assert cell(out, "CSAT") == "66.7%"
    assert cell(out, "Average rating") == "3.67"
    assert cell(out, "NPS") == "+33"
    # Read today, T5's clocks ran out long ago: both clocks have 3 breaches.
    assert [cell(out, "First response", n) for n in (1, 2, 3, 4)] == ["4", "4", "0", "50.0%"]
    assert cell(out, "Resolution", 5) == "2"
    assert cell(out, "TKT-0006", 2) == "<b>Slow</b> & rude"
    # Customer text is neither rich markup nor terminal control: an ESC never reaches it.
    assert cell(out, "TKT-0007", 2) == "[red]Great[/red] [2J" and "\x1b" not in out
    # Per channel, then the total, then the bar.
    assert cell(out, "Mon 2026-06-01", -2) == "1" and cell(out, "Sat 2026-06-13", -2) == "0"
    assert "old" not in out.split()  # the May ticket's comment


@pytest.mark.sqlite_only("compares the database file's bytes; PostgreSQL: test_postgres.py")
def test_the_report_never_writes(hand: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = db_path(hand)
    before = path.read_bytes()
    assert run_cli(capsys, "-c", str(hand))[0] == 0
    assert path.read_bytes() == before


def test_reads_beside_a_writing_daemon(hand: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A writer holding its transaction open neither blocks the report nor shows in it (WAL
    # on SQLite, MVCC on PostgreSQL).
    engine = create_engine(testdb.sync_url(db_path(hand)))
    try:
        with engine.connect() as writer:
            writer.execute(
                text(
                    "INSERT INTO tickets (id, ref, channel, customer, customer_name, subject, "
                    "language, status, created_at, updated_at) VALUES (9999, 'TKT-9999', "
                    "'shop-bot', 'x', '', '', 'en', 'open', '2026-06-02 03:00:00', "
                    "'2026-06-02 03:00:00')"
                )
            )
            code, out, err = run_cli(
                capsys, "-c", str(hand), "--since", "2026-06-01", "--until", "2026-06-14"
            )
            assert code == 0, err
            assert cell(out, "Tickets opened") == "8"
            writer.commit()
        code, out, err = run_cli(
            capsys, "-c", str(hand), "--since", "2026-06-01", "--until", "2026-06-14"
        )
        assert cell(out, "Tickets opened") == "9"
    finally:
        engine.dispose()


def test_default_period_is_the_last_30_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    now = datetime.now(UTC)
    rows = Rows()
    rows.ticket(MAIL, now - timedelta(hours=1))
    rows.ticket(MAIL, now - timedelta(days=10))
    rows.ticket(BOT, now - timedelta(days=40))
    rows.write(load_config(config).database_url_resolved)
    code, out, _ = run_cli(capsys, "-c", str(config))
    assert code == 0
    today = now.astimezone(JAKARTA).date()
    assert f"{today - timedelta(days=29)} – {today} (Asia/Jakarta)" in out
    assert cell(out, "Tickets opened") == "2"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "2026-13-01"], "--since: expected a date like 2026-05-01, got '2026-13-01'"),
        (["--until", "yesterday"], "--until: expected a date like 2026-05-01, got 'yesterday'"),
        (["--since", "2026-06-10", "--until", "2026-06-01"], "--since 2026-06-10 is after"),
    ],
)
def test_bad_dates_are_usage_errors(
    hand: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, "-c", str(hand), *args)
    assert code == 2
    assert message in err and out == ""


def test_an_empty_period_shows_dashes(hand: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "-c", str(hand), "--since", "2025-01-01", "--until", "2025-01-31"
    )
    assert code == 0, err
    assert cell(out, "Tickets opened") == "0"
    for label in (
        "First response, median",
        "Resolution, p90",
        "CSAT",
        "NPS",
        "First-contact resolution",
        "Average rating",
    ):
        assert cell(out, label) == "–", label
    assert cell(out, "First response", 4) == "–"
    html = hand.parent / "empty.html"
    code, out, _ = run_cli(
        capsys,
        "-c",
        str(hand),
        "--since",
        "2025-01-01",
        "--until",
        "2025-01-31",
        "--html",
        str(html),
    )
    assert code == 0 and out.rstrip().endswith(f"HTML report written to {html}")
    assert "No survey answers in this period" in html.read_text()


@pytest.mark.sqlite_only("a missing file; PostgreSQL's missing database: test_postgres.py")
def test_a_missing_database_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    code, _, err = run_cli(capsys, "-c", str(config))
    assert code == 1
    assert "no database at" in err and "responder.db" in err
    assert not db_path(config).exists()  # and none was created


@pytest.mark.parametrize("version, words", [(LATEST + 1, "newer"), (MIGRATIONS[-2][0], "older")])
def test_another_schema_version_is_refused(
    hand: Path, capsys: pytest.CaptureFixture[str], version: int, words: str
) -> None:
    engine = create_engine(testdb.sync_url(db_path(hand)))
    try:
        with engine.begin() as db:
            db.execute(text("DELETE FROM schema_version WHERE version > :v"), {"v": version})
            if version > LATEST:
                db.execute(
                    text("INSERT INTO schema_version VALUES (:v, '2026-06-01 00:00:00')"),
                    {"v": version},
                )
        code, out, err = run_cli(capsys, "-c", str(hand))
        assert code == 1 and out == ""
        assert f"schema version {version}, {words} than this responder ({LATEST})" in err
        with engine.connect() as db:  # not migrated behind the admin's back
            found = db.execute(text("SELECT max(version) FROM schema_version")).scalar()
        assert found == version
    finally:
        engine.dispose()


# -- a few hundred random tickets, checked against figures computed here independently ------
RANDOM_SINCE, RANDOM_UNTIL = date(2026, 9, 1), date(2026, 10, 31)
CANNED = ("payment", "shipping")
COMMENTS = ("Slow <again>", "Fast & friendly", "<script>alert(1)</script>", "ok", "Terima kasih")


def step(rng: random.Random, later: list[datetime], mean: float) -> datetime:
    """The next moment of a ticket's life, mean minutes after the last (at most six days)."""
    later.append(later[-1] + timedelta(minutes=min(int(rng.expovariate(1 / mean)), 8640)))
    return later[-1]


def random_rows(seed: int = 6) -> Rows:
    rng = random.Random(seed)
    rows = Rows()
    first = datetime(2026, 8, 25, tzinfo=JAKARTA)
    for _ in range(320):
        created = first + timedelta(minutes=rng.randrange(70 * 24 * 60))
        while rng.random() < 0.7 and business_minutes(created, created + timedelta(minutes=1)) == 0:
            created = first + timedelta(minutes=rng.randrange(70 * 24 * 60))  # mostly open hours
        channel = rng.choice((MAIL, MAIL, BOT))
        policy = "vip" if rng.random() < 0.25 else None
        later = [created]
        responded = rng.random() < 0.85
        closed = rng.random() < (0.75 if responded else 0.1)
        pending = []
        if responded:
            kind = "staff_reply" if rng.random() < 0.8 else "answered"
            when = step(rng, later, 240)
            pending.append((kind, when, "Sorted." if kind == "staff_reply" else None))
            if kind == "staff_reply" and rng.random() < 0.2:
                pending.append(("answered", when, None))  # the mail client's flag, same reply
            if rng.random() < 0.3:
                pending.append(("staff_reply", step(rng, later, 300), "One more thing."))
        resolved = step(rng, later, 900) if closed else None
        tid = rows.ticket(channel, created, resolved=resolved, policy=policy)
        for kind, when, detail in pending:
            rows.event(tid, kind, when, detail)
        if resolved is not None:
            rows.event(tid, rng.choice(("closed", "done")), resolved)
        for clock in ("first_response", "resolution"):
            if rng.random() < 0.15:
                rows.event(tid, "sla_breach", created + timedelta(hours=3), f"{clock} breach")
        if rng.random() < 0.2:
            rows.event(tid, "sla_reminder", created + timedelta(hours=1), "resolution remind-80%")
        rows.reply(tid, "acknowledgement", created)
        for kind, p in ((rng.choice(CANNED), 0.25), ("out_of_hours", 0.1), ("sla_alert", 0.1)):
            if rng.random() < p:
                rows.reply(tid, kind, created)
        for _ in range(rng.choice((0, 0, 1, 2))):
            rows.message(channel, created + timedelta(hours=rng.randrange(1, 72)), tid)
        if resolved is not None and rng.random() < 0.8:
            if rng.random() < 0.1:
                rows.survey(tid, "skipped", None, reason="once per 30 days")
                continue
            sent = resolved + timedelta(hours=1)
            if rng.random() < 0.5:
                rows.survey(tid, "sent", sent)
                continue
            comment = rng.choice(COMMENTS) + f" #{tid}" if rng.random() < 0.5 else None
            rows.survey(
                tid,
                "answered",
                sent,
                rating=rng.randint(1, 5),
                nps=rng.randint(0, 10) if rng.random() < 0.7 else None,
                comment=comment,
                answered_at=sent + timedelta(minutes=rng.randrange(1, 5000)),
                answered_via=rng.choice(("email", "telegram", "link")),
            )
    for _ in range(45):
        rows.suppressed(rng.choice((MAIL, BOT)), first + timedelta(minutes=rng.randrange(100_800)))
    return rows


def business_minutes(start: datetime, end: datetime) -> float:
    """Open minutes of Mon-Fri 08:00-17:00 Jakarta in [start, end), day by day."""
    a, b = start.astimezone(JAKARTA), end.astimezone(JAKARTA)
    total, day = 0.0, a.date()
    while day <= b.date():
        if day.weekday() < 5:
            opens = datetime(day.year, day.month, day.day, 8, tzinfo=JAKARTA)
            lo, hi = max(a, opens), min(b, opens + timedelta(hours=9))
            total += max(0.0, (hi - lo).total_seconds() / 60)
        day += timedelta(days=1)
    return total


def nearest_rank(values: list[float], q: float) -> float | None:
    return sorted(values)[math.ceil(q * len(values)) - 1] if values else None


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def hm(minutes: float | None) -> str:
    if minutes is None:
        return "–"
    h, m = divmod(int(minutes + 0.5), 60)
    return f"{h}h {m:02d}m" if h else f"{m}m"


def expected_figures(rows: Rows, now: datetime) -> dict[str, str]:
    """The key figures as the report should print them, computed from the raw rows."""

    def local_day(t: datetime) -> date:
        return t.astimezone(JAKARTA).date()

    def inside(t: datetime) -> bool:
        return RANDOM_SINCE <= local_day(t) <= RANDOM_UNTIL

    tickets = [t for t in rows.tickets if inside(t["created_at"])]
    ids = {t["id"] for t in tickets}
    events: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for e in sorted(rows.events, key=lambda e: e["created_at"]):
        if e["ticket_id"] in ids:
            events[e["ticket_id"]].append(e)
    waits, resolutions, met, breached, notices = [], [], Counter(), Counter(), Counter()
    fcr = rules = 0
    for t in tickets:
        evs = events[t["id"]]
        replies = [e["created_at"] for e in evs if e["kind"] in ("staff_reply", "answered")]
        closes = [e["created_at"] for e in evs if e["kind"] in ("closed", "done")]
        if replies:
            waits.append(business_minutes(t["created_at"], replies[0]))
        if t["resolved_at"]:
            resolutions.append(business_minutes(t["created_at"], t["resolved_at"]))
            staff = sum(e["kind"] == "staff_reply" for e in evs)
            fcr += (staff or sum(e["kind"] == "answered" for e in evs)) == 1
        targets = TARGETS[t["sla_policy"] or "standard"]
        for clock, stops, target in (
            ("first_response", replies + closes, targets[0]),
            ("resolution", closes, targets[1]),
        ):
            stop = min(stops, default=None)
            elapsed = business_minutes(t["created_at"], stop or now)
            if elapsed > target:
                breached[clock] += 1
            elif stop is not None:
                met[clock] += 1
        for e in evs:
            if e["kind"] == "sla_breach":
                notices[e["detail"].split()[0]] += 1
        kinds = {r["kind"] for r in rows.replies if r["ticket_id"] == t["id"]}
        rules += bool(kinds & set(CANNED)) and not replies
    surveys = [s for s in rows.surveys if s["ticket_id"] in ids]
    answered = [s for s in surveys if s["state"] == "answered"]
    ratings = [s["rating"] for s in answered]
    scores = [s["nps"] for s in answered if s["nps"] is not None]
    nps = 100 * (sum(n >= 9 for n in scores) - sum(n <= 6 for n in scores)) / len(scores)
    sent = sum(s["sent_at"] is not None for s in surveys)
    resolved = sum(t["resolved_at"] is not None for t in tickets)
    refs = {t["id"]: t["ref"] for t in tickets}
    commented = sorted(
        (s for s in answered if s["comment"]), key=lambda s: (s["rating"], s["answered_at"])
    )
    return {
        "tickets": str(len(tickets)),
        "messages_in": str(sum(inside(m["received_at"]) for m in rows.inbound)),
        "suppressed": str(sum(inside(s["created_at"]) for s in rows.suppressions)),
        "fr_median": hm(nearest_rank(waits, 0.5)),
        "fr_p90": hm(nearest_rank(waits, 0.9)),
        "fr_pending": str(len(tickets) - len(waits)),
        "res_median": hm(nearest_rank(resolutions, 0.5)),
        "res_p90": hm(nearest_rank(resolutions, 0.9)),
        "open": str(len(tickets) - len(resolutions)),
        "sla_first_response": pct(
            met["first_response"], met["first_response"] + breached["first_response"]
        ),
        "sla_resolution": pct(met["resolution"], met["resolution"] + breached["resolution"]),
        "fcr": pct(fcr, resolved),
        "rules_alone": str(rules),
        "surveys_sent": str(sent),
        "surveys_answered": str(len(answered)),
        "response_rate": pct(len(answered), sent),
        "csat": pct(sum(r >= 4 for r in ratings), len(ratings)),
        "rating": f"{sum(ratings) / len(ratings):.2f}",
        "nps": f"{int(math.copysign(math.floor(abs(nps) + 0.5), nps)):+d}",
        "notices_first_response": str(notices["first_response"]),
        "notices_resolution": str(notices["resolution"]),
        "lowest": " | ".join(f"{refs[s['ticket_id']]} {s['rating']}" for s in commented[:5]),
        "lowest_comment": commented[0]["comment"],
        "by_channel": " ".join(
            f"{ch}={sum(t['channel'] == ch for t in tickets)}" for ch in (BOT, MAIL)
        ),
    }


LABELS = {
    "tickets": "Tickets opened",
    "messages_in": "Messages in",
    "suppressed": "Machine mail suppressed",
    "fr_median": "First response, median",
    "fr_p90": "First response, p90",
    "fr_pending": "No response yet",
    "res_median": "Resolution, median",
    "res_p90": "Resolution, p90",
    "open": "Still open",
    "sla_first_response": "SLA first response",
    "sla_resolution": "SLA resolution",
    "fcr": "First-contact resolution",
    "rules_alone": "Answered by rules alone",
    "surveys_sent": "Surveys sent",
    "surveys_answered": "Surveys answered",
    "csat": "CSAT",
    "rating": "Average rating",
    "nps": "NPS",
}


@pytest.fixture(scope="module")
def random_config(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Rows]:
    config = write_config(tmp_path_factory.mktemp("random"))
    rows = random_rows()
    rows.write(load_config(config).database_url_resolved)
    return config, rows


def test_random_database_matches_independent_figures(
    random_config: tuple[Path, Rows], capsys: pytest.CaptureFixture[str]
) -> None:
    config, rows = random_config
    code, out, err = run_cli(
        capsys, "-c", str(config), "--since", str(RANDOM_SINCE), "--until", str(RANDOM_UNTIL)
    )
    expected = expected_figures(rows, datetime.now(UTC))
    assert code == 0, err
    assert 200 <= int(expected["tickets"]) <= 320  # the generator spills outside the period
    assert expected["fr_median"] != expected["fr_p90"]
    for key, label in LABELS.items():
        assert cell(out, label) == expected[key], label
    assert cell(out, "Surveys answered", 2) == f"{expected['response_rate']} response rate"
    assert cell(out, "First response", 5) == expected["notices_first_response"]
    assert cell(out, "Resolution", 5) == expected["notices_resolution"]
    lowest = [
        " ".join(c.strip() for c in line.split("│")[1:3])
        for line in out.splitlines()
        if line.startswith("│ TKT-")
    ]
    assert lowest == expected["lowest"].split(" | ")
    assert f"{BOT}={cell(out, BOT)} {MAIL}={cell(out, MAIL)}" == expected["by_channel"]


def test_skipped_surveys_are_counted_by_reason_without_their_particulars() -> None:
    window = "the 24-hour reply window had closed and no template is set for csat_survey"

    def skipped(reason: str | None, state: str = "skipped") -> SurveyRow:
        return SurveyRow(1, state, None, None, None, None, None, reason)

    surveys = (
        skipped(f"{window} (the customer last wrote 25 hours ago)"),
        skipped(f"{window} (the customer last wrote 3 days ago)"),
        skipped("surveyed within once_per (on 2030-01-05)"),
        skipped("the customer blocked the bot"),
        skipped(None),
        skipped("no longer due: reopened", state="cancelled"),  # not a skip
    )
    assert skip_reasons(surveys) == (
        (window, 2),
        ("surveyed within once_per", 1),
        ("the customer blocked the bot", 1),
        ("unknown", 1),
    )
