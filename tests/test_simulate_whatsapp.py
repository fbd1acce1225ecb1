"""`responder simulate` on the JSON body Meta posts to a WhatsApp webhook (issue 16)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from mailfactory import make_mail

from responder.cli import EX_OK, EX_USAGE
from responder.testing.whatsapp_webhooks import Webhooks, encode
from tests.harness import simulated, simulated_json

NUMBER = "106540352242922"
OTHER_NUMBER = "109876543210123"
CUSTOMER = "6281234567890"
hooks = Webhooks(phone_number_id=NUMBER)
JAKARTA = ZoneInfo("Asia/Jakarta")
WEDNESDAY_MORNING = "2026-11-25T10:00"

CONFIG = """\
timezone: Asia/Jakarta
state_dir: {state}
http: {{host: 127.0.0.1, port: 8080, public_url: https://bantuan.toko-contoh.id}}
business_hours:
  weekly:
    mon: ["08:00-17:00"]
    tue: ["08:00-17:00"]
    wed: ["08:00-17:00"]
    thu: ["08:00-17:00"]
    fri: ["08:00-17:00"]
channels:
  - name: support-mail
    type: email
    address: support@toko-contoh.id
    display_name: Toko Contoh
    language: id
    imap: {{host: 127.0.0.1, port: 1143, security: none, username: support@toko-contoh.id,
           password_file: /nonexistent/imap}}
    smtp: {{host: 127.0.0.1, port: 1025, security: none}}
{whatsapp}"""

WHATSAPP = """\
  - name: {name}
    type: whatsapp
    phone_number_id: "{number}"
    access_token_file: /nonexistent/token
    app_secret_file: /nonexistent/secret
    verify_token_file: /nonexistent/verify
    display_name: Toko Contoh
    language: id
"""


def write_config(tmp_path: Path, *numbers: tuple[str, str]) -> Path:
    """The shop's mailbox and a WhatsApp channel for each (name, phone_number_id)."""
    channels = "".join(WHATSAPP.format(name=name, number=number) for name, number in numbers)
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(state=tmp_path / "state", whatsapp=channels))
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, ("shop-wa", NUMBER))


def _raw(body: object) -> bytes:
    return body if isinstance(body, bytes) else encode(body)  # type: ignore[arg-type]


def run(
    config: Path, capsys: pytest.CaptureFixture[str], body: object, *args: str
) -> tuple[int, str, str]:
    return simulated(config, capsys, "webhook.json", _raw(body), *args)


def decided(config: Path, capsys: pytest.CaptureFixture[str], body: object, *args: str) -> Any:
    return simulated_json(config, capsys, "webhook.json", _raw(body), *args)


def test_a_text_in_business_hours_is_acknowledged_in_indonesian_with_the_chat_wording(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = hooks.text(CUSTOMER, "Halo kak, pesanan saya belum sampai, mohon dicek", name="Budi")
    result = decided(config, capsys, body, "--at", WEDNESDAY_MORNING)
    assert (result["action"], result["channel"], result["language"]) == (
        "acknowledge",
        "shop-wa",
        "id",
    )
    text = result["text"]
    assert text.startswith("Halo Budi, terima kasih telah menghubungi Toko Contoh")
    # The chat part in WhatsApp's markup, not the email's "reply to this email".
    assert "Pesan berikutnya di chat ini masuk ke tiket yang sama" in text
    assert "Nomor tiket Anda: *#" in text and "email" not in text and "<b>" not in text
    assert result["message_id"] == body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    # Without --json: the same description as for an email.
    code, out, _ = run(config, capsys, body, "--at", WEDNESDAY_MORNING)
    assert code == EX_OK and "action:            acknowledge" in out
    assert "channel:           shop-wa" in out and "di chat ini" in out
    assert "subject:" not in out  # a chat has none


def test_out_of_hours_at_the_time_the_message_was_written(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saturday_night = datetime(2026, 11, 28, 21, 0, tzinfo=JAKARTA).timestamp()
    body = hooks.text(CUSTOMER, "Halo, toko buka besok?", name="Sari", at=saturday_night)
    result = decided(config, capsys, body)
    assert result["action"] == "out_of_hours"
    assert result["next_open"] == "2026-11-30T08:00:00+07:00"
    assert (result["assumed_time"], result["assumed_from"]) == (
        "2026-11-28T21:00:00+07:00",
        "timestamp",
    )
    assert "saat ini kami sedang tutup" in result["text"] and "Senin" in result["text"]
    _, out, _ = run(config, capsys, body)
    assert out.startswith(
        "Assumed time: Saturday 28 November 2026 21:00 WIB (Asia/Jakarta), "
        "from the message's WhatsApp timestamp\n"
    )


def test_a_reaction_is_not_answered_and_says_why(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = hooks.reaction(CUSTOMER, "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ=", "\U0001f44d")
    result = decided(config, capsys, body, "--at", WEDNESDAY_MORNING)
    assert (result["action"], result["guard"], result["text"]) == ("suppress", "reaction", None)
    assert result["reason"] == "a reaction to a message"


def test_each_customer_message_of_a_webhook_is_decided(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = hooks.text(CUSTOMER, "Halo kak", name="Budi")
    second = hooks.reaction(CUSTOMER, "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ=", "\U0001f44d")
    value = first["entry"][0]["changes"][0]["value"]
    value["messages"] += second["entry"][0]["changes"][0]["value"]["messages"]
    results = decided(config, capsys, first, "--at", WEDNESDAY_MORNING)
    assert [r["action"] for r in results] == ["acknowledge", "suppress"]
    code, out, _ = run(config, capsys, first, "--at", WEDNESDAY_MORNING)
    assert code == EX_OK
    assert out.startswith("Message 1 of 2: wamid.") and "\n\nMessage 2 of 2: wamid." in out


def test_the_channel_is_the_one_of_the_webhooks_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, ("shop-wa", NUMBER), ("wholesale-wa", OTHER_NUMBER))
    body = Webhooks(phone_number_id=OTHER_NUMBER).text(CUSTOMER, "Halo kak", name="Budi")
    result = decided(config, capsys, body, "--at", WEDNESDAY_MORNING)
    assert (result["action"], result["channel"]) == ("acknowledge", "wholesale-wa")
    unknown = Webhooks(phone_number_id="100000000000001").text(CUSTOMER, "Halo", name="Budi")
    code, out, err = run(config, capsys, unknown)
    assert (code, out) == (EX_USAGE, "")
    assert "phone_number_id 100000000000001" in err and "--channel" in err
    assert f"shop-wa (phone_number_id {NUMBER})" in err
    assert f"wholesale-wa (phone_number_id {OTHER_NUMBER})" in err
    # --channel settles it.
    result = decided(config, capsys, unknown, "--channel", "shop-wa", "--at", WEDNESDAY_MORNING)
    assert result["channel"] == "shop-wa"


def test_a_body_that_is_not_a_whatsapp_notification_is_refused_clearly(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messenger = {"object": "page", "entry": [{"id": "1", "messaging": []}]}
    code, out, err = run(config, capsys, messenger)
    assert (code, out) == (EX_USAGE, "")
    assert "not a WhatsApp webhook body: not a WhatsApp notification (object 'page')" in err
    assert "an email (.eml), the JSON body Meta posts to a WhatsApp webhook, or a web chat" in err
    mail = make_mail(sender="Budi <budi@example.com>", body="Halo")
    code, out, err = run(config, capsys, mail, "--channel", "shop-wa")
    assert (code, out) == (EX_USAGE, "") and "not JSON" in err
    statuses = hooks.status("wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ=", "read", CUSTOMER)
    code, out, err = run(config, capsys, statuses)
    assert (code, out) == (EX_USAGE, "")
    assert "no customer message to decide, 1 delivery status(es)" in err


def test_an_email_still_goes_to_the_mailbox(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mail = make_mail(sender="Budi <budi@example.com>", body="Halo kak, pesanan saya belum sampai")
    result = decided(config, capsys, mail, "--at", WEDNESDAY_MORNING)
    assert (result["action"], result["channel"]) == ("acknowledge", "support-mail")
    assert "balas email ini" in result["text"]
