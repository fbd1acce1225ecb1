"""`responder simulate --json` on what a shop owner would try: hours, breaks, holidays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from mailfactory import make_mail

from responder.cli import main
from responder.ops.simulate_time import parse_at

JAKARTA = ZoneInfo("Asia/Jakarta")

CONFIG = """\
timezone: Asia/Jakarta
state_dir: {state}
business_hours:
  weekly:
    mon: ["08:00-12:00", "13:00-17:00"]
    tue: ["08:00-12:00", "13:00-17:00"]
    wed: ["08:00-12:00", "13:00-17:00"]
    thu: ["08:00-12:00", "13:00-17:00"]
    fri: ["08:00-11:30", "13:30-17:00"]
    sat: ["09:00-14:00"]
  holidays: {{country: ID, cuti_bersama: true}}
rules:
  - name: prices
    when: {{subject_contains: [harga, price]}}
    then: {{template: hours}}
  - name: default
channels:
  - name: support-mail
    type: email
    address: support@toko-contoh.id
    display_name: Toko Contoh
    language: id
    imap: {{host: 127.0.0.1, port: 1143, security: none, username: support@toko-contoh.id,
           password_env: RESPONDER_TEST_IMAP}}
    smtp: {{host: 127.0.0.1, port: 1025, security: none}}
"""
ID_TEXT = "Halo kak, pesanan saya belum sampai, mohon dicek ya. Terima kasih."
EN_TEXT = "Hi, my order has not arrived yet, could you please check it? Thanks."


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RESPONDER_TEST_IMAP", "x")
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(state=tmp_path / "state"))
    return path


def simulate(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    at: str,
    body: str = ID_TEXT,
    subject: str = "Pesanan saya",
    **headers: str,
) -> dict[str, object]:
    message = tmp_path / "message.eml"
    message.write_bytes(
        make_mail(
            sender="Budi <budi@example.com>", subject=subject, body=body, headers=headers or None
        )
    )
    assert main(["simulate", "-c", str(config), str(message), "--at", at, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(
    "at, action, next_open, holiday",
    [
        ("2026-11-25T10:00", "acknowledge", None, None),  # Wednesday morning
        ("2026-11-25T12:00", "out_of_hours", "2026-11-25T13:00:00+07:00", None),  # lunch
        ("2026-11-27T12:15", "out_of_hours", "2026-11-27T13:30:00+07:00", None),  # Friday prayer
        ("2026-11-28T21:00", "out_of_hours", "2026-11-30T08:00:00+07:00", None),  # Saturday night
        ("2027-03-10T10:00", "out_of_hours", "2027-03-13T09:00:00+07:00", "Hari Raya Idul Fitri"),
        ("2026-12-24T10:00", "out_of_hours", "2026-12-26T09:00:00+07:00", "Cuti Bersama"),
        ("2026-12-31T23:59", "out_of_hours", "2027-01-02T09:00:00+07:00", None),
    ],
)
def test_the_hours_a_shop_owner_would_try(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    at: str,
    action: str,
    next_open: str | None,
    holiday: str | None,
) -> None:
    result = simulate(config, tmp_path, capsys, at)
    assert result["action"] == action
    assert result["next_open"] == next_open
    assert result["language"] == "id"
    if holiday is None:
        assert result["holiday"] is None
    else:
        assert holiday in str(result["holiday"]) and holiday in str(result["text"])
    if action == "out_of_hours":
        assert "pukul" in str(result["text"])  # "Senin, 30 November pukul 08.00 WIB"


def test_the_customers_language_is_detected(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = simulate(
        config, tmp_path, capsys, "2026-11-28T21:00", body=EN_TEXT, subject="My order"
    )
    assert (result["action"], result["language"]) == ("out_of_hours", "en")
    assert "Monday 30 November at 08:00 WIB" in str(result["text"])


def test_a_rule_answers_with_a_canned_template_at_any_hour(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = simulate(config, tmp_path, capsys, "2026-11-28T21:00", subject="Harga grosir?")
    assert (result["action"], result["rule"], result["template"]) == ("answer", "prices", "hours")
    assert "08.00-12.00, 13.00-17.00" in str(result["text"])


def test_machine_mail_is_shown_as_suppressed_with_the_guard(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = simulate(
        config, tmp_path, capsys, "2026-11-25T10:00", **{"Auto-Submitted": "auto-replied"}
    )
    assert (result["action"], result["guard"], result["text"]) == (
        "suppress",
        "auto-submitted",
        None,
    )


SUNDAY_MAIL = {"Date": "Sun, 06 Dec 2026 10:00:00 +0700"}


def run_simulate(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str, **headers: str
) -> tuple[int, str, str]:
    message = tmp_path / "message.eml"
    message.write_bytes(
        make_mail(sender="Budi <budi@example.com>", body=ID_TEXT, headers=headers or None)
    )
    code = main(["simulate", "-c", str(config), str(message), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_without_at_the_messages_date_is_the_time_and_is_said(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_simulate(config, tmp_path, capsys, **SUNDAY_MAIL)
    assert code == 0
    assert out.startswith(
        "Assumed time: Sunday 6 December 2026 10:00 WIB (Asia/Jakarta), "
        "from the message's Date header\n"
    )
    assert "out_of_hours" in out and "Senin, 7 Desember pukul 08.00 WIB" in out
    code, out, _ = run_simulate(config, tmp_path, capsys, "--json", **SUNDAY_MAIL)
    result = json.loads(out)
    assert (result["action"], result["next_open"]) == ("out_of_hours", "2026-12-07T08:00:00+07:00")
    assert (result["assumed_time"], result["assumed_from"], result["timezone"]) == (
        "2026-12-06T10:00:00+07:00",
        "date_header",
        "Asia/Jakarta",
    )


def test_a_message_without_a_date_is_taken_as_now_and_says_so(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = datetime.now(UTC)
    code, out, _ = run_simulate(config, tmp_path, capsys, "--json", Date="someday soon")
    result = json.loads(out)
    assert code == 0 and result["assumed_from"] == "now"
    assert before <= datetime.fromisoformat(result["assumed_time"]) <= datetime.now(UTC)
    _, out, _ = run_simulate(config, tmp_path, capsys, Date="someday soon")
    assert "the time now: the message has no valid Date header" in out.splitlines()[0]


@pytest.mark.parametrize("at", ["sun 10:00", "Sunday 10:00", "minggu 10.00"])
def test_at_a_weekday_is_its_coming_occurrence(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str
) -> None:
    today = datetime.now(JAKARTA).date()
    code, out, _ = run_simulate(config, tmp_path, capsys, "--at", at, "--json", **SUNDAY_MAIL)
    result = json.loads(out)
    assert code == 0 and result["assumed_from"] == "at"
    moment = datetime.fromisoformat(result["assumed_time"])
    assert (moment.weekday(), moment.hour, moment.minute, moment.utcoffset()) == (
        6,
        10,
        0,
        timedelta(hours=7),
    )
    assert timedelta(0) <= moment.date() - today < timedelta(days=7)
    assert result["action"] == "out_of_hours"  # the shop is closed on Sundays
    _, out, _ = run_simulate(config, tmp_path, capsys, "--at", at)
    assert out.startswith("Assumed time: Sunday ") and ", from --at\n" in out


def test_simulate_needs_no_secrets(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RESPONDER_TEST_IMAP")
    text = config.read_text().replace("password_env: RESPONDER_TEST_IMAP", "password_file: no.pw")
    config.write_text(
        text + "  - {name: shop-bot, type: telegram, token_file: /nonexistent/telegram}\n"
    )
    code, out, err = run_simulate(config, tmp_path, capsys, "--at", "2026-11-25T10:00")
    assert (code, err) == (0, "")
    assert "acknowledge" in out
    assert main(["check", "-c", str(config)]) == 0  # there the missing ones are warnings
    assert "no.pw" in capsys.readouterr().err


def test_a_bad_at_is_a_usage_error_listing_the_accepted_forms(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for at in ("next week", "sun 25:00", "someday 10:00"):
        code, out, err = run_simulate(config, tmp_path, capsys, "--at", at)
        assert (code, out) == (2, "")
        assert f"--at: cannot read {at!r} as a time" in err
        for form in ('"sun 10:00"', '"10:00" (today)', '"tomorrow 9:00"', "ISO 8601"):
            assert form in err


NOW = datetime(2026, 12, 2, 18, 4, tzinfo=UTC)  # Thursday 3 December 01:04 in Jakarta


@pytest.mark.parametrize(
    "at, expected",
    [
        ("thu 10:00", "2026-12-03T10:00:00+07:00"),  # today is Thursday there
        ("wed 10:00", "2026-12-09T10:00:00+07:00"),
        ("Sunday, 9:30", "2026-12-06T09:30:00+07:00"),
        ("10:00", "2026-12-03T10:00:00+07:00"),
        ("tomorrow 9:00", "2026-12-04T09:00:00+07:00"),
        ("besok 9.00", "2026-12-04T09:00:00+07:00"),
        ("2026-12-06T10:00", "2026-12-06T10:00:00+07:00"),
        ("2026-12-06 10:00+01:00", "2026-12-06T10:00:00+01:00"),
    ],
)
def test_the_at_forms(at: str, expected: str) -> None:
    assert parse_at(at, JAKARTA, NOW).isoformat() == expected
