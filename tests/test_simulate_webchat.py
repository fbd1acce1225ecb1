"""`responder simulate` on a website chat message: {"visitor": ..., "text": ...} as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from responder.cli import EX_OK, EX_USAGE
from tests.harness import simulated, simulated_json

CONFIG = """\
timezone: Asia/Jakarta
state_dir: {state}
http: {{host: 127.0.0.1, port: 8080, public_url: https://bantuan.toko-contoh.id}}
business_hours:
  weekly:
    mon: ["08:00-17:00"]
    wed: ["08:00-17:00"]
channels:
  - name: support-mail
    type: email
    address: support@toko-contoh.id
    display_name: Toko Contoh
    language: id
    imap: {{host: 127.0.0.1, port: 1143, security: none, username: support@toko-contoh.id,
           password_file: /nonexistent/imap}}
    smtp: {{host: 127.0.0.1, port: 1025, security: none}}
  - name: web
    type: webchat
    allowed_origins: ["https://toko-contoh.id"]
    title: Toko Contoh
    language: id
"""
WEDNESDAY_MORNING = "2026-11-25T10:00"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(state=tmp_path / "state"))
    return path


def _raw(body: object) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def run(
    config: Path, capsys: pytest.CaptureFixture[str], body: object, *args: str
) -> tuple[int, str, str]:
    return simulated(config, capsys, "chat.json", _raw(body), *args)


def decided(config: Path, capsys: pytest.CaptureFixture[str], body: object, *args: str) -> Any:
    return simulated_json(config, capsys, "chat.json", _raw(body), *args)


def test_a_visitors_message_is_acknowledged_in_plain_chat_wording(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"visitor": "budi", "text": "Halo kak, pesanan saya belum sampai"}
    result = decided(config, capsys, body, "--at", WEDNESDAY_MORNING)
    assert (result["action"], result["channel"], result["channel_type"]) == (
        "acknowledge",
        "web",
        "webchat",
    )
    text = result["text"]
    assert text.startswith("Halo, terima kasih telah menghubungi Toko Contoh")
    assert "Nomor tiket Anda: #" in text and "<b>" not in text and "email" not in text
    code, out, _ = run(config, capsys, body, "--at", WEDNESDAY_MORNING)
    assert code == EX_OK and "channel:           web" in out


def test_out_of_hours_at_the_time_the_message_says_in_the_browsers_language(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {
        "visitor": "sarah",
        "text": "Hi, is the shop open tomorrow?",
        "language": "en",
        "at": "2026-11-28T21:00:00+07:00",
    }
    result = decided(config, capsys, body)
    assert result["action"] == "out_of_hours" and result["language"] == "en"
    assert result["assumed_from"] == "stated"
    assert "Monday 30 November at 08:00 WIB" in result["text"]
    _, out, _ = run(config, capsys, body)
    assert out.startswith(
        "Assumed time: Saturday 28 November 2026 21:00 WIB (Asia/Jakarta), "
        'from the message\'s "at"\n'
    )
    _, out, _ = run(config, capsys, {"visitor": "x", "text": "Halo"})
    assert 'the message has no "at"' in out


def test_a_file_that_is_no_chat_message_is_a_usage_error(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(config, capsys, {"visitor": "budi"}, "--channel", "web")
    assert code == EX_USAGE
    assert 'a web chat message is a JSON object such as {"visitor": "budi"' in err
