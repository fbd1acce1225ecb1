"""`responder simulate --json` on what a shop owner would try: hours, breaks, holidays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mailfactory import make_mail

from responder.cli import main

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
